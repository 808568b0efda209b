package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/embedtune/embedtune/internal/testutil"
)

// startServe runs `embedtune serve args...` in-process and returns its URL, a channel with its exit
// status and its stderr so far (read after the exit).
func startServe(t *testing.T, args ...string) (string, chan int, *bytes.Buffer) {
	t.Helper()
	pr, pw := io.Pipe()
	var logs bytes.Buffer
	done := make(chan int, 1)
	go func() {
		code := run(append([]string{"serve"}, args...), io.Discard, pw)
		pw.Close()
		done <- code
	}()
	urls := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`msg=listening url=(http://\S+)`)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			logs.WriteString(sc.Text() + "\n")
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
			}
		}
		close(urls)
	}()
	select {
	case u, ok := <-urls:
		if !ok {
			t.Fatalf("embedtune serve exited: %s", logs.String())
		}
		return u, done, &logs
	case <-time.After(6 * time.Minute):
		// --warmup compiles every batch shape of every model first: minutes on a loaded 2-core machine.
		t.Fatal("embedtune serve did not start in 6 minutes")
	}
	return "", nil, nil
}

// TestServeCommand: the served embeddings equal `embedtune encode --normalize`; serve-bench measures the
// server; SIGTERM drains the request in flight and exits 0.
func TestServeCommand(t *testing.T) {
	m := tinyModelDir(t, "mean")
	dir := t.TempDir()
	texts := []string{"What is the capital of Kalomi?", "Kalomi is a country whose capital is Tensa.", "short"}
	in := filepath.Join(dir, "in.txt")
	os.WriteFile(in, []byte(strings.Join(texts, "\n")+"\n"), 0o644)
	out := filepath.Join(dir, "emb.jsonl")
	if code, _, stderr := cli("encode", "--model", m, "--input", in, "--output", out, "--normalize"); code != 0 {
		t.Fatalf("encode: %s", stderr)
	}
	var offline [][]float32
	data, _ := os.ReadFile(out)
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var rec struct{ Embedding []float32 }
		json.Unmarshal([]byte(line), &rec)
		offline = append(offline, rec.Embedding)
	}

	t.Setenv("EMBEDTUNE_API_KEY", "k-123")
	// --warmup: on XLA (the default engine) each new batch shape compiles first, which would eat serve-bench's
	// one-second window below on a cold compile cache.
	url, done, logs := startServe(t, "--model", "tiny="+m, "--model", m, "--addr", "127.0.0.1:0", "--max-wait", "2",
		"--log-format", "text", "--warmup")
	post := func(path, body string) (int, []byte) {
		req, _ := http.NewRequest("POST", url+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer k-123")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	body, _ := json.Marshal(map[string]any{"input": texts, "model": "tiny", "encoding_format": "float"})
	status, resp := post("/v1/embeddings", string(body))
	if status != 200 {
		t.Fatalf("%d %s", status, resp)
	}
	var r struct {
		Data []struct{ Embedding []float32 }
	}
	json.Unmarshal(resp, &r)
	for i := range texts {
		d := 0.0
		for j := range offline[i] {
			d = math.Max(d, math.Abs(float64(offline[i][j]-r.Data[i].Embedding[j])))
		}
		if len(r.Data[i].Embedding) != len(offline[i]) || d > 1e-6 {
			t.Errorf("text %d: served vs `embedtune encode` max |Δ| %.3g", i, d)
		}
	}
	// The second --model, named after its folder, answers TEI requests.
	if status, resp := post("/embed", `{"inputs": "short", "model": "model"}`); status != 200 {
		t.Errorf("second model: %d %s", status, resp)
	}

	code, stdout, stderr := cli("serve-bench", "--url", url, "--concurrency", "8", "--duration", "1s", "--api", "tei", "--model", "tiny")
	if code != 0 || !strings.Contains(stdout, "throughput") || !strings.Contains(stdout, "errors       none") {
		t.Errorf("serve-bench: %d\n%s%s", code, stdout, stderr)
	}

	// SIGTERM while a large request is in flight: it is answered, then the server exits 0.
	many := make([]string, 1500)
	for i := range many {
		many[i] = fmt.Sprintf("Passage %d about the capital of Kalomi, Tensa, on the river Vor.", i)
	}
	big, _ := json.Marshal(map[string]any{"input": many, "model": "tiny"})
	answered := make(chan int, 1)
	go func() {
		status, _ := post("/v1/embeddings", string(big))
		answered <- status
	}()
	// SIGTERM once the request's texts are queued (seen in /metrics), however fast or loaded the machine.
	queued := regexp.MustCompile(`(?m)^embedtune_queue_depth\{model="tiny"\} ([1-9][0-9]*)$`)
	testutil.WaitFor(t, "the large request in embedtune_queue_depth", time.Minute, func() bool {
		req, _ := http.NewRequest("GET", url+"/metrics", nil)
		req.Header.Set("Authorization", "Bearer k-123")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		m, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return queued.Match(m)
	})
	syscall.Kill(os.Getpid(), syscall.SIGTERM)
	if status := <-answered; status != 200 {
		t.Errorf("request in flight at SIGTERM: %d", status)
	}
	if code := testutil.Recv(t, done, "serve's exit after SIGTERM", time.Minute); code != 0 {
		t.Errorf("serve exited %d after SIGTERM", code)
	}
	for _, want := range []string{"model loaded", "draining", "msg=stopped", "status=200"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
	if d, a := strings.Index(logs.String(), "draining"), strings.Index(logs.String(), "inputs=1500"); d < 0 || a < d {
		t.Errorf("the large request was not in flight when SIGTERM arrived (drain at %d, its answer at %d)", d, a)
	}
	if strings.Contains(logs.String(), "k-123") || strings.Contains(logs.String(), "Kalomi") {
		t.Error("the log holds the API key or request text")
	}
}

func TestServeCommandErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"serve"}, "--model is required"},
		{[]string{"serve", "--model", "/no/such/model"}, "--model /no/such/model"},
		{[]string{"serve", "--model", "x", "--log-format", "xml"}, "--log-format"},
		{[]string{"serve", "--model", "x", "--max-wait", "soon"}, "expected milliseconds"},
		{[]string{"serve-bench", "--url", "http://10.0.0.1:8080"}, "only loopback"},
		{[]string{"serve-bench", "--api", "grpc"}, "expected \"openai\" or \"tei\""},
	} {
		code, _, stderr := cli(tc.args...)
		if code == 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: status %d, stderr %q (want %q)", tc.args, code, stderr, tc.want)
		}
	}
}
