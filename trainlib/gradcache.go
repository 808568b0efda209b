package trainlib

import (
	"fmt"

	"github.com/embedtune/embedtune/trainlib/bert"
	"github.com/embedtune/embedtune/trainlib/model"
	"github.com/embedtune/embedtune/trainlib/tokenizer"
	"github.com/gomlx/gomlx/core/graph"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
	"github.com/gomlx/gomlx/core/tensors"
)

// gradCache runs the steps of a GradCache loss (losses.GradCache with a positive mini-batch size,
// e.g. CachedMultipleNegativesRankingLoss) with five graphs:
//
//	embedTrain: params, rng, ids, mask, promptLen                 → emb, rng'    (no gradient)
//	lossGrad:   rng, lossScale, [labels], emb[c][j]…              → loss, rng', d(loss·scale/accum)/d emb[c][j]…
//	accum:      params, acc, rng, ids, mask, promptLen, embGrad   → acc + d Σ(emb·embGrad)/d trained
//	embedEval:  params, ids, mask, promptLen                      → emb          (evaluation)
//	lossEval:   [labels], emb[c][j]…                              → loss         (evaluation)
//
// per column c and mini-batch j of at most mb rows, then the stepper's update graph. A step embeds
// every mini-batch (recording the RNG state before each), computes the loss and the gradient with
// respect to the embeddings, then embeds every mini-batch again from its recorded RNG state (the
// same dropout masks) with the gradient, accumulating the trained parameters' gradients; memory
// holds one mini-batch's activations at a time.
type gradCache struct {
	mb                                               int
	maxLen                                           int
	left                                             bool // padding side
	embedTrain, lossGrad, accum, embedEval, lossEval *graph.Exec
}

// newGradCache builds the graphs (compiled on first use) with mk.
func (s *stepper) newGradCache(mb int, mk func(string, func([]*Node) []*Node) *graph.Exec) *gradCache {
	n := s.n
	gc := &gradCache{mb: mb, maxLen: s.m.MaxSeqLength, left: s.m.Tokenizer.Info().PaddingSide == tokenizer.Left}
	gc.embedTrain = mk("embedtune_gradcache_embed", func(in []*Node) []*Node {
		emb, rng := s.embedColumn(in[:n], in[n+1], in[n+2], in[n+3], in[n], false)
		return []*Node{emb, rng}
	})
	gc.embedEval = mk("embedtune_gradcache_embed_eval", func(in []*Node) []*Node {
		emb, _ := s.embedColumn(in[:n], in[n], in[n+1], in[n+2], nil, false)
		return []*Node{emb}
	})
	gc.lossGrad = mk("embedtune_gradcache_loss", func(in []*Node) []*Node {
		rng, lossScale := in[0], in[1]
		labels, embs := s.cachedEmbeddings(in[2:])
		loss, newRNG := s.computeLoss(s.concatColumns(embs), labels, rng, nil)
		scaled := Mul(loss, lossScale)
		if s.accumSteps > 1 {
			scaled = DivScalar(scaled, float64(s.accumSteps))
		}
		return append([]*Node{loss, newRNG}, Gradient(scaled, embs...)...)
	})
	gc.lossEval = mk("embedtune_gradcache_eval_loss", func(in []*Node) []*Node {
		labels, embs := s.cachedEmbeddings(in)
		return []*Node{s.loss.Compute(s.concatColumns(embs), labels)}
	})
	t := len(s.train)
	gc.accum = mk("embedtune_gradcache_accumulate", func(in []*Node) []*Node {
		params, acc := in[:n], in[n:n+t]
		rng, ids, mask, pl, embGrad := in[n+t], in[n+t+1], in[n+t+2], in[n+t+3], in[n+t+4]
		emb, _ := s.embedColumn(params, ids, mask, pl, rng, s.checkpoint)
		grads := Gradient(ReduceAllSum(Mul(emb, embGrad)), s.trained(params)...)
		out := make([]*Node, t)
		for i := range grads {
			out[i] = Add(acc[i], grads[i])
		}
		return out
	})
	return gc
}

// embedColumn embeds one column's ids and mask (training mode with dropout when rng is not nil).
func (s *stepper) embedColumn(params []*Node, ids, mask, promptLen, rng *Node, checkpoint bool) (emb, newRNG *Node) {
	opts := model.ForwardOptions{Options: bert.Options{Train: rng != nil && !s.noDropout, RNG: rng, ComputeDType: s.computeDType,
		GradientCheckpointing: checkpoint}, PromptLength: promptLen}
	emb, enc := s.structure.EmbedGraph(params, ids, mask, opts)
	return emb, enc.RNG()
}

// cachedEmbeddings splits the inputs [labels] emb[0][0], emb[0][1], …, emb[1][0], … (numCols
// columns of equally many mini-batches).
func (s *stepper) cachedEmbeddings(in []*Node) (labels *Node, embs []*Node) {
	if s.hasLabels {
		labels, in = in[0], in[1:]
	}
	return labels, in
}

// concatColumns joins each column's mini-batch embeddings into one [B, D] matrix.
func (s *stepper) concatColumns(embs []*Node) []*Node {
	per := len(embs) / s.numCols
	cols := make([]*Node, s.numCols)
	for c := range cols {
		if per == 1 {
			cols[c] = embs[c]
		} else {
			cols[c] = Concatenate(embs[c*per:(c+1)*per], 0)
		}
	}
	return cols
}

// miniBatch is one column's rows [begin, end) of a batch, padded to its own length bucket.
type miniBatch struct {
	ids, mask *tensors.Tensor
	promptLen *tensors.Tensor
}

// split cuts every column of b into mini-batches of at most mb rows (the last may be smaller), each
// cut to the length bucket (model.SeqBucket) of its longest text, as sentence-transformers' cached
// losses drop the padding a mini-batch does not need.
func (gc *gradCache) split(b *batchTensors) ([][]miniBatch, error) {
	out := make([][]miniBatch, len(b.ids))
	for c := range b.ids {
		dims := b.ids[c].Shape().Dimensions
		rows, L := dims[0], dims[1]
		if rows != b.rows {
			return nil, fmt.Errorf("gradient cache: column %d has %d rows, the batch %d", c, rows, b.rows)
		}
		ids := tensors.MustCopyFlatData[int32](b.ids[c])
		mask := tensors.MustCopyFlatData[int32](b.masks[c])
		for begin := 0; begin < rows; begin += gc.mb {
			end := min(begin+gc.mb, rows)
			longest := 1
			for r := begin; r < end; r++ {
				n := 0
				for _, v := range mask[r*L : (r+1)*L] {
					if v != 0 {
						n++
					}
				}
				longest = max(longest, n)
			}
			l := min(model.SeqBucket(longest, gc.maxLen), L)
			off := 0
			if gc.left {
				off = L - l
			}
			mi, mm := make([]int32, 0, (end-begin)*l), make([]int32, 0, (end-begin)*l)
			for r := begin; r < end; r++ {
				mi = append(mi, ids[r*L+off:r*L+off+l]...)
				mm = append(mm, mask[r*L+off:r*L+off+l]...)
			}
			out[c] = append(out[c], miniBatch{
				ids:       tensors.FromFlatDataAndDimensions(mi, end-begin, l),
				mask:      tensors.FromFlatDataAndDimensions(mm, end-begin, l),
				promptLen: tensors.FromScalar(b.promptLens[c]),
			})
		}
	}
	return out, nil
}

// paramArgs returns the model's graph parameters as graph arguments.
func (s *stepper) paramArgs(extra int) []any {
	params := s.m.GraphParams()
	args := make([]any, 0, len(params)+extra)
	for _, p := range params {
		args = append(args, p)
	}
	return args
}

// runCachedStep performs one optimizer step over the micro-batches with gradient caching (commit as in
// runStep; the stages advance st.rng as they go, so a GradCache step is never abandoned).
func (s *stepper) runCachedStep(st *trainState, batches []*batchTensors, lr float64, adamStep int, commit func(apply func()) bool) (stepResult, error) {
	params := s.m.GraphParams()
	t := len(s.train)
	for _, x := range st.acc {
		x.FinalizeAll()
	}
	st.acc = make([]*tensors.Tensor, t)
	for k, i := range s.train {
		st.acc[k] = tensors.FromShape(params[i].Shape())
	}
	var res stepResult
	lossSum := 0.0
	for _, b := range batches {
		loss, err := s.accumulateCached(st, b)
		if err != nil {
			return res, err
		}
		lossSum += loss
	}
	res.loss = lossSum / float64(len(batches))
	acc := st.acc
	st.acc = nil
	return s.updateFromAccumulated(st, acc, st.rng, res, lr, adamStep, commit)
}

// accumulateCached adds the gradients of one micro-batch's loss (scaled by st.lossScale and divided
// by the accumulation steps) to st.acc with the three GradCache stages, and returns the loss.
func (s *stepper) accumulateCached(st *trainState, b *batchTensors) (float64, error) {
	gc := s.gc
	t := len(s.train)
	scale := float32(st.lossScale)
	minis, err := gc.split(b)
	if err != nil {
		return 0, err
	}
	// Stage 1: embeddings without gradients, recording the RNG state before each mini-batch.
	var states, embs []*tensors.Tensor
	for c := range minis {
		for _, mbt := range minis[c] {
			states = append(states, st.rng)
			outs, err := gc.embedTrain.Exec(append(s.paramArgs(4), st.rng, mbt.ids, mbt.mask, mbt.promptLen)...)
			if err != nil {
				return 0, err
			}
			embs = append(embs, outs[0])
			st.rng = outs[1]
		}
	}
	// Stage 2: the loss on the whole batch and its gradient with respect to the embeddings.
	args := []any{st.rng, scale}
	if s.hasLabels {
		args = append(args, b.labels)
	}
	for _, e := range embs {
		args = append(args, e)
	}
	outs, err := gc.lossGrad.Exec(args...)
	if err != nil {
		return 0, err
	}
	for _, e := range embs {
		e.FinalizeAll()
	}
	loss := scalar(outs[0])
	st.rng = outs[1]
	embGrads := outs[2:]
	// Stage 3: each mini-batch again from its RNG state, with the cached gradient.
	k := 0
	for c := range minis {
		for _, mbt := range minis[c] {
			args := s.paramArgs(t + 5)
			for _, x := range st.acc {
				args = append(args, s.donate(x))
			}
			args = append(args, states[k], mbt.ids, mbt.mask, mbt.promptLen, embGrads[k])
			outs, err := gc.accum.Exec(args...)
			if err != nil {
				return 0, err
			}
			copy(st.acc, outs)
			embGrads[k].FinalizeAll()
			k++
		}
	}
	for _, x := range states {
		if x != st.rng {
			x.FinalizeAll()
		}
	}
	return loss, nil
}

// evalCachedLoss returns the loss of a batch without dropout, embedding it in mini-batches.
func (s *stepper) evalCachedLoss(b *batchTensors) (float64, error) {
	gc := s.gc
	minis, err := gc.split(b)
	if err != nil {
		return 0, err
	}
	var args []any
	if s.hasLabels {
		args = append(args, b.labels)
	}
	var embs []*tensors.Tensor
	for c := range minis {
		for _, mbt := range minis[c] {
			outs, err := gc.embedEval.Exec(append(s.paramArgs(3), mbt.ids, mbt.mask, mbt.promptLen)...)
			if err != nil {
				return 0, err
			}
			embs = append(embs, outs[0])
			args = append(args, outs[0])
		}
	}
	outs, err := gc.lossEval.Exec(args...)
	for _, e := range embs {
		e.FinalizeAll()
	}
	if err != nil {
		return 0, err
	}
	return scalar(outs[0]), nil
}
