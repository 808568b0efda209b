package parity

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/embedtune/embedtune/internal/steptimer"
	"github.com/embedtune/embedtune/trainlib"
	"github.com/embedtune/embedtune/trainlib/datasets"
	"github.com/embedtune/embedtune/trainlib/losses"
	"github.com/embedtune/embedtune/trainlib/model"
	"github.com/embedtune/embedtune/trainlib/sampler"
)

// The benchmarks time ours and PyTorch (tests/reference/parity_bench.py) on the same real model
// (all-MiniLM-L6-v2), the same texts and the same batch shapes, on the same machine, and report
// both and their ratio as custom metrics (and in build/parity/results.md). They do fixed work
// (sizes_test.go); run them with -benchtime 1x, as scripts/parity.sh does:
//
//	EMBEDTUNE_REAL_MODELS=~/.cache/embedtune/models go test -run '^$' -bench . -benchtime 1x ./tests/parity/

// BenchmarkEncode encodes passages that all truncate to exactly BenchEncodeLen tokens, in batches
// of 32: both sides run [32, BenchEncodeLen] forward passes.
func BenchmarkEncode(b *testing.B) {
	modelsDir(b)
	sz := currentSize()
	dir := modelDir(b, miniLM)
	m := loadModel(b, dir, model.WithMaxSeqLength(sz.BenchEncodeLen))
	if sz.BenchPassages%32 != 0 {
		b.Fatalf("BenchPassages %d must be a multiple of the batch size 32 (same shapes on both sides)", sz.BenchPassages)
	}
	texts := loadSQuAD(b).passages(b, m.Tokenizer, sz.BenchEncodeLen, sz.BenchPassages)
	opts := &model.EncodeOptions{BatchSize: 32}
	if _, err := m.Encode(texts[:32], opts); err != nil { // warm-up: compiles the [32, L] graph
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := m.Encode(texts, opts); err != nil {
			b.Fatal(err)
		}
	}
	ours := float64(len(texts)*b.N) / time.Since(start).Seconds()
	b.StopTimer()

	var py struct {
		PassagesPerSecond float64 `json:"passages_per_second"`
		InputShapes       [][]int `json:"input_shapes"`
	}
	python(b, "parity_bench.py", map[string]any{"mode": "encode", "model": dir, "texts": texts, "batch_size": 32,
		"max_seq_length": sz.BenchEncodeLen, "threads": 2}, &py)
	for _, s := range py.InputShapes {
		if !slices.Equal(s, []int{32, sz.BenchEncodeLen}) {
			b.Fatalf("PyTorch batch shape %v, want [32 %d]", s, sz.BenchEncodeLen)
		}
	}
	b.ReportMetric(ours, "passages/s")
	b.ReportMetric(py.PassagesPerSecond, "torch-passages/s")
	b.ReportMetric(py.PassagesPerSecond/ours, "slowdown")
	record(b, part{Kind: "bench", Bench: &benchResult{
		Workload: fmt.Sprintf("encode %d SQuAD passages (model.Encode vs SentenceTransformer.encode)", len(texts)),
		Shapes:   fmt.Sprintf("batches [32, %d]", sz.BenchEncodeLen), Unit: "passages/s",
		Ours: ours, Torch: py.PassagesPerSecond, Ratio: py.PassagesPerSecond / ours}})
}

// BenchmarkTrainStep times training steps of the Trainer (MultipleNegativesRankingLoss, AdamW,
// fp32, batch 16) on pairs whose both columns truncate to exactly BenchTrainLen tokens, against
// SentenceTransformerTrainer on the same pairs: both sides run [16, L] × 2 forward and backward
// passes per step. The first step (graph compilation on our side) is excluded.
func BenchmarkTrainStep(b *testing.B) {
	modelsDir(b)
	sz := currentSize()
	dir := modelDir(b, miniLM)
	m := loadModel(b, dir, model.WithMaxSeqLength(sz.BenchTrainLen))
	steps := sz.BenchTrainSteps + 1
	texts := loadSQuAD(b).passages(b, m.Tokenizer, sz.BenchTrainLen, 2*ftBatch*steps)
	anchors, positives := texts[:ftBatch*steps], texts[ftBatch*steps:]
	ds, err := datasets.FromColumns(datasets.Col("anchor", anchors), datasets.Col("positive", positives))
	if err != nil {
		b.Fatal(err)
	}
	args := trainlib.TrainingArguments{OutputDir: b.TempDir(), MaxSteps: steps, PerDeviceTrainBatchSize: ftBatch,
		LearningRate: ftLR, BatchSampler: sampler.BatchSampler, LoggingSteps: 1, SaveStrategy: "no", Seed: ftSeed}
	timer := &steptimer.Timer{}
	tr, err := trainlib.NewTrainer(m, args, ds, nil, losses.MultipleNegativesRankingLoss(m), trainlib.WithCallbacks(timer), trainlib.WithoutProgress())
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	if _, err := tr.Train(); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	ours := median(tail(timer.Seconds))

	var py struct {
		StepSeconds []float64 `json:"step_seconds"`
		InputShapes [][]int   `json:"input_shapes"`
	}
	python(b, "parity_bench.py", map[string]any{"mode": "train", "model": dir, "anchors": anchors, "positives": positives,
		"batch_size": ftBatch, "steps": sz.BenchTrainSteps, "max_seq_length": sz.BenchTrainLen, "learning_rate": ftLR, "threads": 2}, &py)
	for _, s := range py.InputShapes {
		if !slices.Equal(s, []int{ftBatch, sz.BenchTrainLen}) {
			b.Fatalf("PyTorch batch shape %v, want [%d %d]", s, ftBatch, sz.BenchTrainLen)
		}
	}
	torch := median(py.StepSeconds)
	b.ReportMetric(ours, "s/step")
	b.ReportMetric(torch, "torch-s/step")
	b.ReportMetric(ours/torch, "slowdown")
	b.Logf("s/step ours %v, PyTorch %v", timer.Seconds, py.StepSeconds)
	record(b, part{Kind: "bench", Bench: &benchResult{
		Workload: fmt.Sprintf("training step, median of %d (MNRL, AdamW, fp32; Trainer vs SentenceTransformerTrainer)", sz.BenchTrainSteps),
		Shapes:   fmt.Sprintf("anchors [%d, %d] + positives [%d, %d]", ftBatch, sz.BenchTrainLen, ftBatch, sz.BenchTrainLen),
		Unit:     "s/step", Ours: ours, Torch: torch, Ratio: ours / torch}})
}
