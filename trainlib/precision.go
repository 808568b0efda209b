package trainlib

import (
	"fmt"

	"github.com/embedtune/embedtune/trainlib/model"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/graph"
)

// computeDType picks the matmul dtype from fp16/bf16 and checks the backend runs it.
func computeDType(m *model.SentenceTransformer, a *TrainingArguments) (dtypes.DType, error) {
	dt := dtypes.Float32
	name := ""
	switch {
	case a.FP16:
		dt, name = dtypes.Float16, "fp16"
	case a.BF16:
		dt, name = dtypes.BFloat16, "bf16"
	default:
		return dt, nil
	}
	if err := probeDType(m, dt); err != nil {
		return dt, fmt.Errorf("%s=true, but backend %s cannot run %s matrix multiplications (%v); use %s",
			name, m.Backend().Name(), dt, err, map[bool]string{true: "bf16=true or fp32", false: "fp32"}[a.FP16])
	}
	return dt, nil
}

// probeDType compiles and runs a tiny matmul in dt with its gradient.
func probeDType(m *model.SentenceTransformer, dt dtypes.DType) (err error) {
	if !m.Backend().Capabilities().DTypes[dt] {
		return fmt.Errorf("dtype not supported")
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	_, err = graph.ExecOnce(m.Backend(), func(x *graph.Node) *graph.Node {
		h := graph.ConvertDType(x, dt)
		y := graph.ConvertDType(graph.Einsum("ij,kj->ik", h, h), dtypes.Float32)
		return graph.Gradient(graph.ReduceAllSum(y), x)[0]
	}, [][]float32{{1, 2}, {3, 4}})
	return err
}
