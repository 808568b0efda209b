package trainlib_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/embedtune/embedtune/internal/synth"
	"github.com/embedtune/embedtune/trainlib"
	"github.com/embedtune/embedtune/trainlib/backend"
	"github.com/embedtune/embedtune/trainlib/datasets"
	"github.com/embedtune/embedtune/trainlib/internal/perf"
	"github.com/embedtune/embedtune/trainlib/losses"
	"github.com/embedtune/embedtune/trainlib/memplan"
	"github.com/embedtune/embedtune/trainlib/model"
)

// memoryRun is one training configuration measured by BenchmarkTrainMemory, in a process of its own.
type memoryRun struct {
	Shape         string         `json:"shape"` // "MiniLM-L6" or "bge-base"
	Batch         int            `json:"batch"` // (query, passage) pairs per step
	QueryLen      int            `json:"query_len"`
	PassageLen    int            `json:"passage_len"`
	Loss          map[string]any `json:"loss"` // a run config's loss spec
	Checkpointing bool           `json:"gradient_checkpointing"`
	Steps         int            `json:"steps"` // measured steps, after one that compiles
}

// memoryResult is what a measured process reports.
type memoryResult struct {
	PeakRSS  uint64  `json:"peak_rss"`  // bytes, during the measured steps
	PeakHeap uint64  `json:"peak_heap"` // bytes of Go heap, during the measured steps (sampled)
	StepSecs float64 `json:"step_secs"`
	CPUSecs  float64 `json:"cpu_secs"` // per step
	Loss     float64 `json:"loss"`
	// Estimate is memplan's estimate of the run's peak (the whole process, compilation included),
	// what the memory check compares with the memory available.
	Estimate int64 `json:"estimate"`
}

const (
	memoryChildEnv  = "EMBEDTUNE_MEMORY_CHILD"
	memoryResultTag = "embedtune-memory-result: "
)

var benchShapes = map[string]model.InitConfig{
	"MiniLM-L6": {HiddenSize: 384, NumLayers: 6, NumHeads: 12, IntermediateSize: 1536},
	"bge-base":  {HiddenSize: 768, NumLayers: 12, NumHeads: 12, IntermediateSize: 3072},
}

// BenchmarkTrainMemory measures the peak resident memory and the time of a training step (fp32,
// dropout on, AdamW) on random MiniLM- and bge-base-shaped models: MultipleNegativesRankingLoss,
// the same with gradient_checkpointing, and CachedMultipleNegativesRankingLoss with mini-batches
// of 4 — and, at a batch of 64, MNRL against CachedMNRL with mini-batches of 8, the batch size
// that only the cached loss keeps in the memory of a batch of 8. Each configuration runs in a
// process of its own: one step compiles the graphs, then the peak resident set size is reset
// (/proc/self/clear_refs) and the next steps are measured, so the peak is the step's own
// high-water mark (parameters, AdamW moments, activations and the engine's buffers), not the
// compiler's. Passages have EMBEDTUNE_BENCH_PASSAGE_LEN tokens (default 128), queries 32.
//
// Reported per configuration: peak-MiB (resident), estimate-MiB (memplan's estimate of the whole
// run's peak, which the memory check uses), s/step (wall), cpu-s/step. scripts/bench.sh --memory
// runs it on both CPU engines and writes the table to results.md.
//
//	GOEXPERIMENT=simd go test ./trainlib -run '^$' -bench TrainMemory -benchtime 1x
func BenchmarkTrainMemory(b *testing.B) {
	plen := 128
	if v := os.Getenv("EMBEDTUNE_BENCH_PASSAGE_LEN"); v != "" {
		var err error
		if plen, err = strconv.Atoi(v); err != nil {
			b.Fatalf("EMBEDTUNE_BENCH_PASSAGE_LEN=%q: %v", v, err)
		}
	}
	mnrl := map[string]any{"name": "MultipleNegativesRankingLoss"}
	cached := func(mb int) map[string]any {
		return map[string]any{"name": "CachedMultipleNegativesRankingLoss", "mini_batch_size": mb}
	}
	for _, shape := range []string{"MiniLM-L6", "bge-base"} {
		for _, c := range []struct {
			name string
			run  memoryRun
		}{
			{"batch16/MNRL", memoryRun{Batch: 16, Loss: mnrl}},
			{"batch16/MNRL+gradient_checkpointing", memoryRun{Batch: 16, Loss: mnrl, Checkpointing: true}},
			{"batch16/CachedMNRL-mini4", memoryRun{Batch: 16, Loss: cached(4)}},
			{"batch8/MNRL", memoryRun{Batch: 8, Loss: mnrl}},
			{"batch2/MNRL", memoryRun{Batch: 2, Loss: mnrl}},
			{"batch64/MNRL", memoryRun{Batch: 64, Loss: mnrl}},
			{"batch64/CachedMNRL-mini8", memoryRun{Batch: 64, Loss: cached(8)}},
		} {
			b.Run(shape+"/"+c.name, func(b *testing.B) {
				r := c.run
				r.Shape, r.QueryLen, r.PassageLen, r.Steps = shape, 32, plen, 2
				res, err := measureMemory(r, "")
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(res.PeakRSS)/(1<<20), "peak-MiB")
				b.ReportMetric(float64(res.Estimate)/(1<<20), "estimate-MiB")
				b.ReportMetric(float64(res.PeakHeap)/(1<<20), "peak-heap-MiB")
				b.ReportMetric(res.StepSecs, "s/step")
				b.ReportMetric(res.CPUSecs, "cpu-s/step")
				b.ReportMetric(0, "ns/op")
			})
		}
	}
}

// measureMemory runs r in a child process (prefix, when not empty, is a shell command line the
// child runs under, e.g. "ulimit -v 4000000 &&") and returns what it reports.
func measureMemory(r memoryRun, prefix string) (*memoryResult, error) {
	spec, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("bash", "-c", prefix+` exec "$0" -test.run '^TestTrainMemoryChild$' -test.count=1 -test.v`, os.Args[0])
	cmd.Env = append(os.Environ(), memoryChildEnv+"="+string(spec))
	out, err := cmd.CombinedOutput()
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(line, memoryResultTag); ok {
			var res memoryResult
			if err := json.Unmarshal([]byte(v), &res); err != nil {
				return nil, err
			}
			return &res, nil
		}
	}
	tail := string(out)
	if len(tail) > 3000 {
		tail = tail[len(tail)-3000:]
	}
	return nil, fmt.Errorf("%s: %v\n%s", spec, err, tail)
}

// TestTrainMemoryChild is the measured process of BenchmarkTrainMemory (and of the memory tests);
// it does nothing in a normal test run.
func TestTrainMemoryChild(t *testing.T) {
	spec := os.Getenv(memoryChildEnv)
	if spec == "" {
		t.Skip("runs as the child process of BenchmarkTrainMemory")
	}
	var r memoryRun
	if err := json.Unmarshal([]byte(spec), &r); err != nil {
		t.Fatal(err)
	}
	res, err := trainMeasured(t, r)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(res)
	fmt.Println(memoryResultTag + string(data))
}

func trainMeasured(t testing.TB, r memoryRun) (*memoryResult, error) {
	be, err := backend.Default()
	if err != nil {
		return nil, err
	}
	init, ok := benchShapes[r.Shape]
	if !ok {
		return nil, fmt.Errorf("unknown shape %q", r.Shape)
	}
	tok := filepath.Join(t.TempDir(), "tok")
	if err := synth.Tokenizer(tok, 2000); err != nil {
		return nil, err
	}
	init.TokenizerDir, init.MaxPositionEmbeddings, init.MaxSeqLength, init.VocabSize = tok, 512, r.PassageLen, 30522
	init.Pooling, init.Normalize, init.Seed = []string{"mean"}, true, 1
	m, err := model.New(init, model.WithLogger(nil), model.WithBackend(be))
	if err != nil {
		return nil, err
	}
	queries := benchTexts(t, m, r.Batch, r.QueryLen/2, r.QueryLen, func(p synth.Pair) string { return p.Question })
	passages := benchTexts(t, m, r.Batch, r.PassageLen, 0, func(p synth.Pair) string { return p.Context })
	train, err := datasets.FromColumns(datasets.Col("query", queries), datasets.Col("passage", passages))
	if err != nil {
		return nil, err
	}
	loss, err := trainlib.BuildLoss(m, r.Loss)
	if err != nil {
		return nil, err
	}
	shape := memplan.ShapeOf(m, false)
	shape.GradientCheckpointing = r.Checkpointing
	est := memplan.Training(shape, memplan.Batch{Rows: r.Batch, SeqLens: []int{model.SeqBucket(r.QueryLen, r.PassageLen), model.SeqBucket(r.PassageLen, r.PassageLen)},
		MiniBatch: losses.MiniBatchSize(loss)}, memplan.EngineOf(be))
	args := trainlib.TrainingArguments{OutputDir: t.TempDir(), MaxSteps: 1 + r.Steps, PerDeviceTrainBatchSize: r.Batch,
		LearningRate: 5e-5, SaveStrategy: "no", LoggingSteps: 1, Seed: 1, GradientCheckpointing: r.Checkpointing}
	var (
		start time.Time
		cpu0  time.Duration
		res   memoryResult
		rerr  error
		heap  *perf.HeapSampler
	)
	cb := stepTimer{onStep: func(step int) {
		switch step {
		case 1: // The graphs are compiled and have run once.
			rerr = perf.ResetPeakRSS()
			start, cpu0 = time.Now(), perf.CPUTime()
			heap = perf.StartHeapSampler(2 * time.Millisecond)
		case 1 + r.Steps:
			res.PeakHeap = heap.Stop()
			res.StepSecs = time.Since(start).Seconds() / float64(r.Steps)
			res.CPUSecs = (perf.CPUTime() - cpu0).Seconds() / float64(r.Steps)
			res.PeakRSS, rerr = perf.PeakRSS()
		}
	}}
	tr, err := trainlib.NewTrainer(m, args, train, nil, loss, trainlib.WithoutProgress(), trainlib.WithCallbacks(cb))
	if err != nil {
		return nil, err
	}
	out, err := tr.Train()
	if err != nil {
		return nil, err
	}
	res.Loss, res.Estimate = out.TrainingLoss, est.Total
	return &res, rerr
}
