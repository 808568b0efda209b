package trainlib

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/embedtune/embedtune/internal/synth"
	"github.com/embedtune/embedtune/trainlib/datasets"
	"github.com/embedtune/embedtune/trainlib/losses"
	"github.com/embedtune/embedtune/trainlib/model"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// cachedBatch returns a tokenized batch of n rows: (question, context) pairs, plus a column of
// other contexts as hard negatives when negatives is set.
func cachedBatch(t *testing.T, m *model.SentenceTransformer, n int, negatives bool) (*batchTensors, int) {
	t.Helper()
	pairs := synth.Pairs(n, 1, 5)
	cols := [][]string{make([]string, n), make([]string, n)}
	for i, p := range pairs {
		cols[0][i], cols[1][i] = p.Question, p.Context
	}
	names := []string{"question", "context"}
	if negatives {
		neg := make([]string, n)
		for i := range neg {
			neg[i] = pairs[(i+1)%n].Context + " " + pairs[i].Question
		}
		cols, names = append(cols, neg), append(names, "negative")
	}
	var cs []datasets.NamedValues
	for i, c := range cols {
		cs = append(cs, datasets.Col(names[i], c))
	}
	d, err := datasets.FromColumns(cs...)
	if err != nil {
		t.Fatal(err)
	}
	table, err := newTextTable("test", d)
	if err != nil {
		t.Fatal(err)
	}
	args := DefaultTrainingArguments(t.TempDir())
	rows := make([]int, n)
	for i := range rows {
		rows[i] = i
	}
	b, err := table.batch(m, &args, rows)
	if err != nil {
		t.Fatal(err)
	}
	return b, len(cols)
}

// cachedGradients runs the GradCache stages of loss on b (loss scale 1, no accumulation) and returns
// the loss and the accumulated gradient of every trained tensor.
func cachedGradients(t *testing.T, m *model.SentenceTransformer, loss losses.Loss, b *batchTensors, numCols int, seed int64) (float64, []*tensors.Tensor) {
	t.Helper()
	args := DefaultTrainingArguments(t.TempDir())
	st, err := newStepper(m, loss, &args, numCols, false, dtypes.Float32, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.gc == nil {
		t.Fatalf("%s: no gradient cache", loss.Name())
	}
	ts := &trainState{lossScale: 1}
	if ts.rng, err = graph.RNGStateFromSeed(seed); err != nil {
		t.Fatal(err)
	}
	params := m.GraphParams()
	for _, i := range st.train {
		ts.acc = append(ts.acc, tensors.FromShape(params[i].Shape()))
	}
	value, err := st.accumulateCached(ts, b)
	if err != nil {
		t.Fatal(err)
	}
	return value, ts.acc
}

// plainGradients returns the loss and the gradients of the trained tensors in one pass, with
// dropout drawn from seed's RNG state (or none with seed < 0).
func plainGradients(t *testing.T, m *model.SentenceTransformer, loss losses.Loss, b *batchTensors, numCols int, seed int64) (float64, []*tensors.Tensor) {
	t.Helper()
	st := &stepper{m: m, structure: m, loss: loss, numCols: numCols, n: len(m.GraphParams()), accumSteps: 1, computeDType: dtypes.Float32}
	st.train, _ = m.Trainable()
	n := st.n
	in := weightsArgs(m.GraphParams())
	rng, err := graph.RNGStateFromSeed(max(seed, 0))
	if err != nil {
		t.Fatal(err)
	}
	in = append(in, rng)
	outs, err := graph.ExecOnceN(m.Backend(), func(in []*graph.Node) []*graph.Node {
		r := in[n]
		if seed < 0 {
			r = nil
		}
		grads, l, _ := st.gradients(in[:n], in[n+1:], r, graph.Scalar(in[0].Graph(), dtypes.Float32, 1), hyperNodes{})
		return append([]*graph.Node{l}, grads...)
	}, st.batchArgs(in, b)...)
	if err != nil {
		t.Fatal(err)
	}
	return float64(tensors.MustCopyFlatData[float32](outs[0])[0]), outs[1:]
}

// compareGradients compares the gradients of every trained tensor in the L2 norm: the whole
// gradient's relative difference ‖got − want‖ / ‖want‖ must be at most tol, and each tensor's at
// most tensorTol — float32 sums over rows whose terms cancel (e.g. the last LayerNorm's bias) change
// with the order of the additions, which mini-batches change. Tensors whose gradient vanishes (the
// attention key bias, whose effect the softmax cancels) are compared against the whole gradient's
// norm instead. It returns the whole gradient's and the worst tensor's relative difference.
func compareGradients(t *testing.T, m *model.SentenceTransformer, got, want []*tensors.Tensor, tol, tensorTol float64) (whole, worst float64) {
	t.Helper()
	names := m.GraphParamNames()
	train, _ := m.Trainable()
	diffs, norms := make([]float64, len(want)), make([]float64, len(want))
	var total, totalDiff float64
	for k := range want {
		w := tensors.MustCopyFlatData[float32](want[k])
		g := tensors.MustCopyFlatData[float32](got[k])
		for j := range w {
			d := float64(g[j] - w[j])
			diffs[k] += d * d
			norms[k] += float64(w[j]) * float64(w[j])
		}
		total += norms[k]
		totalDiff += diffs[k]
	}
	total, whole = math.Sqrt(total), math.Sqrt(totalDiff/total)
	if whole > tol {
		t.Errorf("the gradients differ by %.3g of their norm, more than %g", whole, tol)
	}
	for k := range want {
		d, n := math.Sqrt(diffs[k]), math.Sqrt(norms[k])
		if n < 1e-3*total { // A vanishing gradient: compared with the whole gradient's norm.
			if d > tol*total {
				t.Errorf("d loss/d %s: differs by %.3g (norm %.3g), more than %g of the whole gradient's norm %.3g", names[train[k]], d, n, tol, total)
			}
			continue
		}
		worst = math.Max(worst, d/n)
		if d > tensorTol*n {
			t.Errorf("d loss/d %s: relative difference %.3g > %g (norm %.3g)", names[train[k]], d/n, tensorTol, n)
		}
	}
	return whole, worst
}

// TestCachedMNRLMatchesMNRL checks that CachedMultipleNegativesRankingLoss gives MNRL's loss and
// gradients (relative 1e-5 for the loss and the whole gradient, 1e-4 per tensor) on the same batch
// without dropout, with mini-batches that divide the
// batch and that leave a smaller last one, with hard negatives, several directions and hardness
// weighting, a LoRA adapter, and gradient checkpointing on top.
func TestCachedMNRLMatchesMNRL(t *testing.T) {
	t.Parallel() // no t.Setenv, no timing, no process-wide counters: it may run beside the other parallel tests
	for _, c := range []struct {
		name       string
		rows, mb   int
		negatives  bool
		lora, ckpt bool
		opts       []losses.MNRLOption
	}{
		{name: "pairs-mini2", rows: 6, mb: 2},
		{name: "negatives-mini4-partial", rows: 6, mb: 4, negatives: true},
		{name: "mini-larger-than-batch", rows: 5, mb: 8},
		{name: "directions-hardness", rows: 6, mb: 4, negatives: true, opts: []losses.MNRLOption{
			losses.WithDirections(losses.QueryToDoc, losses.QueryToQuery, losses.DocToQuery, losses.DocToDoc),
			losses.WithHardness(losses.HardnessAllNegatives, 3)}},
		{name: "dot-per-direction", rows: 6, mb: 3, opts: []losses.MNRLOption{losses.WithSimilarity(losses.DotScore),
			losses.WithScale(1), losses.WithDirections(losses.QueryToDoc, losses.DocToQuery), losses.WithPartitionMode(losses.PartitionPerDirection)}},
		{name: "lora", rows: 6, mb: 4, lora: true},
		{name: "gradient-checkpointing", rows: 6, mb: 4, ckpt: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := tiny(t, "mean")
			m.Config.HiddenDropoutProb, m.Config.AttentionProbsDropoutProb = 0, 0
			if c.lora {
				if err := m.AddAdapter(model.LoRAConfig{R: 4, Alpha: 8, TargetModules: []string{"query", "value"}, Seed: 3}); err != nil {
					t.Fatal(err)
				}
				nonZeroLoRAB(m)
			}
			b, numCols := cachedBatch(t, m, c.rows, c.negatives)
			wantLoss, want := plainGradients(t, m, losses.MultipleNegativesRankingLoss(m, c.opts...), b, numCols, -1)
			cached := losses.CachedMultipleNegativesRankingLoss(m, append(c.opts, losses.WithMiniBatchSize(c.mb))...)
			if err := cached.Validate(numCols, false); err != nil {
				t.Fatal(err)
			}
			var gotLoss float64
			var got []*tensors.Tensor
			if c.ckpt {
				args := DefaultTrainingArguments(t.TempDir())
				args.GradientCheckpointing = true
				st, err := newStepper(m, cached, &args, numCols, false, dtypes.Float32, nil)
				if err != nil {
					t.Fatal(err)
				}
				ts := &trainState{lossScale: 1}
				ts.rng, _ = graph.RNGStateFromSeed(1)
				for _, i := range st.train {
					ts.acc = append(ts.acc, tensors.FromShape(m.GraphParams()[i].Shape()))
				}
				if gotLoss, err = st.accumulateCached(ts, b); err != nil {
					t.Fatal(err)
				}
				got = ts.acc
			} else {
				gotLoss, got = cachedGradients(t, m, cached, b, numCols, 1)
			}
			if math.Abs(gotLoss-wantLoss) > 1e-5*math.Abs(wantLoss) {
				t.Errorf("loss %.8g, MNRL %.8g", gotLoss, wantLoss)
			}
			whole, worst := compareGradients(t, m, got, want, 1e-5, 1e-4)
			t.Logf("loss %.6f = MNRL %.6f; %d gradients, relative difference %.2g (worst tensor %.2g)", gotLoss, wantLoss, len(want), whole, worst)
		})
	}
}

// nonZeroLoRAB gives the adapter's B matrices non-zero values (they start at zero), so that
// gradients reach A too.
func nonZeroLoRAB(m *model.SentenceTransformer) {
	for i, name := range m.Adapter.Weights.Names {
		if strings.Contains(name, "lora_B") {
			vals := tensors.MustCopyFlatData[float32](m.Adapter.Weights.Values[i])
			for j := range vals {
				vals[j] = float32((j*31)%7-3) * 0.02
			}
			m.Adapter.Weights.Values[i] = tensors.FromFlatDataAndDimensions(vals, m.Adapter.Weights.Shapes[i]...)
		}
	}
}

// TestCachedMNRLReplaysDropout checks that with dropout on, the second embedding pass of every
// mini-batch draws the same dropout masks as the first: the cached gradients equal those of one
// graph that embeds the mini-batches in the same order from the same RNG state and
// differentiates the loss directly — and differ from those of another RNG state.
func TestCachedMNRLReplaysDropout(t *testing.T) {
	t.Parallel() // no t.Setenv, no timing, no process-wide counters: it may run beside the other parallel tests
	m := tiny(t, "mean")
	if m.Config.HiddenDropoutProb == 0 {
		t.Fatal("the tiny model has no dropout")
	}
	const mb = 4
	b, numCols := cachedBatch(t, m, 6, true)
	loss := losses.CachedMultipleNegativesRankingLoss(m, losses.WithMiniBatchSize(mb))
	gotLoss, got := cachedGradients(t, m, loss, b, numCols, 11)
	gc := &gradCache{mb: mb, maxLen: m.MaxSeqLength}
	minis, err := gc.split(b)
	if err != nil {
		t.Fatal(err)
	}
	reference := func(seed int64) (float64, []*tensors.Tensor) {
		st := &stepper{m: m, structure: m, loss: loss, numCols: numCols, n: len(m.GraphParams()), accumSteps: 1, computeDType: dtypes.Float32}
		st.train, _ = m.Trainable()
		n := st.n
		in := weightsArgs(m.GraphParams())
		rng, _ := graph.RNGStateFromSeed(seed)
		in = append(in, rng)
		for c := range minis {
			for _, x := range minis[c] {
				in = append(in, x.ids, x.mask, x.promptLen)
			}
		}
		outs, err := graph.ExecOnceN(m.Backend(), func(in []*graph.Node) []*graph.Node {
			params, r, rest := in[:n], in[n], in[n+1:]
			var embs []*graph.Node
			for k := 0; k < len(rest); k += 3 {
				var e *graph.Node
				e, r = st.embedColumn(params, rest[k], rest[k+1], rest[k+2], r, false)
				embs = append(embs, e)
			}
			l := loss.Compute(st.concatColumns(embs), nil)
			return append([]*graph.Node{l}, graph.Gradient(l, st.trained(params)...)...)
		}, in...)
		if err != nil {
			t.Fatal(err)
		}
		return float64(tensors.MustCopyFlatData[float32](outs[0])[0]), outs[1:]
	}
	wantLoss, want := reference(11)
	if math.Abs(gotLoss-wantLoss) > 1e-5*math.Abs(wantLoss) {
		t.Errorf("loss %.8g, reference %.8g", gotLoss, wantLoss)
	}
	rel, _ := compareGradients(t, m, got, want, 1e-5, 1e-4)
	otherLoss, _ := reference(12)
	if math.Abs(otherLoss-gotLoss) < 1e-4 {
		t.Errorf("another RNG state gives the same loss (%.6g): dropout is not in effect", otherLoss)
	}
	t.Logf("loss %.6f = reference %.6f (another RNG state: %.6f); worst relative gradient difference %.2g", gotLoss, wantLoss, otherLoss, rel)
}

// TestGradCacheSplitTrimsPadding checks the mini-batches: rows in order, each padded to its own
// length bucket, the last one smaller.
func TestGradCacheSplitTrimsPadding(t *testing.T) {
	m := tiny(t, "mean")
	short := []string{"a b", "c d", "e f"}
	long := strings.Repeat("word ", 40)
	d, err := datasets.FromColumns(datasets.Col("q", append(short, long, "g")), datasets.Col("c", []string{"x", "y", "z", "w", "v"}))
	if err != nil {
		t.Fatal(err)
	}
	table, err := newTextTable("test", d)
	if err != nil {
		t.Fatal(err)
	}
	args := DefaultTrainingArguments(filepath.Join(t.TempDir(), "out"))
	b, err := table.batch(m, &args, []int{0, 1, 2, 3, 4})
	if err != nil {
		t.Fatal(err)
	}
	gc := &gradCache{mb: 3, maxLen: m.MaxSeqLength}
	minis, err := gc.split(b)
	if err != nil {
		t.Fatal(err)
	}
	full := b.ids[0].Shape().Dimensions
	if full[1] <= 16 {
		t.Fatalf("the batch is padded to %d tokens; the test needs a long row", full[1])
	}
	wantDims := [][]int{{3, 16}, {2, full[1]}}
	all := tensors.MustCopyFlatData[int32](b.ids[0])
	for j, x := range minis[0] {
		dims := x.ids.Shape().Dimensions
		if dims[0] != wantDims[j][0] || dims[1] != wantDims[j][1] {
			t.Fatalf("mini-batch %d of column 0 has shape %v, want %v", j, dims, wantDims[j])
		}
		ids := tensors.MustCopyFlatData[int32](x.ids)
		for r := 0; r < dims[0]; r++ {
			for k := 0; k < dims[1]; k++ {
				if ids[r*dims[1]+k] != all[(3*j+r)*full[1]+k] {
					t.Fatalf("mini-batch %d row %d token %d differs from the batch", j, r, k)
				}
			}
		}
	}
	if len(minis[1]) != 2 || minis[1][0].ids.Shape().Dimensions[1] != 16 {
		t.Errorf("column 1 mini-batches: %d, first %v", len(minis[1]), minis[1][0].ids.Shape())
	}
}

// TestCachedMNRLTrainsLikeMNRL trains three steps with gradient accumulation (2 micro-batches of
// 6) with MNRL and with CachedMultipleNegativesRankingLoss (mini-batches of 4), without dropout:
// the logged losses and gradient norms agree; and a cached run with dropout resumed from a
// checkpoint ends with exactly the weights of an uninterrupted one (the RNG state that the
// mini-batches replay is part of the checkpoint).
func TestCachedMNRLTrainsLikeMNRL(t *testing.T) {
	t.Parallel() // no t.Setenv, no timing, no process-wide counters: it may run beside the other parallel tests
	train := pairsDataset(t, synth.Pairs(40, 2, 3))
	run := func(cached, dropout bool, out string, maxSteps int, resume string) (*Trainer, []map[string]float64) {
		m := tiny(t, "mean")
		if !dropout {
			m.Config.HiddenDropoutProb, m.Config.AttentionProbsDropoutProb = 0, 0
		}
		var loss losses.Loss = losses.MultipleNegativesRankingLoss(m)
		if cached {
			loss = losses.CachedMultipleNegativesRankingLoss(m, losses.WithMiniBatchSize(4))
		}
		args := TrainingArguments{OutputDir: out, MaxSteps: maxSteps, PerDeviceTrainBatchSize: 6, GradientAccumulationSteps: 2,
			LearningRate: 1e-4, LoggingSteps: 1, SaveSteps: 2, Seed: 5}
		tr, err := NewTrainer(m, args, train, nil, loss, WithoutProgress())
		if err != nil {
			t.Fatal(err)
		}
		var opts []TrainOption
		if resume != "" {
			opts = append(opts, ResumeFrom(resume))
		}
		if _, err := tr.Train(opts...); err != nil {
			t.Fatal(err)
		}
		var logs []map[string]float64
		for _, e := range tr.State.LogHistory {
			if _, ok := e["grad_norm"]; ok {
				logs = append(logs, e)
			}
		}
		return tr, logs
	}
	_, plain := run(false, false, filepath.Join(t.TempDir(), "mnrl"), 3, "")
	_, cached := run(true, false, filepath.Join(t.TempDir(), "cached"), 3, "")
	if len(plain) != 3 || len(cached) != 3 {
		t.Fatalf("logged %d and %d steps", len(plain), len(cached))
	}
	for i := range plain {
		for _, k := range []string{"loss", "grad_norm"} {
			if d := math.Abs(cached[i][k] - plain[i][k]); d > 1e-4*math.Abs(plain[i][k]) {
				t.Errorf("step %d: %s %.7g, MNRL %.7g", i+1, k, cached[i][k], plain[i][k])
			}
		}
	}
	full := filepath.Join(t.TempDir(), "full")
	want, _ := run(true, true, full, 4, "")
	interrupted := filepath.Join(t.TempDir(), "interrupted")
	if err := os.CopyFS(interrupted, os.DirFS(full)); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"checkpoint-4", "model.safetensors"} {
		if err := os.RemoveAll(filepath.Join(interrupted, f)); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := run(true, true, interrupted, 4, filepath.Join(interrupted, "checkpoint-2"))
	for i, w := range want.Model.Weights.Values {
		a, b := tensors.MustCopyFlatData[float32](w), tensors.MustCopyFlatData[float32](got.Model.Weights.Values[i])
		if !slices.Equal(a, b) {
			t.Fatalf("%s differs after resuming", want.Model.Weights.Names[i])
		}
	}
}
