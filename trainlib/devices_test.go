package trainlib

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/embedtune/embedtune/internal/synth"
	"github.com/embedtune/embedtune/internal/testutil"
	"github.com/embedtune/embedtune/trainlib/backend"
	"github.com/embedtune/embedtune/trainlib/datasets"
	"github.com/embedtune/embedtune/trainlib/evaluation"
	"github.com/embedtune/embedtune/trainlib/losses"
	"github.com/embedtune/embedtune/trainlib/model"
	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/tensors"
)

// hostDevices is testutil.HostDevices.
func hostDevices(t *testing.T, n int) compute.Backend { return testutil.HostDevices(t, n) }

// tinyOn is the tiny test model on backend b, without dropout (so runs on different device
// counts compute the same function).
func tinyOn(t *testing.T, b compute.Backend) *model.SentenceTransformer {
	t.Helper()
	m, err := synth.TinyModel(filepath.Join(t.TempDir(), "tok"), "mean", 1, model.WithLogger(nil), model.WithBackend(b))
	if err != nil {
		t.Fatal(err)
	}
	m.Config.HiddenDropoutProb, m.Config.AttentionProbsDropoutProb = 0, 0
	m.MaxSeqLength = 8 // one padded length for every batch: one compilation per graph (CI time)
	return m
}

// parallelRun describes one training run for the device tests.
type parallelRun struct {
	devices, perDevice, accum int
	gather, symmetric         bool
	// eval adds an eval dataset of 18 rows (eval batches of 4: 4, 4, 4, 4, 2) and an IR evaluator
	// (deviceRecorder), evaluated every 2 steps.
	eval bool
}

// deviceRecorder is an IR evaluator that records on how many devices the model encodes.
type deviceRecorder struct {
	*evaluation.InformationRetrievalEvaluator
	devices []int
}

func (r *deviceRecorder) Evaluate(ctx context.Context, m evaluation.Encoder) (map[string]float64, error) {
	if st, ok := m.(*model.SentenceTransformer); ok {
		r.devices = append(r.devices, st.EncodeDevices())
	}
	return r.InformationRetrievalEvaluator.Evaluate(ctx, m)
}

// train runs steps optimizer steps (saving every 2 when out is given) and returns the per-step
// losses and the final weights.
func (p parallelRun) train(t *testing.T, b compute.Backend, out string, steps int, opts ...TrainOption) ([]float64, []float32, *Trainer) {
	t.Helper()
	m := tinyOn(t, b)
	if out == "" {
		out = t.TempDir()
	}
	args := TrainingArguments{OutputDir: out, MaxSteps: steps, PerDeviceTrainBatchSize: p.perDevice, NumDevices: p.devices,
		GradientAccumulationSteps: p.accum, LearningRate: 1e-3, LoggingSteps: 1, SaveSteps: 2, Seed: 7}
	loss := losses.MultipleNegativesRankingLoss(m, losses.WithGatherAcrossDevices(p.gather))
	if p.symmetric {
		loss = losses.MultipleNegativesSymmetricRankingLoss(m, losses.WithGatherAcrossDevices(p.gather))
	}
	var evalData *datasets.Dataset
	var topts []TrainerOption
	if p.eval {
		evalData = pairsDataset(t, synth.Pairs(9, 2, 5))
		topts = append(topts, WithEvaluator(&deviceRecorder{InformationRetrievalEvaluator: irEvaluator(t, evalData, "dev")}))
		args.EvalStrategy, args.EvalSteps, args.PerDeviceEvalBatchSize = "steps", 2, 4
	}
	tr, err := NewTrainer(m, args, pairsDataset(t, synth.Pairs(48, 2, 3)), evalData, loss, append(topts, WithoutProgress())...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Train(opts...); err != nil {
		t.Fatalf("%+v: %v", p, err)
	}
	var ls []float64
	for _, h := range tr.State.LogHistory {
		if l, ok := h["loss"]; ok {
			ls = append(ls, l)
		}
	}
	w := tensors.MustCopyFlatData[float32](m.Weights.Values[m.Weights.Index("encoder.layer.1.output.dense.weight")])
	return ls, w, tr
}

func closeTo(t *testing.T, what string, got, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d losses, want %d", what, len(got), len(want))
	}
	for i := range got {
		if math.Abs(got[i]-want[i]) > tol {
			t.Errorf("%s: step %d loss %.8f, want %.8f (±%g)", what, i+1, got[i], want[i], tol)
		}
	}
}

// TestDataParallelTraining checks the SPMD data-parallel step on the XLA CPU host devices against
// single-device training: with gather_across_devices the per-step losses equal those of one device
// holding the whole global batch; without it, those of one device running the per-device batches
// as gradient-accumulation micro-batches (the mean of the per-device losses and gradients). The
// fused step on 2 devices is checked by TestDataParallelResume.
func TestDataParallelTraining(t *testing.T) {
	b := hostDevices(t, 4)
	const steps = 3
	for _, c := range []struct {
		name     string
		run, ref parallelRun
	}{
		// num_devices 0: all 4 devices; accumulation runs the SPMD accumulate and update graphs.
		{"gather/symmetric/all devices/accumulation", parallelRun{devices: 0, perDevice: 2, accum: 2, gather: true, symmetric: true}, parallelRun{devices: 1, perDevice: 8, accum: 2, symmetric: true}},
		{"no gather/4 devices", parallelRun{devices: 4, perDevice: 2, accum: 1}, parallelRun{devices: 1, perDevice: 2, accum: 4}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, _, tr := c.run.train(t, b, "", steps)
			want, _, _ := c.ref.train(t, b, "", steps)
			t.Logf("losses %v, reference %v", got, want)
			closeTo(t, c.name, got, want, 1e-5)
			n := c.run.devices
			if n == 0 {
				n = 4
			}
			if tr.State.TrainBatchSize != c.run.perDevice*n {
				t.Errorf("train_batch_size %d, want %d", tr.State.TrainBatchSize, c.run.perDevice*n)
			}
		})
	}
}

// TestDataParallelResume checks MNRL with gather_across_devices on 2 devices against one device
// with the whole batch, and that checkpoints stay in the single-device format: the 2-device run's
// checkpoint resumes bit-exactly on 2 devices and within float tolerance on 1 device with the same
// global batch.
func TestDataParallelResume(t *testing.T) {
	b := hostDevices(t, 4)
	two := parallelRun{devices: 2, perDevice: 4, accum: 1, gather: true}
	one := parallelRun{devices: 1, perDevice: 8, accum: 1, gather: true}
	out := t.TempDir()
	full, wFull, _ := two.train(t, b, out, 4)
	ref, _, _ := one.train(t, b, "", 4)
	t.Logf("losses %v, reference %v", full, ref)
	closeTo(t, "gather/2 devices", full, ref, 1e-5)
	ck := filepath.Join(out, "checkpoint-2")
	for _, c := range []struct {
		name  string
		run   parallelRun
		exact bool
	}{
		{"2 devices", two, true},
		{"1 device", one, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, w, _ := c.run.train(t, b, "", 4, ResumeFrom(ck))
			got = got[len(got)-2:]
			if c.exact {
				for i := range got {
					if got[i] != full[2+i] {
						t.Errorf("step %d: resumed loss %v, uninterrupted %v (want bit-identical)", 3+i, got[i], full[2+i])
					}
				}
				for i := range w {
					if w[i] != wFull[i] {
						t.Fatalf("weight %d: resumed %v, uninterrupted %v (want bit-identical)", i, w[i], wFull[i])
					}
				}
				return
			}
			closeTo(t, c.name, got, full[2:], 1e-5)
		})
	}
}

// TestDataParallelErrors checks the refusals name the fields and numbers.
func TestDataParallelErrors(t *testing.T) {
	goB, err := backend.New("go")
	if err != nil {
		t.Fatal(err)
	}
	type errorCase = struct {
		name string
		b    compute.Backend
		run  parallelRun
		rows int
		want string
		loss string // "" (MNRL), "cached", "matryoshka"
	}
	cases := []errorCase{
		{"pure Go", goB, parallelRun{devices: 2, perDevice: 4, accum: 1}, 16, "pure-Go backend has one device", ""},
	}
	if c, err := backend.Choose(); err == nil && c.Engine == backend.EngineCPU {
		b := hostDevices(t, 4)
		cases = append(cases,
			errorCase{"too many", b, parallelRun{devices: 8, perDevice: 4, accum: 1}, 16, "num_devices is 8 but the backend has 4 device(s)", ""},
			errorCase{"uneven last batch", b, parallelRun{devices: 4, perDevice: 4, accum: 1}, 18, "a batch of 2 rows", ""},
			errorCase{"GradCache", b, parallelRun{devices: 2, perDevice: 4, accum: 1}, 16, "set num_devices to 1", "cached"},
			errorCase{"gather inside Matryoshka", b, parallelRun{devices: 2, perDevice: 4, accum: 1}, 16, "cannot gather across devices", "matryoshka"})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := tinyOn(t, c.b)
			args := TrainingArguments{OutputDir: t.TempDir(), MaxSteps: 1, PerDeviceTrainBatchSize: c.run.perDevice, NumDevices: c.run.devices}
			var loss losses.Loss = losses.MultipleNegativesRankingLoss(m)
			switch c.loss {
			case "cached":
				loss = losses.CachedMultipleNegativesRankingLoss(m, losses.WithMiniBatchSize(2))
			case "matryoshka":
				loss = losses.MatryoshkaLoss(m, losses.MultipleNegativesRankingLoss(m, losses.WithGatherAcrossDevices(true)), []int{32, 16})
			}
			tr, err := NewTrainer(m, args, pairsDataset(t, synth.Pairs(c.rows, 1, 3)), nil, loss, WithoutProgress())
			if err == nil {
				_, err = tr.Train()
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
	if _, err := BuildLoss(nil, map[string]any{"name": "CoSENTLoss", "gather_across_devices": true}); err == nil || !strings.Contains(err.Error(), "gather_across_devices") {
		t.Errorf("CoSENTLoss with gather_across_devices: %v", err)
	}
	a, err := LoadTrainingArguments("args.yaml", []byte("output_dir: x\nnum_devices: -1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.resolved(); err == nil || !strings.Contains(err.Error(), "num_devices") {
		t.Errorf("num_devices -1: %v", err)
	}
}

// TestDataParallelEvaluation checks evaluation during a 2-device run against the same run on one
// device (gather_across_devices, the same global batch, so the same weights): the eval loss (eval
// batches two at a time, one per device, and the shorter last one alone) and the evaluator's metrics
// (the model encodes data-parallel) agree within 1e-5, the evaluator saw the model on 2 devices,
// and the model encodes on one device again after the run.
func TestDataParallelEvaluation(t *testing.T) {
	b := hostDevices(t, 2)
	evals := func(tr *Trainer) []map[string]float64 {
		var out []map[string]float64
		for _, h := range tr.State.LogHistory {
			if _, ok := h["eval_loss"]; ok {
				out = append(out, h)
			}
		}
		return out
	}
	_, _, two := parallelRun{devices: 2, perDevice: 4, accum: 1, gather: true, eval: true}.train(t, b, "", 4)
	_, _, one := parallelRun{devices: 1, perDevice: 8, accum: 1, gather: true, eval: true}.train(t, b, "", 4)
	got, want := evals(two), evals(one)
	if len(got) != 2 || len(want) != 2 {
		t.Fatalf("%d and %d evaluations, want 2 each", len(got), len(want))
	}
	for i := range got {
		for k, w := range want[i] {
			if strings.HasSuffix(k, "_runtime") || strings.HasSuffix(k, "_per_second") {
				continue
			}
			if g, ok := got[i][k]; !ok || math.Abs(g-w) > 1e-5 {
				t.Errorf("evaluation %d: %s = %v on 2 devices, %v on one", i+1, k, g, w)
			}
		}
	}
	t.Logf("2 devices: %v", got[len(got)-1])
	if d := two.Evaluator.(*deviceRecorder).devices; len(d) != 2 || d[0] != 2 || d[1] != 2 {
		t.Errorf("the evaluator saw the model encode on %v devices, want [2 2]", d)
	}
	if n, err := two.Devices(); n != 2 || err != nil {
		t.Errorf("Trainer.Devices() = %d, %v; want 2", n, err)
	}
	if n := two.Model.EncodeDevices(); n != 1 {
		t.Errorf("after the run the model encodes on %d devices, want 1", n)
	}
}
