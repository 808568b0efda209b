package trainlib

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"

	"github.com/embedtune/embedtune/trainlib/bert"
	"github.com/embedtune/embedtune/trainlib/losses"
	"github.com/embedtune/embedtune/trainlib/model"
	"github.com/embedtune/embedtune/trainlib/optim"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/graph"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
)

// batchTensors is one tokenized batch: per text column the ids and mask [B, L_c] and the prompt
// length (for Pooling with include_prompt=false), plus labels [B] when the data has them.
type batchTensors struct {
	ids, masks []*tensors.Tensor
	promptLens []int32
	labels     *tensors.Tensor
	rows       int
}

// stepper compiles and runs the training computations. Graph inputs are laid out as
//
//	fused:  params, m, v, lr, step, rng, lossScale, hyper…, batch… → trained', m', v', rng', loss, gradNorm, finite
//	accum:  params, acc, rng, lossScale, hyper…, batch…             → acc', rng', loss
//	update: trained, m, v, acc, lr, step, lossScale, hyper…         → trained', m', v', gradNorm, finite
//	eval:   params, hyper…, batch…                                  → loss
//
// where params are all the model's graph parameters (model.GraphParams), trained the subset that
// training updates (model.Trainable: every weight, or only a LoRA adapter's) with its AdamW
// moments m, v and accumulators acc, hyper… the run's scalar hyperparameters (see hyperValues), and
// batch… is, per text column, ids and mask, then the labels (if any), then one prompt length per
// column. Gradients are of loss·lossScale/accumulationSteps and are unscaled before clipping; a step
// whose loss or gradients are not finite leaves parameters and moments unchanged.
//
// Everything that does not change the graph's structure is a graph input, never a constant: the
// learning rate, AdamW's betas, epsilon and weight decay, the clipping norm, the loss's scale (for
// losses.Scaled) and the LoRA scaling. Runs that differ only in those values therefore share one
// stepper through a GraphCache and compile once (see stepperKey).
type stepper struct {
	m            *model.SentenceTransformer // the run's model (bound by acquire)
	structure    *model.SentenceTransformer // what the graphs are built on (no tensors)
	loss         losses.Loss                // the run's loss (bound by acquire)
	hyper        []float32                  // the run's hyperValues (bound by acquire)
	computeDType dtypes.DType
	checkpoint   bool // gradient_checkpointing
	noDropout    bool // compute gradients without dropout (Gradients)
	accumSteps   int
	clip         bool // max_grad_norm > 0
	weightDecay  bool // weight_decay != 0
	numCols      int
	hasLabels    bool
	n            int   // graph parameters
	train        []int // indices of the trained ones
	decay        []bool
	key          string      // stepperKey; "" when not shared
	cache        *GraphCache // where it is returned after the run, or nil
	builds       func()      // counts a graph build (nil: not counted)

	fused, accum, update, eval *graph.Exec
	evalN                      *graph.Exec // eval loss on the devices' mesh (devices.go); nil on one
	gc                         *gradCache  // GradCache losses (gradcache.go); nil otherwise
	dev                        *devices    // data-parallel over several devices (devices.go); nil on one
	// keepInputs turns donation off (InterruptInFlight).
	keepInputs bool
}

// numHyper is the number of hyper… inputs: AdamW's (optim.AdamWConfig.Values), the clipping norm,
// the loss's scale and the LoRA scaling.
const numHyper = 9

// hyperValues returns the hyper… inputs of a run.
func hyperValues(m *model.SentenceTransformer, loss losses.Loss, args *TrainingArguments) []float32 {
	adam := optim.AdamWConfig{Beta1: args.AdamBeta1, Beta2: args.AdamBeta2, Epsilon: args.AdamEpsilon, WeightDecay: args.WeightDecay}
	h := append(adam.Values(), float32(args.MaxGradNorm), 1, 1)
	if l, ok := loss.(losses.Scaled); ok {
		h[7] = float32(l.LogitScale())
	}
	if m.Adapter != nil {
		h[8] = float32(m.Adapter.Scaling())
	}
	return h
}

// stepperKey identifies a stepper's graphs: runs with equal keys can share compiled graphs. It
// holds the model's structure, the loss's type and configuration (less the scale of a
// losses.Scaled), and the arguments that shape the graphs.
func stepperKey(m *model.SentenceTransformer, loss losses.Loss, args *TrainingArguments, numCols int, hasLabels bool, computeDType dtypes.DType) (string, error) {
	mk, err := m.StructureKey()
	if err != nil {
		return "", err
	}
	cfg := maps.Clone(loss.Config())
	if _, ok := loss.(losses.Scaled); ok && losses.MiniBatchSize(loss) == 0 {
		delete(cfg, "scale") // a graph input (the GradCache graphs keep the scale a constant)
	}
	var lora any
	if m.Adapter != nil && losses.MiniBatchSize(loss) > 0 {
		lora = m.Adapter.Scaling() // a constant of the GradCache graphs
	}
	_, noDecay := m.Trainable()
	k, err := json.Marshal(map[string]any{"model": mk, "loss": fmt.Sprintf("%T", loss), "loss_config": cfg,
		"dtype": computeDType.String(), "accum": args.GradientAccumulationSteps, "clip": args.MaxGradNorm > 0,
		"weight_decay": args.WeightDecay != 0, "columns": numCols, "labels": hasLabels, "no_decay": noDecay,
		"gradient_checkpointing": args.GradientCheckpointing, "gradcache_lora_scaling": lora, "devices": numDevicesKey(m, args)})
	if err != nil {
		return "", fmt.Errorf("training graph key: %w", err)
	}
	return string(k), nil
}

// acquireStepper returns the stepper of a run: from the cache when one of the same key is free
// (its compiled graphs are reused), else a new one. release gives it back.
func acquireStepper(cache *GraphCache, m *model.SentenceTransformer, loss losses.Loss, args *TrainingArguments, numCols int, hasLabels bool, computeDType dtypes.DType) (*stepper, error) {
	key := ""
	if cache != nil {
		var err error
		if key, err = stepperKey(m, loss, args, numCols, hasLabels, computeDType); err != nil {
			return nil, err
		}
		if s := cache.take(key); s != nil {
			s.bind(m, loss, args)
			return s, nil
		}
	}
	s, err := newStepper(m, loss, args, numCols, hasLabels, computeDType, cache)
	if err != nil {
		return nil, err
	}
	s.key = key
	return s, nil
}

// bind points the stepper at a run's model, loss and hyperparameters.
func (s *stepper) bind(m *model.SentenceTransformer, loss losses.Loss, args *TrainingArguments) {
	s.m, s.loss, s.hyper = m, loss, hyperValues(m, loss, args)
}

// release ends the run's use of the stepper: a shared one goes back to its cache, unbound (so that it
// keeps no model alive), others are finalized.
func (s *stepper) release() {
	s.m, s.loss = nil, nil
	if s.dev != nil {
		s.dev.replicas, s.dev.synced = nil, nil // the other devices' copies of this run's state
	}
	if s.cache != nil && s.key != "" {
		s.cache.put(s.key, s)
		return
	}
	execs := []*graph.Exec{s.fused, s.accum, s.update, s.eval, s.evalN}
	if s.gc != nil {
		execs = append(execs, s.gc.embedTrain, s.gc.lossGrad, s.gc.accum, s.gc.embedEval, s.gc.lossEval)
	}
	for _, e := range execs {
		if e != nil {
			e.Finalize()
		}
	}
}

func newStepper(m *model.SentenceTransformer, loss losses.Loss, args *TrainingArguments, numCols int, hasLabels bool, computeDType dtypes.DType, cache *GraphCache) (*stepper, error) {
	s := &stepper{
		structure: m.Structure(), computeDType: computeDType, clip: args.MaxGradNorm > 0, weightDecay: args.WeightDecay != 0,
		checkpoint: args.GradientCheckpointing,
		accumSteps: args.GradientAccumulationSteps, numCols: numCols, hasLabels: hasLabels, n: len(m.GraphParams()), cache: cache,
	}
	if cache != nil {
		s.builds = cache.models.CountBuild
	}
	s.bind(m, loss, args)
	var noDecay []bool
	s.train, noDecay = m.Trainable()
	s.decay = make([]bool, len(noDecay))
	for i, nd := range noDecay {
		s.decay[i] = !nd
	}
	b := m.Backend()
	var err error
	mk := func(name string, fn func([]*Node) []*Node) *graph.Exec {
		if err != nil {
			return nil
		}
		var e *graph.Exec
		e, err = graph.NewExec(b, func(in []*Node) []*Node {
			if s.builds != nil {
				s.builds()
			}
			return fn(in)
		})
		if err == nil {
			e.SetMaxCache(512)
			e = e.WithName(name)
		}
		return e
	}
	if mb := losses.MiniBatchSize(loss); mb > 0 {
		s.gc = s.newGradCache(mb, mk)
		s.update = mk("embedtune_optimizer_update", s.updateGraph)
	} else if s.accumSteps == 1 {
		s.fused = mk("embedtune_train_step", s.fusedGraph)
	} else {
		s.accum = mk("embedtune_grad_accumulate", s.accumGraph)
		s.update = mk("embedtune_optimizer_update", s.updateGraph)
	}
	if s.gc == nil {
		s.eval = mk("embedtune_eval_loss", s.evalGraph)
	}
	if err != nil {
		return nil, fmt.Errorf("building the training graphs: %w", err)
	}
	if err := s.distribute(b, args, mk); err != nil {
		return nil, err
	}
	return s, nil
}

// hyperNodes are the hyper… inputs of a graph.
type hyperNodes struct {
	adam                     optim.AdamWNodes
	maxGradNorm, scale, loRA *Node
	shard                    *losses.Shard // this device's part of a multi-device step (devices.go); nil on one device
}

// splitHyper names the numHyper hyper… inputs.
func (s *stepper) splitHyper(in []*Node) hyperNodes {
	h := hyperNodes{adam: optim.AdamWNodes{Beta1: in[0], OneMinusBeta1: in[1], Beta2: in[2], OneMinusBeta2: in[3], Epsilon: in[4]},
		maxGradNorm: in[6], scale: in[7], loRA: in[8]}
	if s.weightDecay {
		h.adam.WeightDecay = in[5]
	}
	return h
}

// batchInputs returns the number of batch inputs for the graph.
func (s *stepper) batchInputs() int {
	n := 2*s.numCols + s.numCols
	if s.hasLabels {
		n++
	}
	return n
}

// lossGraph embeds every column and computes the loss. rng may be nil (evaluation: no dropout, no
// gradient checkpointing).
func (s *stepper) lossGraph(params, batch []*Node, rng *Node, h hyperNodes) (loss, newRNG *Node) {
	var nextRNG *Node
	if h.shard != nil && rng != nil {
		nextRNG, rng = deviceRNG(rng, h.shard.Offset)
	}
	embs := make([]*Node, s.numCols)
	var labels *Node
	if s.hasLabels {
		labels = batch[2*s.numCols]
	}
	pl := batch[len(batch)-s.numCols:]
	for c := 0; c < s.numCols; c++ {
		opts := model.ForwardOptions{Options: bert.Options{Train: rng != nil && !s.noDropout, RNG: rng, ComputeDType: s.computeDType,
			GradientCheckpointing: s.checkpoint && rng != nil}, PromptLength: pl[c]}
		if s.structure.Adapter != nil {
			opts.LoRAScale = h.loRA
		}
		emb, enc := s.structure.EmbedGraph(params, batch[2*c], batch[2*c+1], opts)
		embs[c] = emb
		if rng != nil {
			rng = enc.RNG()
		}
	}
	if h.shard != nil {
		return s.shardedLoss(embs, labels, rng, h.scale, h.shard, nextRNG)
	}
	return s.computeLoss(embs, labels, rng, h.scale)
}

// computeLoss applies the loss to the batch's embeddings: in training (rng not nil) a stochastic
// loss draws from rng; a losses.Scaled loss takes its scale from the scale input when not nil.
func (s *stepper) computeLoss(embs []*Node, labels, rng, scale *Node) (loss, newRNG *Node) {
	if sl, ok := s.loss.(losses.Stochastic); ok && rng != nil {
		return sl.ComputeTrain(embs, labels, rng)
	}
	if l, ok := s.loss.(losses.Scaled); ok && scale != nil {
		return l.ComputeScaled(embs, labels, scale), rng
	}
	return s.loss.Compute(embs, labels), rng
}

// trained picks the trained parameters out of all graph parameters.
func (s *stepper) trained(params []*Node) []*Node {
	out := make([]*Node, len(s.train))
	for k, i := range s.train {
		out[k] = params[i]
	}
	return out
}

// gradients returns d(loss·scale)/d trained params (still scaled) and the loss.
func (s *stepper) gradients(params, batch []*Node, rng, lossScale *Node, h hyperNodes) (grads []*Node, loss, newRNG *Node) {
	loss, newRNG = s.lossGraph(params, batch, rng, h)
	scaled := Mul(loss, lossScale)
	if s.accumSteps > 1 {
		scaled = DivScalar(scaled, float64(s.accumSteps))
	}
	grads = Gradient(scaled, s.trained(params)...)
	if h.shard != nil { // Averaged over the devices (one XLA all-reduce).
		reduced := s.allReduceMean(append(grads, loss))
		grads, loss = reduced[:len(grads)], reduced[len(grads)]
	}
	return grads, loss, newRNG
}

// applyUpdate unscales, checks, clips and applies AdamW; non-finite steps change nothing.
func (s *stepper) applyUpdate(params, m, v, grads []*Node, lr, step, lossScale, extraFinite *Node, h hyperNodes) (out []*Node, gradNorm, finite *Node) {
	inv := Inverse(lossScale)
	unscaled := make([]*Node, len(grads))
	for i, g := range grads {
		unscaled[i] = Mul(g, inv)
	}
	var clipped []*Node
	if s.clip {
		clipped, gradNorm = optim.ClipByGlobalNormNode(unscaled, h.maxGradNorm)
	} else {
		clipped, gradNorm = unscaled, optim.GlobalNorm(unscaled)
	}
	finite = IsFinite(gradNorm)
	if extraFinite != nil {
		finite = LogicalAnd(finite, extraFinite)
	}
	np, nm, nv := optim.AdamWWith(params, clipped, m, v, s.decay, lr, step, h.adam)
	out = make([]*Node, 0, 3*len(params))
	for _, group := range [][2][]*Node{{np, params}, {nm, m}, {nv, v}} {
		for i := range group[0] {
			out = append(out, Where(finite, group[0][i], group[1][i]))
		}
	}
	return out, gradNorm, ConvertDType(finite, dtypes.Float32)
}

func (s *stepper) fusedGraph(in []*Node) []*Node {
	in, shard := s.deviceInput(in)
	n, t := s.n, len(s.train)
	params, m, v := in[:n], in[n:n+t], in[n+t:n+2*t]
	k := n + 2*t
	lr, step, rng, lossScale := in[k], in[k+1], in[k+2], in[k+3]
	h := s.splitHyper(in[k+4 : k+4+numHyper])
	h.shard = shard
	batch := in[k+4+numHyper:]
	grads, loss, newRNG := s.gradients(params, batch, rng, lossScale, h)
	out, gradNorm, finite := s.applyUpdate(s.trained(params), m, v, grads, lr, step, lossScale, IsFinite(loss), h)
	return append(out, newRNG, loss, gradNorm, finite)
}

func (s *stepper) accumGraph(in []*Node) []*Node {
	in, shard := s.deviceInput(in)
	n, t := s.n, len(s.train)
	params, acc := in[:n], in[n:n+t]
	rng, lossScale := in[n+t], in[n+t+1]
	h := s.splitHyper(in[n+t+2 : n+t+2+numHyper])
	h.shard = shard
	batch := in[n+t+2+numHyper:]
	grads, loss, newRNG := s.gradients(params, batch, rng, lossScale, h)
	out := make([]*Node, t, t+2)
	for i := range grads {
		out[i] = Add(acc[i], grads[i])
	}
	return append(out, newRNG, loss)
}

func (s *stepper) updateGraph(in []*Node) []*Node {
	in, _ = s.deviceInput(in)
	t := len(s.train)
	trained, m, v, acc := in[:t], in[t:2*t], in[2*t:3*t], in[3*t:4*t]
	lr, step, lossScale := in[4*t], in[4*t+1], in[4*t+2]
	h := s.splitHyper(in[4*t+3 : 4*t+3+numHyper])
	out, gradNorm, finite := s.applyUpdate(trained, m, v, acc, lr, step, lossScale, nil, h)
	return append(out, gradNorm, finite)
}

func (s *stepper) evalGraph(in []*Node) []*Node {
	h := s.splitHyper(in[s.n : s.n+numHyper])
	loss, _ := s.lossGraph(in[:s.n], in[s.n+numHyper:], nil, h)
	return []*Node{loss}
}

// hyperArgs appends the run's hyper… arguments.
func (s *stepper) hyperArgs(args []any) []any {
	for _, v := range s.hyper {
		args = append(args, v)
	}
	return args
}

// batchArgs appends the batch's graph arguments.
func (s *stepper) batchArgs(args []any, b *batchTensors) []any {
	for c := 0; c < s.numCols; c++ {
		args = append(args, b.ids[c], b.masks[c])
	}
	if s.hasLabels {
		args = append(args, b.labels)
	}
	for _, p := range b.promptLens {
		args = append(args, tensors.FromScalar(p))
	}
	return args
}

// donate marks a tensor's buffer as reusable by the computation (it must not be used afterwards),
// unless keepInputs is set (the run may abandon a step and then needs the step's inputs intact).
func (s *stepper) donate(t *tensors.Tensor) any {
	if s.keepInputs {
		return t
	}
	d, err := graph.DonateTensorBuffer(t, s.m.Backend(), 0)
	if err != nil {
		return t
	}
	return d
}

// trainState holds the optimizer state between steps.
type trainState struct {
	m, v      []*tensors.Tensor
	acc       []*tensors.Tensor // gradients accumulated by a GradCache step (gradcache.go)
	rng       *tensors.Tensor
	lossScale float64
	// scalerGrowth counts consecutive finite fp16 steps (GradScaler growth tracker).
	scalerGrowth int
}

// stepResult reports one optimizer step.
type stepResult struct {
	loss     float64 // mean over the accumulated micro-batches
	gradNorm float64
	finite   bool
}

// errStepAbandoned is runStep's error for a step the run gave up (InterruptInFlight).
var errStepAbandoned = errors.New("training step abandoned")

// runStep performs one optimizer step over the micro-batches (len == accumulation steps). It changes
// nothing — model weights, AdamW moments, RNG — until the step's results are all computed; then it
// applies them through commit (nil: at once). A commit that returns false (the run abandoned the step,
// see InterruptInFlight) discards them, and runStep returns errStepAbandoned. Without keepInputs the
// step's inputs are donated to the computation (their buffers reused), so a step cannot be abandoned.
func (s *stepper) runStep(st *trainState, batches []*batchTensors, lr float64, adamStep int, commit func(apply func()) bool) (stepResult, error) {
	if commit == nil {
		commit = func(apply func()) bool { apply(); return true }
	}
	if s.gc != nil {
		return s.runCachedStep(st, batches, lr, adamStep, commit)
	}
	if s.dev != nil {
		return s.runStepDevices(st, batches, lr, adamStep, commit)
	}
	params := s.m.GraphParams()
	t := len(s.train)
	isTrained := make([]bool, len(params))
	for _, i := range s.train {
		isTrained[i] = true
	}
	scale := float32(st.lossScale)
	var res stepResult
	discard := func(outs []*tensors.Tensor) (stepResult, error) {
		for _, o := range outs {
			o.FinalizeAll()
		}
		return res, errStepAbandoned
	}
	if s.fused != nil {
		args := make([]any, 0, len(params)+2*t+4+numHyper+s.batchInputs())
		for i, p := range params {
			if isTrained[i] {
				args = append(args, s.donate(p))
			} else {
				args = append(args, p)
			}
		}
		for _, x := range st.m {
			args = append(args, s.donate(x))
		}
		for _, x := range st.v {
			args = append(args, s.donate(x))
		}
		args = append(args, float32(lr), float32(adamStep), s.donate(st.rng), scale)
		args = s.batchArgs(s.hyperArgs(args), batches[0])
		outs, err := s.fused.Exec(args...)
		if err != nil {
			return res, err
		}
		if !commit(func() {
			s.m.SetGraphParams(s.train, outs[:t])
			copy(st.m, outs[t:2*t])
			copy(st.v, outs[2*t:3*t])
			st.rng = outs[3*t]
		}) {
			return discard(outs)
		}
		res.loss = scalar(outs[3*t+1])
		res.gradNorm = scalar(outs[3*t+2])
		res.finite = scalar(outs[3*t+3]) != 0
		return res, nil
	}
	acc := make([]*tensors.Tensor, t)
	for k, i := range s.train {
		acc[k] = tensors.FromShape(params[i].Shape())
	}
	rng := st.rng
	lossSum := 0.0
	for _, b := range batches {
		args := make([]any, 0, len(params)+t+2+s.batchInputs())
		for _, p := range params {
			args = append(args, p)
		}
		for _, x := range acc {
			args = append(args, s.donate(x))
		}
		args = append(args, s.donate(rng), scale)
		args = s.batchArgs(s.hyperArgs(args), b)
		outs, err := s.accum.Exec(args...)
		if err != nil {
			return res, err
		}
		copy(acc, outs[:t])
		rng = outs[t]
		lossSum += scalar(outs[t+1])
	}
	res.loss = lossSum / float64(len(batches))
	return s.updateFromAccumulated(st, acc, rng, res, lr, adamStep, commit)
}

// updateFromAccumulated applies the update graph to the accumulated gradients acc (consumed) and,
// through commit (see runStep), makes rng the RNG state after the step.
func (s *stepper) updateFromAccumulated(st *trainState, acc []*tensors.Tensor, rng *tensors.Tensor, res stepResult, lr float64, adamStep int, commit func(apply func()) bool) (stepResult, error) {
	params := s.m.GraphParams()
	t := len(s.train)
	scale := float32(st.lossScale)
	args := make([]any, 0, 4*t+3+numHyper)
	for _, i := range s.train {
		args = append(args, s.donate(params[i]))
	}
	for _, group := range [][]*tensors.Tensor{st.m, st.v, acc} {
		for _, x := range group {
			args = append(args, s.donate(x))
		}
	}
	args = append(args, float32(lr), float32(adamStep), scale)
	outs, err := s.update.Exec(s.hyperArgs(args)...)
	if err != nil {
		return res, err
	}
	if !commit(func() {
		s.m.SetGraphParams(s.train, outs[:t])
		copy(st.m, outs[t:2*t])
		copy(st.v, outs[2*t:3*t])
		st.rng = rng
	}) {
		for _, o := range outs {
			o.FinalizeAll()
		}
		if rng != st.rng {
			rng.FinalizeAll()
		}
		return res, errStepAbandoned
	}
	res.gradNorm = scalar(outs[3*t])
	res.finite = scalar(outs[3*t+1]) != 0 && finite(res.loss)
	return res, nil
}

// evalLoss returns the loss of a batch without dropout.
func (s *stepper) evalLoss(b *batchTensors) (float64, error) {
	if s.gc != nil {
		return s.evalCachedLoss(b)
	}
	args := make([]any, 0, s.n+s.batchInputs())
	for _, p := range s.m.GraphParams() {
		args = append(args, p)
	}
	outs, err := s.eval.Exec(s.batchArgs(s.hyperArgs(args), b)...)
	if err != nil {
		return 0, err
	}
	return scalar(outs[0]), nil
}

// scalar reads a float32 scalar tensor and releases it.
func scalar(t *tensors.Tensor) float64 {
	v := tensors.MustCopyFlatData[float32](t)[0]
	t.FinalizeAll()
	return float64(v)
}

// finite reports whether v is a finite number (not NaN or ±Inf).
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
