package trainlib

import (
	"fmt"
	"slices"

	"github.com/embedtune/embedtune/trainlib/backend"
	"github.com/embedtune/embedtune/trainlib/losses"
	"github.com/embedtune/embedtune/trainlib/model"
	"github.com/gomlx/compute"
	"github.com/gomlx/compute/distributed"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
)

// Data-parallel training over several devices (TrainingArguments.NumDevices > 1).
//
// The training graphs (fused step, or accumulation and update) are compiled once for a 1-D device
// mesh with XLA SPMD (GoMLX Exec.SPMD): every device runs the same program on its own shard of
// the global micro-batch (per_device_train_batch_size rows) with its own replica of the weights and
// AdamW moments. Inside the compiled step the devices' gradients are averaged with an XLA
// all-reduce before clipping and AdamW, so every replica applies the same update and stays equal
// to device 0's — the weights the model, the evaluator and checkpoints see. The reported loss is
// the mean of the devices' losses (each a mean over its rows), as in PyTorch DDP.
//
// Losses that gather across devices (losses.GatheringLoss, e.g. MNRL's gather_across_devices) see
// the whole global batch: Gather is an all-gather built from an all-reduce (each device writes its
// rows into zeros at its offset; zeros add exactly, so the gathered values are bit-identical), with
// a custom gradient that all-reduces the incoming gradient — the sum over devices that
// differentiates the devices' mean loss as one loss over the global batch.
//
// Dropout draws from a per-device stream: the step's RNG state is split into the next state (the
// same on every device, saved in checkpoints) and a step key that each device offsets by its index.
//
// Evaluation runs data-parallel too. The eval loss takes the eval batches n at a time, one
// per_device_eval_batch_size batch per device, and each device computes its batch's loss with its
// replica of the weights (evalDevices compiles the eval graph for the mesh; no collective): every
// batch's loss is the one a single device computes, so eval_loss does not depend on the number of
// devices. gather_across_devices applies to training steps only. The evaluator encodes through the
// model, which the run sets to encode data-parallel (model.SetEncodeDevices) and lends the replicas
// (model.LendReplicas), so encoding copies no weights.

// devices is the multi-device layout of a stepper.
type devices struct {
	n    int
	mesh *distributed.DeviceMesh
	// replicas[d-1] holds device d's copy of the graph parameters, moments and RNG state.
	replicas []*replica
	// synced are device 0's tensors the replicas were last copied from or updated with.
	synced []*tensors.Tensor
}

// replica is one device's copy of the training state.
type replica struct {
	params, m, v []*tensors.Tensor
	rng          *tensors.Tensor
}

// resolveDevices returns the number of devices a run uses: num_devices, or all of the backend's
// devices when it is 0. It checks the number against the backend.
func resolveDevices(b compute.Backend, a *TrainingArguments) (int, error) {
	have := b.NumDevices()
	n := a.NumDevices
	if n == 0 {
		n = have
	}
	switch {
	case n > have && backend.IsGo(b):
		return 0, fmt.Errorf("num_devices is %d but the pure-Go backend has one device: multi-device training runs on XLA (GPUs, or XLA CPU host devices with %s=%d); set num_devices to 1 or 0", n, backend.CPUDevicesEnv, n)
	case n > have:
		return 0, fmt.Errorf("num_devices is %d but the backend has %d device(s) (%s): set num_devices to at most %d (0 means all), or on XLA CPU expose more host devices with %s=%d",
			n, have, backend.Describe(b), have, backend.CPUDevicesEnv, n)
	}
	return n, nil
}

// newDevices builds the mesh for n > 1 devices.
func newDevices(n int) (*devices, error) {
	mesh, err := model.DataMesh(n)
	if err != nil {
		return nil, err
	}
	return &devices{n: n, mesh: mesh}, nil
}

// deviceInput splits the device index, the last input of every SPMD graph, from the others, and
// returns the loss's view of this device's shard (nil with one device).
func (s *stepper) deviceInput(in []*Node) ([]*Node, *losses.Shard) {
	if s.dev == nil {
		return in, nil
	}
	idx := in[len(in)-1]
	n := s.dev.n
	// Offset holds the device index here; shardedLoss scales it by the local rows.
	sh := &losses.Shard{Devices: n, Offset: idx, Gather: func(xs ...*Node) []*Node { return gatherAll(xs, idx, n) }}
	return in[:len(in)-1], sh
}

// withRowOffset sets shard.Offset from the device index to idx·rows.
func withRowOffset(sh *losses.Shard, rows int) *losses.Shard {
	c := *sh
	c.Offset = MulScalar(sh.Offset, float64(rows))
	return &c
}

// gatherRows is an all-gather of x [B, …] over the n devices into [n·B, …], in device order.
func gatherRows(x, idx *Node, n int) *Node {
	g := x.Graph()
	dims := slices.Clone(x.Shape().Dimensions)
	b := dims[0]
	dims[0] *= n
	start := make([]*Node, len(dims))
	start[0] = MulScalar(idx, float64(b))
	for i := 1; i < len(start); i++ {
		start[i] = ScalarZero(g, dtypes.Int32)
	}
	placed := DynamicUpdateSlice(Zeros(g, shapes.Make(x.DType(), dims...)), x, start)
	all := g.Distributed().AllReduceOne(placed, compute.ReduceOpSum)
	withGrad := IdentityWithCustomGradient(placed, func(_, v *Node) *Node {
		return v.Graph().Distributed().AllReduceOne(v, compute.ReduceOpSum)
	})
	// Forward: placed + (all - placed) == all exactly (x + 0 at the own rows, 0 + y elsewhere).
	return Add(withGrad, StopGradient(Sub(all, placed)))
}

// gatherAll all-gathers several [B, …] tensors with one collective: they are flattened to [B, k_i],
// concatenated, gathered by gatherRows and split back. One collective per gather matters on XLA CPU
// host devices: a device waiting in a collective holds a thread of the shared pool, and with
// several independent collectives pending, one device could hold every thread while another has
// not reached them (XLA then aborts the process after 40 s).
func gatherAll(xs []*Node, idx *Node, n int) []*Node {
	if len(xs) == 1 {
		return []*Node{gatherRows(xs[0], idx, n)}
	}
	b := xs[0].Shape().Dimensions[0]
	flat := make([]*Node, len(xs))
	widths := make([]int, len(xs))
	for i, x := range xs {
		widths[i] = x.Shape().Size() / b
		flat[i] = Reshape(x, b, widths[i])
	}
	all := gatherRows(Concatenate(flat, 1), idx, n)
	out := make([]*Node, len(xs))
	at := 0
	for i, x := range xs {
		dims := slices.Clone(x.Shape().Dimensions)
		dims[0] *= n
		out[i] = Reshape(Slice(all, AxisRange(), AxisRange(at, at+widths[i])), dims...)
		at += widths[i]
	}
	return out
}

// allReduceMean averages xs over the devices (one all-reduce for all of them).
func (s *stepper) allReduceMean(xs []*Node) []*Node {
	if s.dev == nil || len(xs) == 0 {
		return xs
	}
	sums := xs[0].Graph().Distributed().AllReduce(xs, compute.ReduceOpSum)
	out := make([]*Node, len(sums))
	for i, x := range sums {
		out[i] = DivScalar(x, float64(s.dev.n))
	}
	return out
}

// deviceRNG splits the step's RNG state: next (the same on every device) and this device's key.
func deviceRNG(rng, idx *Node) (next, local *Node) {
	next, key := RNGStateSplit(rng)
	// Offset the first state word by the device index (device 0 keeps the key unchanged).
	g := rng.Graph()
	n := rng.Shape().Size()
	mask := make([]uint64, n)
	mask[0] = 0x9E3779B97F4A7C15
	off := Mul(Const(g, mask), BroadcastToDims(ConvertDType(idx, dtypes.Uint64), n))
	return next, Add(key, off)
}

// shardedLoss computes this device's loss from its embeddings: a GatheringLoss that asks for it
// sees the global batch; other losses see the device's rows. newRNG is next, the step's next state
// (the same on every device), when the step draws random numbers.
func (s *stepper) shardedLoss(embs []*Node, labels, rng, scale *Node, sh *losses.Shard, next *Node) (loss, newRNG *Node) {
	if gl, ok := s.loss.(losses.GatheringLoss); ok && gl.GatherAcrossDevices() {
		loss = gl.ComputeShard(embs, labels, scale, *withRowOffset(sh, embs[0].Shape().Dimensions[0]))
	} else {
		loss, rng = s.computeLoss(embs, labels, rng, scale)
	}
	if next != nil {
		return loss, next
	}
	return loss, rng
}

// numDevicesKey is the device count for stepperKey (0 when it cannot be resolved: newRun reports that).
func numDevicesKey(m *model.SentenceTransformer, args *TrainingArguments) int {
	n, err := resolveDevices(m.Backend(), args)
	if err != nil {
		return 0
	}
	return n
}

// distribute sets the stepper up for the run's devices: with several, the training executors
// compile for the device mesh with SPMD, and mk builds the mesh's eval-loss executor.
func (s *stepper) distribute(b compute.Backend, args *TrainingArguments, mk func(string, func([]*Node) []*Node) *graph.Exec) error {
	n, err := resolveDevices(b, args)
	if err != nil || n <= 1 {
		return err
	}
	if s.gc != nil {
		return fmt.Errorf("%s (GradCache) trains on one device: set num_devices to 1 (multi-device GradCache is not implemented; MultipleNegativesRankingLoss with gather_across_devices gives the same loss over the global batch)", s.loss.Name())
	}
	if wrappedGather(s.loss) {
		return fmt.Errorf("%s cannot gather across devices (gather_across_devices applies to MultipleNegativesRankingLoss and MultipleNegativesSymmetricRankingLoss used directly): remove gather_across_devices or train on one device", s.loss.Name())
	}
	if s.dev, err = newDevices(n); err != nil {
		return err
	}
	for _, e := range []*graph.Exec{s.fused, s.accum, s.update} {
		if e != nil {
			e.SPMD(s.dev.mesh)
		}
	}
	if s.evalN = mk("embedtune_eval_loss_devices", s.evalGraph); s.evalN == nil {
		return fmt.Errorf("building the eval graph for %d devices", n)
	}
	s.evalN.SPMD(s.dev.mesh)
	return nil
}

// wrappedGather reports whether a loss wraps one that asks for gather_across_devices
// (MatryoshkaLoss around MNRL), which it cannot honour.
func wrappedGather(l losses.Loss) bool {
	mt, ok := l.(*losses.Matryoshka)
	if !ok || mt.Loss == nil {
		return false
	}
	if gl, ok := mt.Loss.(losses.GatheringLoss); ok && gl.GatherAcrossDevices() {
		return true
	}
	return wrappedGather(mt.Loss)
}

// syncReplicas copies device 0's state to the other devices when it changed outside the step
// (start, resume, a loaded model).
func (s *stepper) syncReplicas(st *trainState) error {
	d := s.dev
	cur := s.deviceZero(st)
	if slices.Equal(cur, d.synced) && len(d.replicas) == d.n-1 {
		return nil
	}
	b := s.m.Backend()
	n, t := s.n, len(s.train)
	d.replicas = make([]*replica, d.n-1)
	for dev := 1; dev < d.n; dev++ {
		clones := make([]*tensors.Tensor, len(cur))
		for i, x := range cur {
			c, err := x.OnDeviceClone(b, compute.DeviceNum(dev))
			if err != nil {
				return fmt.Errorf("copying the training state to device %d: %w", dev, err)
			}
			clones[i] = c
		}
		d.replicas[dev-1] = &replica{params: clones[:n], m: clones[n : n+t], v: clones[n+t : n+2*t], rng: clones[n+2*t]}
	}
	d.synced = cur
	return nil
}

// deviceZero lists device 0's training state: graph parameters, moments, RNG state.
func (s *stepper) deviceZero(st *trainState) []*tensors.Tensor {
	return append(append(append(slices.Clone(s.m.GraphParams()), st.m...), st.v...), st.rng)
}

// view returns device dev's parameters, moments and RNG state.
func (s *stepper) view(st *trainState, dev int) *replica {
	if dev == 0 {
		return &replica{params: s.m.GraphParams(), m: st.m, v: st.v, rng: st.rng}
	}
	return s.dev.replicas[dev-1]
}

// donateOn marks a tensor's buffer on device dev as reusable by the computation (unless keepInputs).
func (s *stepper) donateOn(t *tensors.Tensor, dev int) any {
	if s.keepInputs {
		return t
	}
	d, err := graph.DonateTensorBuffer(t, s.m.Backend(), compute.DeviceNum(dev))
	if err != nil {
		return t
	}
	return d
}

// runStepDevices is runStep over several devices: each micro-batch is split in n shards, and
// every device's replica takes the step's outputs (through commit, see runStep).
func (s *stepper) runStepDevices(st *trainState, batches []*batchTensors, lr float64, adamStep int, commit func(apply func()) bool) (stepResult, error) {
	var res stepResult
	d := s.dev
	if err := s.syncReplicas(st); err != nil {
		return res, err
	}
	shards := make([][]*batchTensors, len(batches))
	for i, b := range batches {
		var err error
		if shards[i], err = shardBatch(b, d.n); err != nil {
			return res, err
		}
	}
	t := len(s.train)
	isTrained := make([]bool, s.n)
	for _, i := range s.train {
		isTrained[i] = true
	}
	scale := float32(st.lossScale)
	views := make([]*replica, d.n)
	for dev := range views {
		views[dev] = s.view(st, dev)
	}
	// outputs splits the executor's outputs per device.
	outputs := func(outs []*tensors.Tensor, dev int) []*tensors.Tensor {
		per := len(outs) / d.n
		return outs[dev*per : (dev+1)*per]
	}
	// apply makes the step's outputs (trained, m, v per device) and rngs the new state on every device.
	apply := func(outs []*tensors.Tensor, rngs []*tensors.Tensor) {
		for dev, v := range views {
			o := outputs(outs, dev)
			for k, i := range s.train {
				v.params[i] = o[k]
			}
			copy(v.m, o[t:2*t])
			copy(v.v, o[2*t:3*t])
			v.rng = rngs[dev]
		}
		s.m.SetGraphParams(s.train, trainedOf(views[0].params, s.train))
		st.m, st.v, st.rng = views[0].m, views[0].v, views[0].rng
		d.synced = s.deviceZero(st)
	}
	// scalars reads device 0's scalar outputs from index first on and releases the other devices'.
	scalars := func(outs []*tensors.Tensor, first int) []float64 {
		var vals []float64
		for dev := range views {
			for _, x := range outputs(outs, dev)[first:] {
				if dev == 0 {
					vals = append(vals, scalar(x))
				} else {
					x.FinalizeAll()
				}
			}
		}
		return vals
	}
	discard := func(groups ...[]*tensors.Tensor) (stepResult, error) {
		for _, g := range groups {
			for _, o := range g {
				o.FinalizeAll()
			}
		}
		return res, errStepAbandoned
	}
	if s.fused != nil {
		var args []any
		for dev, v := range views {
			for i, p := range v.params {
				if isTrained[i] {
					args = append(args, s.donateOn(p, dev))
				} else {
					args = append(args, p)
				}
			}
			for _, x := range v.m {
				args = append(args, s.donateOn(x, dev))
			}
			for _, x := range v.v {
				args = append(args, s.donateOn(x, dev))
			}
			args = append(args, float32(lr), float32(adamStep), s.donateOn(v.rng, dev), scale)
			args = append(s.batchArgs(s.hyperArgs(args), shards[0][dev]), int32(dev))
		}
		outs, err := s.fused.Exec(args...)
		if err != nil {
			return res, err
		}
		rngs := make([]*tensors.Tensor, d.n)
		for dev := range rngs {
			rngs[dev] = outputs(outs, dev)[3*t]
		}
		vals := scalars(outs, 3*t+1)
		res.loss, res.gradNorm, res.finite = vals[0], vals[1], vals[2] != 0
		if !commit(func() { apply(outs, rngs) }) {
			return discard(outs[:0], trainedAndMoments(outs, d.n, 3*t+1))
		}
		return res, nil
	}
	accs := make([][]*tensors.Tensor, d.n)
	rngs := make([]*tensors.Tensor, d.n)
	for dev, v := range views {
		accs[dev] = make([]*tensors.Tensor, t)
		for k, i := range s.train {
			accs[dev][k] = tensors.FromShape(views[0].params[i].Shape())
		}
		rngs[dev] = v.rng
	}
	lossSum := 0.0
	for mb := range batches {
		var args []any
		for dev, v := range views {
			args = append(args, anys(v.params)...)
			for _, x := range accs[dev] {
				args = append(args, s.donateOn(x, dev))
			}
			args = append(args, s.donateOn(rngs[dev], dev), scale)
			args = append(s.batchArgs(s.hyperArgs(args), shards[mb][dev]), int32(dev))
		}
		outs, err := s.accum.Exec(args...)
		if err != nil {
			return res, err
		}
		for dev := range views {
			o := outputs(outs, dev)
			copy(accs[dev], o[:t])
			rngs[dev] = o[t]
		}
		lossSum += scalars(outs, t+1)[0]
	}
	res.loss = lossSum / float64(len(batches))
	var args []any
	for dev, v := range views {
		for _, i := range s.train {
			args = append(args, s.donateOn(v.params[i], dev))
		}
		for _, group := range [][]*tensors.Tensor{v.m, v.v, accs[dev]} {
			for _, x := range group {
				args = append(args, s.donateOn(x, dev))
			}
		}
		args = append(s.hyperArgs(append(args, float32(lr), float32(adamStep), scale)), int32(dev))
	}
	outs, err := s.update.Exec(args...)
	if err != nil {
		return res, err
	}
	vals := scalars(outs, 3*t)
	res.gradNorm, res.finite = vals[0], vals[1] != 0 && finite(res.loss)
	if !commit(func() { apply(outs, rngs) }) {
		return discard(trainedAndMoments(outs, d.n, 3*t), rngs)
	}
	return res, nil
}

// evalLosses computes the eval loss of n batches at once, one per device: b holds their rows in
// order (n × per_device_eval_batch_size rows, padded together), and device d computes the loss of
// rows d·B/n…, the d-th batch, with its replica of the weights.
func (s *stepper) evalLosses(st *trainState, b *batchTensors) ([]float64, error) {
	d := s.dev
	if err := s.syncReplicas(st); err != nil {
		return nil, err
	}
	shards, err := shardBatch(b, d.n)
	if err != nil {
		return nil, err
	}
	var args []any
	for dev := range d.n {
		args = append(args, anys(s.view(st, dev).params)...)
		args = s.batchArgs(s.hyperArgs(args), shards[dev])
	}
	outs, err := s.evalN.Exec(args...)
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(outs))
	for i, o := range outs {
		out[i] = scalar(o)
	}
	return out, nil
}

// lendReplicas gives the model the devices' copies of its weights for data-parallel encoding.
func (s *stepper) lendReplicas(st *trainState) error {
	if err := s.syncReplicas(st); err != nil {
		return err
	}
	reps := make([][]*tensors.Tensor, len(s.dev.replicas))
	for i, r := range s.dev.replicas {
		reps[i] = r.params
	}
	s.m.LendReplicas(s.m.GraphParams(), reps)
	return nil
}

// trainedAndMoments lists every device's first k outputs (the scalars after them are released).
func trainedAndMoments(outs []*tensors.Tensor, n, k int) []*tensors.Tensor {
	per := len(outs) / n
	var keep []*tensors.Tensor
	for dev := range n {
		keep = append(keep, outs[dev*per:dev*per+k]...)
	}
	return keep
}

// trainedOf picks the trained entries of all graph parameters.
func trainedOf(params []*tensors.Tensor, train []int) []*tensors.Tensor {
	out := make([]*tensors.Tensor, len(train))
	for k, i := range train {
		out[k] = params[i]
	}
	return out
}

func anys(ts []*tensors.Tensor) []any {
	out := make([]any, len(ts))
	for i, x := range ts {
		out[i] = x
	}
	return out
}

// shardBatch splits a batch's rows into n equal consecutive shards (device d gets rows d·B/n…).
func shardBatch(b *batchTensors, n int) ([]*batchTensors, error) {
	if b.rows%n != 0 {
		return nil, fmt.Errorf("a batch of %d rows cannot be split evenly over %d devices", b.rows, n)
	}
	out := make([]*batchTensors, n)
	for d := range out {
		out[d] = &batchTensors{rows: b.rows / n, promptLens: b.promptLens}
	}
	split := func(t *tensors.Tensor, put func(d int, x *tensors.Tensor)) error {
		parts, err := model.SplitRows(t, n)
		if err != nil {
			return err
		}
		for d, x := range parts {
			put(d, x)
		}
		return nil
	}
	for c := range b.ids {
		if err := split(b.ids[c], func(d int, x *tensors.Tensor) { out[d].ids = append(out[d].ids, x) }); err != nil {
			return nil, err
		}
		if err := split(b.masks[c], func(d int, x *tensors.Tensor) { out[d].masks = append(out[d].masks, x) }); err != nil {
			return nil, err
		}
	}
	if b.labels != nil {
		if err := split(b.labels, func(d int, x *tensors.Tensor) { out[d].labels = x }); err != nil {
			return nil, err
		}
	}
	return out, nil
}
