package main

import (
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"slices"
	"time"

	"github.com/embedtune/embedtune/trainlib"
	"github.com/embedtune/embedtune/trainlib/backend"
	"github.com/embedtune/embedtune/trainlib/bert"
	"github.com/embedtune/embedtune/trainlib/datasets"
	"github.com/embedtune/embedtune/trainlib/losses"
	"github.com/embedtune/embedtune/trainlib/model"
)

// estimate is what `embedtune estimate` measures and derives.
type estimate struct {
	Backend string `json:"backend"`
	Model   string `json:"model"`
	Params  int    `json:"params"`
	// FirstStepSeconds includes compiling the training step; StepSeconds is the median of the next steps.
	FirstStepSeconds float64 `json:"first_step_seconds"`
	StepSeconds      float64 `json:"step_seconds"`
	// PassagesPerSecond is Encode's throughput on the dataset's contexts (evaluations encode the corpus).
	PassagesPerSecond float64 `json:"passages_per_second"`
	// BgeBaseStepSeconds scales StepSeconds by the per-token compute of BAAI/bge-base-en-v1.5 over this
	// model's; BgeBase332Seconds is the tutorial's 332 steps at that pace (training steps only).
	ComputeRatio       float64 `json:"bge_base_compute_ratio"`
	BgeBaseStepSeconds float64 `json:"bge_base_step_seconds"`
	BgeBase332Seconds  float64 `json:"bge_base_332_steps_seconds"`
}

// runEstimate: embedtune estimate --model M --dataset D [--steps N] [--batch 16].
func runEstimate(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("estimate", "--model ID_OR_DIR --dataset FILE_OR_ID [--steps 3] [--batch 16]", stderr)
	modelName := fs.String("model", "", "model to time (Hub id or folder)")
	dataset := fs.String("dataset", "", "question/context pairs (file, folder or Hub id)")
	steps := fs.Int("steps", 3, "training steps timed after the first (which compiles)")
	batch := fs.Int("batch", 16, "per_device_train_batch_size")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *modelName == "" || *dataset == "" || *steps < 1 || *batch < 2 {
		return errors.New("--model and --dataset are required; --steps ≥ 1, --batch ≥ 2")
	}
	m, err := model.Load(*modelName, model.WithLogger(nil))
	if err != nil {
		return err
	}
	ds, err := trainlib.LoadDataset(*dataset, datasets.WithSplit("train"))
	if err != nil {
		return err
	}
	pairs, err := ds.Select("question", "context")
	if err != nil {
		return err
	}
	out, err := os.MkdirTemp("", "embedtune-estimate-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(out)
	args2 := trainlib.TrainingArguments{OutputDir: out, MaxSteps: 1 + *steps, PerDeviceTrainBatchSize: *batch,
		LearningRate: 1e-9, BatchSampler: "no_duplicates", SaveStrategy: trainlib.SaveStrategyNo, LoggingSteps: 1000}
	timer := &stepTimer{}
	tr, err := trainlib.NewTrainer(m, args2, pairs, nil, losses.MultipleNegativesRankingLoss(m),
		trainlib.WithoutProgress(), trainlib.WithCallbacks(timer))
	if err != nil {
		return err
	}
	start := time.Now()
	timer.last = start
	if _, err := tr.Train(); err != nil {
		return err
	}
	e := estimate{Model: *modelName, Params: m.Weights.NumParams(), FirstStepSeconds: timer.steps[0]}
	e.StepSeconds = median(timer.steps[1:])
	if b, err := backend.Default(); err == nil {
		e.Backend = backend.Describe(b)
	}
	col, err := pairs.Column("context")
	if err != nil {
		return err
	}
	var texts []string
	seen := map[string]bool{}
	for i := 0; i < pairs.Len() && len(texts) < 96; i++ {
		if c := col.Str(i); !seen[c] {
			seen[c] = true
			texts = append(texts, c)
		}
	}
	if _, err := m.Encode(texts[:min(8, len(texts))], nil); err != nil { // compiles
		return err
	}
	t0 := time.Now()
	if _, err := m.Encode(texts, nil); err != nil {
		return err
	}
	e.PassagesPerSecond = float64(len(texts)) / time.Since(t0).Seconds()
	base := bert.DefaultConfig() // bert-base: bge-base-en-v1.5's architecture
	e.ComputeRatio = tokenCompute(&base, m.MaxSeqLength) / tokenCompute(m.Config, m.MaxSeqLength)
	e.BgeBaseStepSeconds = e.StepSeconds * e.ComputeRatio
	e.BgeBase332Seconds = 332 * e.BgeBaseStepSeconds
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(e)
}

// tokenCompute is the forward FLOPs per token of a BERT encoder at sequence length seq (capped at 256, the
// passages' length): 2·(weights of the layers) + the attention products.
func tokenCompute(c *bert.Config, seq int) float64 {
	seq = min(seq, 256)
	h, l := float64(c.HiddenSize), float64(c.NumHiddenLayers)
	weights := l * (4*h*h + 2*h*float64(c.IntermediateSize))
	return 2*weights + l*4*h*float64(seq)
}

type stepTimer struct {
	trainlib.BaseCallback
	last  time.Time
	steps []float64
}

func (t *stepTimer) OnStepEnd(*trainlib.TrainerState, *trainlib.TrainingArguments) {
	now := time.Now()
	t.steps = append(t.steps, now.Sub(t.last).Seconds())
	t.last = now
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
