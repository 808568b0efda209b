// Package bench is the Go side of scripts/bench.sh, the side-by-side benchmark of the pure-Go
// backend, XLA CPU and PyTorch CPU (tests/reference/parity_bench.py). It holds only a test, run once per
// measurement in its own process (so each process's peak RSS is that workload's) by bench.sh;
// without $EMBEDTUNE_BENCH it skips. The engine is the one $GOMLX_BACKEND names.
//
// Request (JSON file named by $EMBEDTUNE_BENCH):
//
//	{"mode": "encode" | "train", "model": DIR, "max_seq_length": L, "texts_file": "texts.json",
//	 "passages": 64, "batch_size": 32, "steps": 3, "out": "result.json"}
//
// Every text is longer than L tokens, so every batch is [batch_size, L] here and in PyTorch.
// encode: one warm-up batch (compiles the graph: "first_seconds"), then passages texts timed.
// train: MultipleNegativesRankingLoss, AdamW, fp32, dropout on, batches of batch_size (anchor,
// positive) pairs, both columns L tokens; 1 + steps steps, the first (compilation) reported apart.
// With "devices": N > 1, the same global batch is split over N devices (see request.Devices).
package bench

import (
	"encoding/json"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/embedtune/embedtune/internal/steptimer"
	"github.com/embedtune/embedtune/trainlib"
	"github.com/embedtune/embedtune/trainlib/backend"
	"github.com/embedtune/embedtune/trainlib/datasets"
	"github.com/embedtune/embedtune/trainlib/losses"
	"github.com/embedtune/embedtune/trainlib/model"
	"github.com/embedtune/embedtune/trainlib/sampler"
)

type request struct {
	Mode         string `json:"mode"`
	Model        string `json:"model"`
	MaxSeqLength int    `json:"max_seq_length"`
	TextsFile    string `json:"texts_file"`
	Passages     int    `json:"passages"`
	BatchSize    int    `json:"batch_size"`
	Steps        int    `json:"steps"`
	Out          string `json:"out"`
	// Devices > 1 trains data-parallel on that many devices (XLA CPU host devices with
	// $EMBEDTUNE_XLA_CPU_DEVICES) with the same global batch: batch_size/devices rows per device,
	// MNRL with gather_across_devices.
	Devices int `json:"devices,omitempty"`
}

type result struct {
	Engine            string    `json:"engine"`
	Backend           string    `json:"backend"`
	FirstSeconds      float64   `json:"first_seconds"`
	PassagesPerSecond float64   `json:"passages_per_second,omitempty"`
	StepSeconds       []float64 `json:"step_seconds,omitempty"`
	MedianStep        float64   `json:"median_step_seconds,omitempty"`
	MaxRSSBytes       uint64    `json:"max_rss_bytes"`
	CacheHits         int       `json:"compile_cache_hits"`
	CacheMisses       int       `json:"compile_cache_misses"`
}

func TestBench(t *testing.T) {
	path := os.Getenv("EMBEDTUNE_BENCH")
	if path == "" {
		t.Skip("set EMBEDTUNE_BENCH to a request file (scripts/bench.sh does)")
	}
	var req request
	if b, err := os.ReadFile(path); err != nil {
		t.Fatal(err)
	} else if err := json.Unmarshal(b, &req); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var texts []string
	if b, err := os.ReadFile(req.TextsFile); err != nil {
		t.Fatal(err)
	} else if err := json.Unmarshal(b, &texts); err != nil {
		t.Fatalf("%s: %v", req.TextsFile, err)
	}
	c, err := backend.Choose()
	if err != nil {
		t.Fatal(err)
	}
	b, err := backend.Default()
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.Load(req.Model, model.WithBackend(b), model.WithLogger(nil), model.WithMaxSeqLength(req.MaxSeqLength))
	if err != nil {
		t.Fatal(err)
	}
	res := result{Engine: c.Engine, Backend: backend.Describe(b)}
	switch req.Mode {
	case "encode":
		opts := &model.EncodeOptions{BatchSize: req.BatchSize}
		t0 := time.Now()
		if _, err := m.Encode(texts[:req.BatchSize], opts); err != nil {
			t.Fatal(err)
		}
		res.FirstSeconds = time.Since(t0).Seconds()
		t0 = time.Now()
		if _, err := m.Encode(texts[:req.Passages], opts); err != nil {
			t.Fatal(err)
		}
		res.PassagesPerSecond = float64(req.Passages) / time.Since(t0).Seconds()
	case "train":
		n := req.BatchSize * (req.Steps + 1)
		a, p := make([]string, n), make([]string, n)
		for i := range a {
			a[i], p[i] = texts[i%len(texts)], texts[(i+1)%len(texts)]
		}
		ds, err := datasets.FromColumns(datasets.Col("anchor", a), datasets.Col("positive", p))
		if err != nil {
			t.Fatal(err)
		}
		args := trainlib.TrainingArguments{OutputDir: t.TempDir(), MaxSteps: req.Steps + 1, PerDeviceTrainBatchSize: req.BatchSize,
			LearningRate: 2e-5, BatchSampler: sampler.BatchSampler, LoggingSteps: 1, SaveStrategy: "no", Seed: 42}
		loss := losses.MultipleNegativesRankingLoss(m)
		if req.Devices > 1 {
			if req.BatchSize%req.Devices != 0 {
				t.Fatalf("batch_size %d is not a multiple of devices %d", req.BatchSize, req.Devices)
			}
			args.NumDevices, args.PerDeviceTrainBatchSize = req.Devices, req.BatchSize/req.Devices
			loss = losses.MultipleNegativesRankingLoss(m, losses.WithGatherAcrossDevices(true))
		}
		timer := &steptimer.Timer{}
		tr, err := trainlib.NewTrainer(m, args, ds, nil, loss, trainlib.WithCallbacks(timer), trainlib.WithoutProgress())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tr.Train(); err != nil {
			t.Fatal(err)
		}
		res.FirstSeconds, res.StepSeconds = timer.Seconds[0], timer.Seconds[1:]
		res.MedianStep = steptimer.Median(res.StepSeconds)
	default:
		t.Fatalf("mode %q: want encode or train", req.Mode)
	}
	res.MaxRSSBytes = maxRSS()
	cs := backend.CompileCacheStats()
	res.CacheHits, res.CacheMisses = cs.Hits, cs.Misses
	out, _ := json.Marshal(res)
	if err := os.WriteFile(req.Out, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

// maxRSS returns the process's peak resident set size in bytes (Linux: getrusage's kilobytes).
func maxRSS() uint64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return uint64(ru.Maxrss) * 1024
}
