package trainlib

import (
	"fmt"

	"github.com/embedtune/embedtune/trainlib/datasets"
	"github.com/embedtune/embedtune/trainlib/losses"
	"github.com/embedtune/embedtune/trainlib/model"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// Gradients computes the loss of one batch — every row of batch, in order, laid out like a training
// dataset (text columns in role order, an optional "label"/"score" column) — and its gradient with
// respect to every trained tensor (all weights, or only a LoRA adapter's), keyed by tensor name
// (model.GraphParamNames): what a training step computes before gradient clipping and the optimizer,
// with dropout off, as Python's model.eval() followed by loss(features, labels).backward(). It is
// meant for inspecting and checking a loss; a GradCache loss (CachedMultipleNegativesRankingLoss)
// runs its three stages. args supplies the settings that change the computation (prompts, fp16/bf16,
// gradient_checkpointing); nil means the defaults.
//
// Example:
//
//	loss, grads, err := trainlib.Gradients(m, losses.MultipleNegativesRankingLoss(m), batch, nil)
func Gradients(m *model.SentenceTransformer, loss losses.Loss, batch *datasets.Dataset, args *TrainingArguments) (float64, map[string]*tensors.Tensor, error) {
	if m == nil || loss == nil || batch == nil || batch.Len() == 0 {
		return 0, nil, fmt.Errorf("Gradients: needs a model, a loss and a non-empty batch")
	}
	var a TrainingArguments
	if args != nil {
		a = *args
	}
	a.applyDefaults()
	table, err := newTextTable("batch", batch)
	if err != nil {
		return 0, nil, err
	}
	if err := loss.Validate(len(table.textCols), table.labels != nil); err != nil {
		return 0, nil, fmt.Errorf("batch columns %v: %w", batch.Columns(), err)
	}
	cdt, err := computeDType(m, &a)
	if err != nil {
		return 0, nil, err
	}
	a.GradientAccumulationSteps, a.NumDevices = 1, 1 // one batch, one device
	s, err := newStepper(m, loss, &a, len(table.textCols), table.labels != nil, cdt, nil)
	if err != nil {
		return 0, nil, err
	}
	s.noDropout = true
	rows := make([]int, batch.Len())
	for i := range rows {
		rows[i] = i
	}
	b, err := table.batch(m, &a, rows)
	if err != nil {
		return 0, nil, err
	}
	rng, err := graph.RNGStateFromSeed(a.Seed)
	if err != nil {
		return 0, nil, err
	}
	params := m.GraphParams()
	var value float64
	var grads []*tensors.Tensor
	if s.gc != nil {
		st := &trainState{lossScale: 1, rng: rng}
		for _, i := range s.train {
			st.acc = append(st.acc, tensors.FromShape(params[i].Shape()))
		}
		if value, err = s.accumulateCached(st, b); err != nil {
			return 0, nil, err
		}
		grads = st.acc
	} else {
		n := s.n
		args := s.hyperArgs(append(s.paramArgs(1+numHyper+s.batchInputs()), rng))
		outs, err := graph.ExecOnceN(m.Backend(), func(in []*graph.Node) []*graph.Node {
			h := s.splitHyper(in[n+1 : n+1+numHyper])
			g, l, _ := s.gradients(in[:n], in[n+1+numHyper:], in[n], graph.Scalar(in[0].Graph(), dtypes.Float32, 1), h)
			return append([]*graph.Node{l}, g...)
		}, s.batchArgs(args, b)...)
		if err != nil {
			return 0, nil, err
		}
		value, grads = scalar(outs[0]), outs[1:]
	}
	names := m.GraphParamNames()
	out := make(map[string]*tensors.Tensor, len(grads))
	for k, i := range s.train {
		out[names[i]] = grads[k]
	}
	return value, out, nil
}
