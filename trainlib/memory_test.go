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
	"github.com/embedtune/embedtune/internal/testutil"
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
	MiniBatch                               int   // > 0: CachedMultipleNegativesRankingLoss with this mini_batch_size
	Checkpointing                           bool  // gradient_checkpointing
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
	m, d := memoryModelAndData(t, c)
	c.LoadBytes = memplan.PeakRSS()
	args := TrainingArguments{OutputDir: filepath.Join(t.TempDir(), "out"), MaxSteps: max(c.Steps, 1), PerDeviceTrainBatchSize: c.Batch,
		LoggingSteps: 100, SaveStrategy: SaveStrategyNo, FP16: c.FP16, GradientAccumulationSteps: max(c.GradientAccumulation, 1),
		SkipMemoryCheck: true, GradientCheckpointing: c.Checkpointing}
	var loss losses.Loss = losses.MultipleNegativesRankingLoss(m)
	if c.MiniBatch > 0 {
		loss = losses.CachedMultipleNegativesRankingLoss(m, losses.WithMiniBatchSize(c.MiniBatch))
	}
	tr, err := NewTrainer(m, args, d, nil, loss, WithoutProgress())
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
	shape.GradientCheckpointing = c.Checkpointing
	c.Engine = memplan.EngineOf(m.Backend())
	est := memplan.Training(shape, memplan.Batch{Rows: c.Batch, SeqLens: []int{c.SeqLen, c.SeqLen}, MiniBatch: c.MiniBatch}, c.Engine)
	c.Estimate = est.Total
	if !strings.Contains(logs.String(), "estimated peak is "+est.String()) {
		t.Errorf("the run logged another estimate than %s:\n%s", est, logs.String())
	}
	out, _ := json.Marshal(c)
	fmt.Printf("MEMORY %s\n", out)
}

// memoryModelAndData builds a randomly initialized model of c's shape (the all-MiniLM-L6-v2
// tokenizer's vocabulary size, max_seq_length c.SeqLen, LoRA when c.LoRA) and (query, passage)
// pairs long enough to fill c.SeqLen tokens in both columns, for batches of c.Batch.
func memoryModelAndData(t testing.TB, c memoryCase) (*model.SentenceTransformer, *datasets.Dataset) {
	t.Helper()
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
	return m, d
}

// memoryTolerance is how far the estimate may be from the measured peak.
const memoryTolerance = 0.25

// TestEstimateMatchesMeasuredPeak trains all-MiniLM-L6-v2- and bge-small-en-v1.5-shaped models
// (random weights) in child processes and compares the estimate with the measured peak RSS, on the
// default engine: small batches, and 16 pairs of 128 tokens with gradient checkpointing and with
// CachedMultipleNegativesRankingLoss (mini-batches of 4). The bge-base-en-v1.5 shape is measured by
// scripts/memplan_bench.sh.
func TestEstimateMatchesMeasuredPeak(t *testing.T) {
	// Not parallel: the child's peak is read where concurrent tests' memory would count too.
	if testing.Short() {
		t.Skip("trains two models in child processes")
	}
	small := func(c memoryCase) memoryCase { c.Batch, c.SeqLen = 4, 64; return c }
	mid := func(c memoryCase, checkpointing bool, mini int) memoryCase {
		c.Batch, c.SeqLen, c.Checkpointing, c.MiniBatch = 16, 128, checkpointing, mini
		return c
	}
	for _, c := range []memoryCase{small(miniLMShape), small(bgeSmallShap),
		// Activations dominate at 16 × 128 tokens: the plain estimate would be 33–82% above these peaks.
		mid(miniLMShape, true, 0), mid(miniLMShape, false, 4)} {
		c.Steps = 1
		name := fmt.Sprintf("%s/%dx%d", c.Name, c.Batch, c.SeqLen)
		if c.Checkpointing {
			name += "/gradient_checkpointing"
		}
		if c.MiniBatch > 0 {
			name += fmt.Sprintf("/CachedMNRL-mini%d", c.MiniBatch)
		}
		t.Run(name, func(t *testing.T) {
			if c.Checkpointing || c.MiniBatch > 0 {
				// The features' terms are fitted on both engines (scripts/memplan_bench.sh, docs/performance.md);
				// CI checks them on the default engine only: each case trains a MiniLM for a minute.
				testutil.XLACPU(t, "checked on the XLA CPU engine only")
			}
			r := measureMemory(t, c)
			ratio := float64(r.Estimate) / float64(r.Peak)
			t.Logf("%s on %s: estimate %s, measured peak %s (ratio %.2f)", name, r.Engine,
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
				t.Fatalf("bad size %q: want BATCHxLEN[+lora][+fp16][+ckpt][+miniN]", bs)
			}
			for _, o := range opts[1:] {
				switch {
				case o == "lora":
					c.LoRA = true
				case o == "fp16":
					c.FP16 = true
				case o == "ckpt":
					c.Checkpointing = true
				case strings.HasPrefix(o, "mini"):
					if _, err := fmt.Sscanf(o, "mini%d", &c.MiniBatch); err != nil || c.MiniBatch <= 0 {
						t.Fatalf("bad option %q in %q: want miniN, N > 0 (CachedMNRL's mini_batch_size)", o, bs)
					}
				default:
					t.Fatalf("bad option %q in %q: want lora, fp16, ckpt or miniN", o, bs)
				}
			}
			cases = append(cases, c)
		}
	}
	for _, c := range cases {
		r := measureMemory(t, c)
		out, _ := json.Marshal(r)
		fmt.Printf("RESULT %s\n", out)
		t.Logf("%s %dx%d lora=%v fp16=%v gradient_checkpointing=%v mini_batch_size=%d on %s: estimate %s, measured %s, ratio %.2f",
			r.Name, r.Batch, r.SeqLen, r.LoRA, r.FP16, r.Checkpointing, r.MiniBatch, r.Engine,
			memplan.FormatBytes(r.Estimate), memplan.FormatBytes(r.Peak), float64(r.Estimate)/float64(r.Peak))
	}
}

// TestMemoryCheckRefusesARunThatCannotFit starts a bge-base-en-v1.5-shaped run whose batch (512 pairs of
// 512 tokens) needs far more memory than any CI machine has: it is refused before the first step with
// the estimate, the memory available and what to change, and starts (to fail or not later) only with
// skip_memory_check. Which fixes fit depends on the machine's memory: TestCheckMemoryModelsCachedMNRLAndCheckpointing
// checks them under fixed limits.
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
		"up to 512 tokens", "skip_memory_check", SkipMemoryCheckEnv} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the refusal lacks %q:\n%v", want, err)
		}
	}
	if entries, _ := os.ReadDir(args.OutputDir); len(entries) > 1 { // the lock file at most
		t.Errorf("a refused run wrote into output_dir: %v", entries)
	}
}

// fakeCgroup writes, into a new folder it returns, a machine whose process is in a control group limited to limit
// bytes (cgroup v1 or v2, nothing used yet) on a machine with 64 GiB available.
func fakeCgroup(t *testing.T, v2 bool, limit int64) string {
	t.Helper()
	files := map[string]string{"proc/meminfo": "MemTotal: 67108864 kB\nMemAvailable: 67108864 kB\n"}
	if v2 {
		files["proc/self/cgroup"] = "0::/embedtune\n"
		files["sys/fs/cgroup/embedtune/memory.max"] = strconv.FormatInt(limit, 10)
		files["sys/fs/cgroup/embedtune/memory.current"] = "0"
	} else {
		files["proc/self/cgroup"] = "5:memory:/embedtune\n4:cpu,cpuacct:/\n"
		files["sys/fs/cgroup/memory/embedtune/memory.limit_in_bytes"] = strconv.FormatInt(limit, 10)
		files["sys/fs/cgroup/memory/embedtune/memory.usage_in_bytes"] = "0"
	}
	return testutil.WriteFiles(t, files)
}

// TestCheckMemoryModelsCachedMNRLAndCheckpointing runs the memory check of an all-MiniLM-L6-v2-shaped
// run, 64 pairs of 128 tokens, in a (fake) control group limited between the peaks measured for
// MNRL and for CachedMNRL with mini-batches of 8 (scripts/memplan_bench.sh, docs/reliability.md,
// on both engines): MNRL is refused, with CachedMNRL and gradient_checkpointing among the fixes;
// CachedMNRL and gradient checkpointing are accepted; under a tighter limit a run that has them
// on is refused without suggesting them again.
func TestCheckMemoryModelsCachedMNRLAndCheckpointing(t *testing.T) {
	c := miniLMShape
	c.Batch, c.SeqLen = 64, 128
	m, d := memoryModelAndData(t, c)
	const (
		limit = memoryDecisionLimit
		tight = memoryDecisionTight
	)
	mnrl := losses.MultipleNegativesRankingLoss(m)
	cached := func(n int) losses.Loss {
		return losses.CachedMultipleNegativesRankingLoss(m, losses.WithMiniBatchSize(n))
	}
	for _, tc := range []struct {
		name          string
		loss          losses.Loss
		checkpointing bool
		limit         int64
		want          []string // in the refusal; nil: accepted
		notWant       []string
	}{
		{"MNRL", mnrl, false, limit,
			[]string{"not enough memory", "64 rows", "CachedMultipleNegativesRankingLoss with mini_batch_size ", "gradient_checkpointing (each layer"}, nil},
		{"CachedMNRL mini_batch_size 8", cached(8), false, limit, nil, nil},
		{"MNRL with gradient_checkpointing", mnrl, true, limit, nil, nil},
		{"CachedMNRL mini_batch_size 8, tight limit", cached(8), false, tight,
			[]string{"in mini-batches of 8 (mini_batch_size)"}, []string{"CachedMultipleNegativesRankingLoss with"}},
		{"MNRL with gradient_checkpointing, tight limit", mnrl, true, tight,
			[]string{"with gradient_checkpointing"}, []string{"gradient_checkpointing (each layer"}},
	} {
		for _, v2 := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/cgroup v%d", tc.name, map[bool]int{false: 1, true: 2}[v2]), func(t *testing.T) {
				root := fakeCgroup(t, v2, tc.limit)
				a := TrainingArguments{PerDeviceTrainBatchSize: c.Batch, GradientAccumulationSteps: 1, GradientCheckpointing: tc.checkpointing}
				var logs bytes.Buffer
				r := &run{job: &job{model: m, args: &a, loss: tc.loss, logf: func(f string, x ...any) { fmt.Fprintf(&logs, f+"\n", x...) }},
					a: &a, memRoot: root}
				var err error
				if r.train, err = newTextTable("train dataset", d); err != nil {
					t.Fatal(err)
				}
				err = r.checkMemory()
				if tc.want == nil {
					if err != nil {
						t.Fatalf("refused under a %s limit: %v", memplan.FormatBytes(tc.limit), err)
					}
					return
				}
				if err == nil {
					t.Fatalf("accepted under a %s limit (%s)", memplan.FormatBytes(tc.limit), logs.String())
				}
				t.Log(err)
				wantSource := "cgroup v1 limit"
				if v2 {
					wantSource = "cgroup v2 limit"
				}
				for _, w := range append(tc.want, wantSource) {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("the refusal lacks %q:\n%v", w, err)
					}
				}
				for _, w := range tc.notWant {
					if strings.Contains(err.Error(), w) {
						t.Errorf("the refusal suggests %q again:\n%v", w, err)
					}
				}
			})
		}
	}
}

// The limits of TestCheckMemoryModelsCachedMNRLAndCheckpointing. Peaks measured for 64 pairs of 128
// tokens, all-MiniLM-L6-v2 shape (2-core machine, 2026-12-06; XLA CPU / pure Go): MNRL 5,156 / 5,128 MiB,
// gradient checkpointing 2,842 / 2,598 MiB, CachedMNRL mini_batch_size 8 1,320 / 1,328 MiB.
const (
	memoryDecisionLimit = 3584 << 20 // between MNRL's peak and the others'
	memoryDecisionTight = 1200 << 20 // below them all
)
