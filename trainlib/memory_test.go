package trainlib

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
	"testing"

	"github.com/embedtune/embedtune/internal/synth"
	"github.com/embedtune/embedtune/trainlib/datasets"
	"github.com/embedtune/embedtune/trainlib/losses"
	"github.com/embedtune/embedtune/trainlib/memplan"
	"github.com/embedtune/embedtune/trainlib/model"
)

// memoryCase is one measured configuration: a model shape, a batch, and the training options that
// change memory.
type memoryCase struct {
	Name                                    string
	Hidden, Layers, Heads, Intermediate     int
	Vocab                                   int
	Batch, SeqLen, Steps                    int
	LoRA, FP16                              bool
	GradientAccumulation                    int
	Estimate, Peak, RuntimeBytes, LoadBytes int64 // results
	Engine                                  memplan.Engine
}

// Shapes of the models whose estimates are checked.
var (
	miniLMShape  = memoryCase{Name: "all-MiniLM-L6-v2", Hidden: 384, Layers: 6, Heads: 12, Intermediate: 1536, Vocab: 30522}
	bgeSmallShap = memoryCase{Name: "bge-small-en-v1.5", Hidden: 384, Layers: 12, Heads: 12, Intermediate: 1536, Vocab: 30522}
	bgeBaseShape = memoryCase{Name: "bge-base-en-v1.5", Hidden: 768, Layers: 12, Heads: 12, Intermediate: 3072, Vocab: 30522}
)

const memoryChildEnv = "EMBEDTUNE_MEMORY_CHILD"

// measureMemory trains c in a child process (this test binary) and returns its estimate and the
// child's measured peak resident memory.
func measureMemory(t testing.TB, c memoryCase) memoryCase {
	t.Helper()
	spec, _ := json.Marshal(c)
	cmd := exec.Command(os.Args[0], "-test.run=^TestMemoryChild$", "-test.count=1", "-test.v")
	// The compile cache off: a run that loads its executables skips compilation's memory, so the
	// measured peak would depend on what earlier runs left in the cache; the estimate is a first run's.
	cmd.Env = append(os.Environ(), memoryChildEnv+"="+string(spec), "EMBEDTUNE_XLA_CACHE=off")
	out, err := cmd.CombinedOutput()
	i := bytes.Index(out, []byte("MEMORY "))
	if err != nil || i < 0 {
		t.Fatalf("child for %s: %v\n%s", c.Name, err, out)
	}
	line := out[i+len("MEMORY "):]
	line = line[:bytes.IndexByte(line, '\n')]
	if err := json.Unmarshal(line, &c); err != nil {
		t.Fatalf("child for %s: %v: %s", c.Name, err, line)
	}
	return c
}

// TestMemoryChild is the child process of measureMemory: it builds a randomly initialized model of
// the case's shape (the all-MiniLM-L6-v2 tokenizer's vocabulary size), trains it for the case's
// steps on texts long enough to fill every sequence, and prints the estimate and its peak RSS.
func TestMemoryChild(t *testing.T) {
	spec := os.Getenv(memoryChildEnv)
	if spec == "" {
		t.Skip("child process of the memory estimate tests")
	}
	var c memoryCase
	if err := json.Unmarshal([]byte(spec), &c); err != nil {
		t.Fatal(err)
	}
	tok := filepath.Join(t.TempDir(), "tok")
	if err := synth.Tokenizer(tok, 600); err != nil {
		t.Fatal(err)
	}
	m, err := model.New(model.InitConfig{HiddenSize: c.Hidden, NumLayers: c.Layers, NumHeads: c.Heads, IntermediateSize: c.Intermediate,
		MaxPositionEmbeddings: 512, MaxSeqLength: c.SeqLen, VocabSize: c.Vocab, TokenizerDir: tok, Seed: 1}, model.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.LoRA {
		if err := m.AddAdapter(model.LoRAConfig{R: 8, Alpha: 32, Dropout: 0.1}); err != nil {
			t.Fatal(err)
		}
	}
	c.LoadBytes = memplan.PeakRSS()
	words := strings.Fields(strings.Join(synth.Texts(synth.Pairs(40, 1, 3)), " "))
	rows := max(4*c.Batch, 8)
	qs, cs := make([]string, rows), make([]string, rows)
	for i := range qs {
		var a, b []string
		for k := 0; k < c.SeqLen+8; k++ {
			a = append(a, words[(i*7+k)%len(words)])
			b = append(b, words[(i*13+k*3)%len(words)])
		}
		qs[i], cs[i] = strconv.Itoa(i)+" "+strings.Join(a, " "), strings.Join(b, " ")+" "+strconv.Itoa(i)
	}
	d, err := datasets.FromColumns(datasets.Col("q", qs), datasets.Col("c", cs))
	if err != nil {
		t.Fatal(err)
	}
	args := TrainingArguments{OutputDir: filepath.Join(t.TempDir(), "out"), MaxSteps: max(c.Steps, 1), PerDeviceTrainBatchSize: c.Batch,
		LoggingSteps: 100, SaveStrategy: SaveStrategyNo, FP16: c.FP16, GradientAccumulationSteps: max(c.GradientAccumulation, 1),
		SkipMemoryCheck: true}
	tr, err := NewTrainer(m, args, d, nil, losses.MultipleNegativesRankingLoss(m), WithoutProgress())
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	tr.logf = func(format string, a ...any) { fmt.Fprintf(&logs, format+"\n", a...) }
	if _, err := tr.Train(); err != nil {
		t.Fatal(err)
	}
	c.Peak = memplan.PeakRSS()
	shape := memplan.ShapeOf(m, c.FP16)
	c.Engine = memplan.EngineOf(m.Backend())
	est := memplan.Training(shape, memplan.Batch{Rows: c.Batch, SeqLens: []int{c.SeqLen, c.SeqLen}}, c.Engine)
	c.Estimate = est.Total
	if !strings.Contains(logs.String(), "estimated peak is "+est.String()) {
		t.Errorf("the run logged another estimate than %s:\n%s", est, logs.String())
	}
	out, _ := json.Marshal(c)
	fmt.Printf("MEMORY %s\n", out)
}

// memoryTolerance is how far the estimate may be from the measured peak.
const memoryTolerance = 0.25

// TestEstimateMatchesMeasuredPeak trains all-MiniLM-L6-v2- and bge-small-en-v1.5-shaped models
// (random weights) in child processes and compares the estimate with the measured peak RSS, on the
// default engine. The bge-base-en-v1.5 shape is measured by scripts/memplan_bench.sh.
func TestEstimateMatchesMeasuredPeak(t *testing.T) {
	if testing.Short() {
		t.Skip("trains two models in child processes")
	}
	for _, c := range []memoryCase{miniLMShape, bgeSmallShap} {
		c.Batch, c.SeqLen, c.Steps = 4, 64, 1
		t.Run(c.Name, func(t *testing.T) {
			r := measureMemory(t, c)
			ratio := float64(r.Estimate) / float64(r.Peak)
			t.Logf("%s on %s, batch %d × %d tokens: estimate %s, measured peak %s (ratio %.2f)", r.Name, r.Engine, r.Batch, r.SeqLen,
				memplan.FormatBytes(r.Estimate), memplan.FormatBytes(r.Peak), ratio)
			if math.Abs(ratio-1) > memoryTolerance {
				t.Errorf("the estimate is %.0f%% off the measured peak (tolerance ±%.0f%%)", 100*(ratio-1), 100*memoryTolerance)
			}
		})
	}
}

// TestMemoryBench measures the cases of $EMBEDTUNE_MEMORY_BENCH (JSON list of memoryCase, or a
// shape name with "batch×len" pairs: "bge-base-en-v1.5:16x128,32x256") and prints one JSON line per
// case (scripts/memplan_bench.sh).
func TestMemoryBench(t *testing.T) {
	spec := os.Getenv("EMBEDTUNE_MEMORY_BENCH")
	if spec == "" {
		t.Skip("set EMBEDTUNE_MEMORY_BENCH (see scripts/memplan_bench.sh)")
	}
	var cases []memoryCase
	if err := json.Unmarshal([]byte(spec), &cases); err != nil {
		name, sizes, _ := strings.Cut(spec, ":")
		var shape memoryCase
		for _, s := range []memoryCase{miniLMShape, bgeSmallShap, bgeBaseShape} {
			if s.Name == name {
				shape = s
			}
		}
		if shape.Name == "" {
			t.Fatalf("unknown shape %q", name)
		}
		for _, bs := range strings.Split(sizes, ",") {
			c := shape
			opts := strings.Split(bs, "+")
			if _, err := fmt.Sscanf(opts[0], "%dx%d", &c.Batch, &c.SeqLen); err != nil {
				t.Fatalf("bad size %q: want BATCHxLEN[+lora][+fp16]", bs)
			}
			c.LoRA, c.FP16 = strings.Contains(bs, "+lora"), strings.Contains(bs, "+fp16")
			cases = append(cases, c)
		}
	}
	for _, c := range cases {
		r := measureMemory(t, c)
		out, _ := json.Marshal(r)
		fmt.Printf("RESULT %s\n", out)
		t.Logf("%s %dx%d lora=%v fp16=%v on %s: estimate %s, measured %s, ratio %.2f", r.Name, r.Batch, r.SeqLen, r.LoRA, r.FP16, r.Engine,
			memplan.FormatBytes(r.Estimate), memplan.FormatBytes(r.Peak), float64(r.Estimate)/float64(r.Peak))
	}
}

// TestMemoryCheckRefusesARunThatCannotFit starts a bge-base-en-v1.5-shaped run whose batch (512 pairs of
// 512 tokens) needs far more memory than any CI machine has: it is refused before the first step with
// the estimate, the memory available and what to change, and starts (to fail or not later) only with
// skip_memory_check.
func TestMemoryCheckRefusesARunThatCannotFit(t *testing.T) {
	if _, err := memplan.Available(); err != nil {
		t.Skip("the available memory cannot be read here:", err)
	}
	tok := filepath.Join(t.TempDir(), "tok")
	if err := synth.Tokenizer(tok, 600); err != nil {
		t.Fatal(err)
	}
	m, err := model.New(model.InitConfig{HiddenSize: 768, NumLayers: 12, NumHeads: 12, IntermediateSize: 3072,
		MaxPositionEmbeddings: 512, MaxSeqLength: 512, VocabSize: 30522, TokenizerDir: tok, Seed: 1}, model.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	words := strings.Fields(strings.Join(synth.Texts(synth.Pairs(40, 1, 3)), " "))
	long := strings.Repeat(strings.Join(words, " ")+" ", 600/len(words)+1)
	qs, cs := make([]string, 512), make([]string, 512)
	for i := range qs {
		qs[i], cs[i] = strconv.Itoa(i)+" "+long, long+" "+strconv.Itoa(i)
	}
	d, err := datasets.FromColumns(datasets.Col("q", qs), datasets.Col("c", cs))
	if err != nil {
		t.Fatal(err)
	}
	args := TrainingArguments{OutputDir: filepath.Join(t.TempDir(), "out"), MaxSteps: 1, PerDeviceTrainBatchSize: 512, SaveStrategy: SaveStrategyNo}
	tr, err := NewTrainer(m, args, d, nil, losses.MultipleNegativesRankingLoss(m), WithoutProgress())
	if err != nil {
		t.Fatal(err)
	}
	_, err = tr.Train()
	if err == nil {
		t.Fatal("a 512×512-token bge-base batch was not refused")
	}
	for _, want := range []string{"not enough memory for this run: the estimated peak is ", "available", "512 rows",
		"up to 512 tokens", "gradient_checkpointing",
		"CachedMultipleNegativesRankingLoss", "skip_memory_check", SkipMemoryCheckEnv} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the refusal lacks %q:\n%v", want, err)
		}
	}
	if entries, _ := os.ReadDir(args.OutputDir); len(entries) > 1 { // the lock file at most
		t.Errorf("a refused run wrote into output_dir: %v", entries)
	}
}
