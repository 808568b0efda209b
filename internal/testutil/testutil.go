// Package testutil locates the repository, the shared data folder and the Python reference
// environment for tests.
//
// Tests that need Python call [Python]: it returns $EMBEDTUNE_PYTHON, or the interpreter of the
// cached reference environment created by scripts/pyenv.sh, and otherwise skips the test with a
// message saying how to enable it — unless $EMBEDTUNE_REQUIRE_PYTHON=1 (set by CI), in which case
// a missing interpreter fails the test, so parity checks cannot be skipped silently.
// [SharedData] does the same for ../shared/data with $EMBEDTUNE_REQUIRE_SHARED.
package testutil

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/embedtune/embedtune/trainlib/backend"
	"github.com/gomlx/compute"
)

// RepoRoot returns the folder holding go.mod, walking up from the working directory.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("getwd: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("go.mod not found above the test's folder")
		}
		dir = parent
	}
}

// SharedData returns ../shared/data/<rel> relative to the repository root, skipping the test
// (or failing it when $EMBEDTUNE_REQUIRE_SHARED=1) when it is absent.
func SharedData(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(filepath.Dir(RepoRoot(t)), "shared", "data", rel)
	if _, err := os.Stat(p); err != nil {
		msg := "shared data " + p + " is absent (it lives in ../shared/data next to the repository)"
		if os.Getenv("EMBEDTUNE_REQUIRE_SHARED") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return p
}

// Python returns the reference Python interpreter (see the package documentation).
func Python(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("EMBEDTUNE_PYTHON"); p != "" {
		return p
	}
	home, _ := os.UserHomeDir()
	venv := os.Getenv("EMBEDTUNE_PYENV")
	if venv == "" {
		venv = filepath.Join(home, ".cache", "embedtune", "pyref")
	}
	p := filepath.Join(venv, "bin", "python")
	if _, err := os.Stat(filepath.Join(venv, ".embedtune-requirements.sha256")); err == nil {
		return p
	}
	msg := "Python reference environment not found: run scripts/pyenv.sh or set EMBEDTUNE_PYTHON"
	if os.Getenv("EMBEDTUNE_REQUIRE_PYTHON") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// RunPython runs a Python script of the repository (path relative to the root) with args and
// returns its stdout; the test fails with stderr on a non-zero exit.
func RunPython(t testing.TB, script string, args ...string) []byte {
	t.Helper()
	py := Python(t)
	cmd := exec.Command(py, append([]string{filepath.Join(RepoRoot(t), script)}, args...)...)
	cmd.Env = append(os.Environ(), "HF_HUB_OFFLINE=1", "TRANSFORMERS_OFFLINE=1", "TOKENIZERS_PARALLELISM=false")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", script, strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes()
}

// PythonJSON runs a Python script of the repository with req encoded as JSON on stdin and decodes
// its JSON stdout into resp.
func PythonJSON(t testing.TB, script string, req, resp any) {
	t.Helper()
	py := Python(t)
	in, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, filepath.Join(RepoRoot(t), script))
	cmd.Env = append(os.Environ(), "HF_HUB_OFFLINE=1", "TRANSFORMERS_OFFLINE=1", "TOKENIZERS_PARALLELISM=false")
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s", script, err, stderr.String())
	}
	if err := json.Unmarshal(stdout.Bytes(), resp); err != nil {
		t.Fatalf("%s: decoding output: %v\n%.500s", script, err, stdout.String())
	}
}

// JSONClose reports whether two JSON texts hold the same value with every number within tol of its
// counterpart (strings, booleans and nulls equal, lists and objects element by element).
func JSONClose(a, b []byte, tol float64) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return jsonClose(x, y, tol)
}

func jsonClose(x, y any, tol float64) bool {
	switch xv := x.(type) {
	case float64:
		yv, ok := y.(float64)
		return ok && math.Abs(xv-yv) <= tol
	case []any:
		yv, ok := y.([]any)
		if !ok || len(xv) != len(yv) {
			return false
		}
		for i := range xv {
			if !jsonClose(xv[i], yv[i], tol) {
				return false
			}
		}
		return true
	case map[string]any:
		yv, ok := y.(map[string]any)
		if !ok || len(xv) != len(yv) {
			return false
		}
		for k, v := range xv {
			if !jsonClose(v, yv[k], tol) {
				return false
			}
		}
		return true
	}
	return x == y
}

// CheckTorchGradient compares our float32 gradient of one tensor with PyTorch's float32 (ref32) and
// float64 (ref64) gradients of it, computed by tests/reference/st_grad.py on the same model and
// batch. Float32 gradients of embedding losses carry cancellation error (most on random models,
// whose embeddings are nearly equal), so ours must be as close to float64 as PyTorch float32 is,
// within a factor of 4, or within 1e-5 of the gradient's largest value. It returns nil or an error
// naming the worst value.
func CheckTorchGradient(name string, got []float32, ref32, ref64 []float64) error {
	if len(got) != len(ref64) || len(ref32) != len(ref64) {
		return fmt.Errorf("d loss/d %s: %d values, PyTorch %d (float32) and %d (float64)", name, len(got), len(ref32), len(ref64))
	}
	scale, torchErr, worst, at := 0.0, 0.0, 0.0, 0
	for j := range got {
		scale = math.Max(scale, math.Abs(ref64[j]))
		torchErr = math.Max(torchErr, math.Abs(ref32[j]-ref64[j]))
		if d := math.Abs(float64(got[j]) - ref64[j]); d > worst {
			worst, at = d, j
		}
	}
	if worst > 4*torchErr+1e-5*scale {
		return fmt.Errorf("d loss/d %s[%d] = %.6g, PyTorch float64 %.6g: error %.3g vs PyTorch float32's %.3g (max |grad| %.3g)",
			name, at, got[at], ref64[at], worst, torchErr, scale)
	}
	return nil
}

// SyncBuffer is a bytes.Buffer safe for concurrent writes and reads (a log sink that goroutines write
// while the test reads).
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// HostDevices returns an XLA CPU backend with n host devices (backend.CPUDevicesEnv), for tests of
// the multi-device paths; on the pure-Go engine (one device) it skips the test with the reason. CI
// runs the suite on XLA CPU. The variable is set for the test only.
func HostDevices(t *testing.T, n int) compute.Backend {
	t.Helper()
	XLACPU(t, "needs the XLA CPU engine's host devices")
	// The process-wide backend (backend.Default, what code without a model's backend uses, e.g. the
	// IR evaluator's search) is created first, from the ambient environment: created while the
	// variable below is set, it would keep n devices for every later test of the binary.
	if _, err := backend.Default(); err != nil {
		t.Fatal(err)
	}
	t.Setenv(backend.CPUDevicesEnv, strconv.Itoa(n))
	b, err := backend.New("")
	if err != nil {
		t.Fatal(err)
	}
	if b.NumDevices() != n {
		t.Fatalf("%s=%d gave %s", backend.CPUDevicesEnv, n, backend.Describe(b))
	}
	return b
}

// XLACPU skips the test, saying why, unless the engine chosen here is XLA CPU.
func XLACPU(t *testing.T, why string) {
	t.Helper()
	if c, err := backend.Choose(); err != nil || c.Engine != backend.EngineCPU {
		t.Skipf("%s (engine here: %q, %v); install XLA CPU with scripts/pjrt.sh", why, c.Engine, err)
	}
}

// WriteFiles writes name → content files (names are slash-separated paths, folders made as needed)
// into a new temporary folder and returns its path.
func WriteFiles(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		WriteFile(t, dir, name, content)
	}
	return dir
}

// WriteFile writes content to dir/name (a slash-separated path, folders made as needed) and returns
// the file's path.
func WriteFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// WaitFor polls cond every 10 ms until it holds, failing the test if it does not within timeout.
func WaitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Recv returns the next value of ch, failing the test (instead of hanging it) if none comes within timeout.
func Recv[T any](t testing.TB, ch <-chan T, what string, timeout time.Duration) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(timeout):
		t.Fatalf("%s: nothing within %s", what, timeout)
		panic("unreachable")
	}
}
