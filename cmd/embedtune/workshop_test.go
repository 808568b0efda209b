package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/embedtune/embedtune/trainlib/cache"
)

// TestBundleCommands packs a model and a dataset, installs them into an empty Hugging Face cache and
// loads the dataset by its id with the Hub off.
func TestBundleCommands(t *testing.T) {
	m := tinyModelDir(t, "mean")
	data := pairsFile(t, t.TempDir(), 20)
	out := filepath.Join(t.TempDir(), "w.tar.zst")
	code, stdout, stderr := cli("bundle", "--model", m, "--model-id", "room/tiny", "--dataset", data, "--no-assets", "--out", out)
	if code != 0 || !strings.Contains(stdout, "model   room/tiny") {
		t.Fatalf("bundle: %d %s %s", code, stdout, stderr)
	}
	hf, nb := t.TempDir(), filepath.Join(t.TempDir(), "nb")
	t.Setenv("HF_HOME", hf)
	t.Setenv("HF_HUB_CACHE", "")
	code, stdout, stderr = cli("bundle", "install", out, "--notebooks-dir", nb)
	if code != 0 || !strings.Contains(stdout, "export EMBEDTUNE_MODEL=room/tiny EMBEDTUNE_DATASET=local/pairs HF_HUB_OFFLINE=1") {
		t.Fatalf("bundle install: %d %s %s", code, stdout, stderr)
	}
	t.Setenv("HF_HUB_OFFLINE", "1")
	if code, stdout, stderr := cli("data", "info", "local/pairs"); code != 0 || !strings.Contains(stdout, `"num_rows":40`) {
		t.Errorf("data info of the installed dataset: %d %s %s", code, stdout, stderr)
	}
	for _, bad := range [][]string{{"bundle"}, {"bundle", "install"}, {"bundle", "install", filepath.Join(t.TempDir(), "absent.tar.zst")},
		{"bundle", "--model", m, "--out", out, "extra"}} {
		if code, _, _ := cli(bad...); code == 0 {
			t.Errorf("%v succeeded", bad)
		}
	}
}

func TestCacheCommands(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(cache.DirEnv, dir)
	s, _ := cache.Open(dir, 0)
	s.Put(cache.NewKey("embeddings", []byte("a")), []byte("12345"))
	s.Put(cache.NewKey("eval", []byte("b")), []byte("1"))
	code, stdout, _ := cli("cache", "info")
	var u cache.Usage
	if code != 0 || json.Unmarshal([]byte(stdout), &u) != nil || u.Entries != 2 || u.Dir != dir {
		t.Fatalf("cache info: %d %s", code, stdout)
	}
	if code, stdout, _ := cli("cache", "clear", "eval"); code != 0 || !strings.Contains(stdout, "removed 1 entries") {
		t.Errorf("cache clear eval: %d %s", code, stdout)
	}
	if code, stdout, _ := cli("cache", "clear"); code != 0 || !strings.Contains(stdout, "removed 1 entries") {
		t.Errorf("cache clear: %d %s", code, stdout)
	}
	for _, args := range [][]string{{"cache"}, {"cache", "drop"}, {"cache", "clear", "../x"}, {"cache", "info", "x"}} {
		if code, _, stderr := cli(args...); code == 0 || stderr == "" {
			t.Errorf("%v: %d %q", args, code, stderr)
		}
	}
}

func TestAssetsCommandErrors(t *testing.T) {
	t.Setenv("EMBEDTUNE_NPM_REGISTRY", "http://127.0.0.1:1")
	code, _, stderr := cli("assets", "install", "--dir", t.TempDir())
	if code == 0 || !strings.Contains(stderr, "EMBEDTUNE_NPM_REGISTRY") {
		t.Errorf("assets install without a registry: %d %q", code, stderr)
	}
	if code, _, stderr := cli("assets", "fetch"); code == 0 || !strings.Contains(stderr, `unknown sub-command "fetch": want install`) {
		t.Errorf("assets fetch: %d %q", code, stderr)
	}
}

func TestEstimateCommand(t *testing.T) {
	m := tinyModelDir(t, "mean")
	code, stdout, stderr := cli("estimate", "--model", m, "--dataset", pairsFile(t, t.TempDir(), 40), "--steps", "2", "--batch", "8")
	var e estimate
	if code != 0 || json.Unmarshal([]byte(stdout), &e) != nil {
		t.Fatalf("estimate: %d %s %s", code, stdout, stderr)
	}
	if !(e.StepSeconds > 0) || !(e.PassagesPerSecond > 0) || e.ComputeRatio < 100 || e.BgeBase332Seconds != 332*e.BgeBaseStepSeconds {
		t.Errorf("estimate %+v", e)
	}
}
