// Package memplan estimates the peak memory of a training run or an encoding job before it starts,
// and compares it with the memory the process can get, so that a run that cannot fit is refused
// with numbers and fixes instead of being killed by the kernel at step N.
//
// # The model of memory
//
// The peak resident memory of the process is the sum of four parts:
//
//		peak = runtime + copies·W + trained·T + activations
//
//	  - runtime: the Go runtime, the tokenizer, the datasets and, with XLA, the PJRT plugin;
//	  - W = 4·P bytes, the float32 weights of the P parameters. A training step holds several copies:
//	    the host tensors, the graph's inputs and its outputs (the updated weights), and the engine's
//	    reuse pools; inference holds about two;
//	  - T = 4·P_t bytes, for the P_t trained parameters (P_t = P, or the LoRA matrices only): their
//	    gradients, AdamW's two moments (inputs and updated outputs) and the clipping temporaries;
//	  - activations: what the backward pass needs from the forward pass, per text column c of a
//	    batch of B rows padded to L_c tokens, per layer (hidden size H, feed-forward size I, n heads):
//
//	    B · L_c · (a_H·H + a_I·I + a_A·n·L_c) float32 values,
//
//	    the linear layers' inputs and outputs, LayerNorm and dropout values (∝ H and I), and the
//	    attention scores and probabilities (∝ n·L_c). Inference keeps only the live values of one
//	    layer at a time.
//
//	    With gradient checkpointing (Shape.GradientCheckpointing) the backward pass keeps each
//	    layer's input, a_K·H values per token per layer, and recomputes one layer at a time (its
//	    values and their gradients: r layers' worth alive at once):
//
//	    B · L_c · (layers·a_K·H + r·(a_H·H + a_I·I + a_A·n·L_c)).
//
//	    With a GradCache loss (Batch.MiniBatch = m, CachedMultipleNegativesRankingLoss's
//	    mini_batch_size) one column's mini-batch of m rows is embedded with gradients at a time
//	    (B replaced by m, the largest column instead of the sum over columns), the batch's
//	    embeddings and their gradients are cached (2·B·H values per column), and the trained
//	    parameters' gradients are accumulated over the mini-batches (a_T more copies of T); its
//	    graphs are small, and the XLA compilation term is left out.
//
// The coefficients differ by engine and are calibrated by measurement (see the calibration
// below and docs/reliability.md): the pure-Go engine allocates every tensor on the Go heap, where
// the garbage collector lets the heap grow past the live size (GOGC), so small activations fit in
// slack the weights already create; XLA plans buffers ahead and reuses them, but compiling a training
// graph takes memory of its own, which grows with the number of layers.
//
// The estimate is the maximum over a run's graphs (the training step, the evaluation loss) at the
// sequence lengths the data can reach: the longest text of each column, tokenized, padded to its
// bucket (model.SeqBucket). It aims at ±25% of the measured peak (TestEstimateMatchesMeasuredPeak
// for all-MiniLM-L6-v2 and bge-small-en-v1.5 shapes, scripts/memplan_bench.sh for bge-base).
//
// Example:
//
//	est := memplan.Training(memplan.Shape{...}, memplan.Batch{Rows: 16, SeqLens: []int{64, 512}}, memplan.Go)
//	avail, _ := memplan.Available()
//	fmt.Println(est, "of", avail)
package memplan

import (
	"fmt"
	"strings"

	"github.com/embedtune/embedtune/trainlib/model"
	"github.com/gomlx/compute"
)

// Engine is how the computation runs, which decides the coefficients of the model.
type Engine string

// Engines.
const (
	// Go is the pure-Go backend: every tensor lives on the Go heap.
	Go Engine = "go"
	// XLACPU is XLA on the host.
	XLACPU Engine = "xla-cpu"
	// XLADevice is XLA on an accelerator: activations and optimizer state live in device memory,
	// which the backend does not report, so only the host part is checked.
	XLADevice Engine = "xla-device"
)

// EngineOf tells the engine of a backend.
func EngineOf(b compute.Backend) Engine {
	if b == nil || b.Name() != "xla" {
		return Go
	}
	d := strings.ToLower(b.Description())
	for _, dev := range []string{"cuda", "rocm", "gpu", "tpu", "metal"} {
		if strings.Contains(d, dev) {
			return XLADevice
		}
	}
	return XLACPU
}

// String names the engine for messages.
func (e Engine) String() string {
	switch e {
	case Go:
		return "the pure-Go engine"
	case XLACPU:
		return "XLA on the CPU"
	case XLADevice:
		return "XLA on an accelerator"
	}
	return string(e)
}

// Shape is what the estimate needs to know about a model.
type Shape struct {
	Params        int64 // all parameters (P)
	TrainedParams int64 // parameters the optimizer updates (P_t): Params, or the LoRA matrices
	Layers        int
	Hidden        int
	Intermediate  int
	Heads         int
	// HalfPrecision is fp16/bf16 mixed precision: matrix products read half-precision copies.
	HalfPrecision bool
	// GradientCheckpointing (gradient_checkpointing) keeps each layer's input and recomputes the
	// layer's activations in the backward pass, one layer at a time.
	GradientCheckpointing bool
}

// Batch is one graph's input: Rows texts per column, padded to SeqLens[c] tokens in column c.
type Batch struct {
	Rows    int
	SeqLens []int
	// MiniBatch is the mini-batch size of a GradCache loss (CachedMultipleNegativesRankingLoss's
	// mini_batch_size): the rows of one column embedded with gradients at a time, the batch's
	// embeddings and their gradients cached. 0 (or Rows or more): the whole batch at once.
	MiniBatch int
}

// tokens is the number of padded token positions of the batch.
func (b Batch) tokens() int64 {
	var n int64
	for _, l := range b.SeqLens {
		n += int64(b.Rows) * int64(l)
	}
	return n
}

// coefficients of the model of memory, per engine (see the package documentation).
type coefficients struct {
	runtime       float64 // bytes
	copies        float64 // of W in a training step
	trained       float64 // of T in a training step
	inferCopies   float64 // of W when encoding
	aH, aI, aA    float64 // activation values per token per layer, per unit of H, I and n·L
	aKept         float64 // gradient checkpointing: values kept per token per layer, per unit of H
	recomputed    float64 // gradient checkpointing: layers' values alive at once in the backward pass
	accumulated   float64 // GradCache: more copies of T (the accumulated gradients, in and out)
	actScale      float64 // share of the activations resident at the peak
	slack         float64 // pure Go: activations below slack·W fit in the heap's slack
	compilePerLay float64 // XLA: bytes of compilation per layer of the training graph
}

const mib = 1 << 20

// calibration holds the coefficients, fitted to peak RSS measured on a 2-core machine (pure Go and XLA
// CPU, PJRT plugin xla_cpu_pjrt 0.81) for all-MiniLM-L6-v2- and bge-small-en-v1.5-shaped models, batches
// 1–64 × 16–512 tokens, full fine-tuning and LoRA (XLA CPU with one host device, the default since several
// devices became opt-in: compilePerLay refitted then): the measurements are in docs/reliability.md.
var calibration = map[Engine]coefficients{
	Go:        {runtime: 45 * mib, copies: 2, trained: 8.9, inferCopies: 2, aH: 12, aI: 2.5, aA: 1.8, aKept: 2, recomputed: 2, accumulated: 1, actScale: 1, slack: 1.2},
	XLACPU:    {runtime: 120 * mib, copies: 2.5, trained: 11, inferCopies: 2, aH: 12, aI: 2.5, aA: 1.8, aKept: 2, recomputed: 2, accumulated: 1, actScale: 0.8, compilePerLay: 35 * mib},
	XLADevice: {runtime: 120 * mib, copies: 2, trained: 0, inferCopies: 1, aH: 12, aI: 2.5, aA: 1.8, aKept: 2, recomputed: 2, accumulated: 1, actScale: 0},
}

// Part is one term of an estimate.
type Part struct {
	Name  string
	Bytes int64
}

// Estimate is a predicted peak of resident memory and its parts.
type Estimate struct {
	Total  int64
	Parts  []Part
	Engine Engine
	// Device is the part an accelerator holds (XLADevice only), not included in Total.
	Device int64
}

// String is "3.1 GiB (weights 0.4 GiB, ...)".
func (e Estimate) String() string {
	var parts []string
	for _, p := range e.Parts {
		if p.Bytes > 0 {
			parts = append(parts, p.Name+" "+FormatBytes(p.Bytes))
		}
	}
	s := FormatBytes(e.Total) + " (" + strings.Join(parts, ", ") + ")"
	if e.Device > 0 {
		s += fmt.Sprintf(", and about %s on the device", FormatBytes(e.Device))
	}
	return s
}

// layerValues is the number of float32 values one layer keeps for the backward pass, for one
// column of rows texts of l tokens.
func layerValues(s Shape, c coefficients, rows, l int) float64 {
	return float64(rows) * float64(l) * (c.aH*float64(s.Hidden) + c.aI*float64(s.Intermediate) + c.aA*float64(s.Heads)*float64(l))
}

// trainingActivations is the memory of what a training step's backward pass needs from its
// forward pass: every layer's values for every column of the batch; with gradient checkpointing,
// every layer's input and one layer's values (recomputed in the backward pass); with a GradCache
// mini-batch, those of one column's mini-batch at a time, and the batch's cached embeddings and
// their gradients.
func trainingActivations(s Shape, b Batch, c coefficients) float64 {
	column := func(rows, l int) float64 {
		if !s.GradientCheckpointing {
			return float64(s.Layers) * layerValues(s, c, rows, l)
		}
		return float64(s.Layers)*c.aKept*float64(rows)*float64(l)*float64(s.Hidden) + c.recomputed*layerValues(s, c, rows, l)
	}
	var vals float64
	if mb := b.MiniBatch; mb > 0 && mb < b.Rows {
		for _, l := range b.SeqLens {
			vals = max(vals, column(mb, l))
		}
		vals += 2 * float64(b.Rows) * float64(len(b.SeqLens)) * float64(s.Hidden)
	} else {
		for _, l := range b.SeqLens {
			vals += column(b.Rows, l)
		}
	}
	bytes := 4 * vals
	if s.HalfPrecision {
		bytes *= 0.75 // half-precision copies of the matrix products' inputs replace float32 ones
	}
	return bytes
}

// inferenceActivations is the memory of encoding one batch: one layer's live values at a time,
// for the largest column.
func inferenceActivations(s Shape, b Batch) float64 {
	maxL := 0
	for _, l := range b.SeqLens {
		maxL = max(maxL, l)
	}
	return 4 * float64(b.Rows) * float64(maxL) * (4*float64(s.Hidden) + 2*float64(s.Intermediate) + 2*float64(s.Heads)*float64(maxL))
}

// Training estimates the peak of a training run whose largest batch is b (the training step's; an
// evaluation batch without gradients needs less).
func Training(s Shape, b Batch, e Engine) Estimate {
	c := calibration[e]
	w := 4 * float64(s.Params)
	t := 4 * float64(s.TrainedParams)
	act := trainingActivations(s, b, c)
	est := Estimate{Engine: e}
	weights := c.copies * w
	optim := c.trained * t
	compile := c.compilePerLay * float64(s.Layers)
	if b.MiniBatch > 0 && b.MiniBatch < b.Rows {
		optim += c.accumulated * t // the gradients accumulated over the mini-batches, in and out
		// GradCache's graphs are small (one mini-batch, no optimizer): measured peaks come from its
		// steps, after compilation.
		compile = 0
	}
	resident := act * c.actScale
	if e == Go && resident < c.slack*w {
		resident = c.slack * w // within the heap slack the weights create
	}
	if e == XLADevice {
		est.Device = int64(2*w + 10*t + act)
		weights, optim, resident = c.copies*w, 0, 0
	}
	est.Parts = []Part{
		{"runtime", int64(c.runtime)},
		{"weights", int64(weights)},
		{"gradients and AdamW state", int64(optim)},
		{"activations", int64(resident)},
		{"XLA compilation", int64(compile)},
	}
	for _, p := range est.Parts {
		est.Total += p.Bytes
	}
	return est
}

// Inference estimates the peak of encoding with batches b (the texts and embeddings held are
// added by the caller: heldBytes).
func Inference(s Shape, b Batch, e Engine, heldBytes int64) Estimate {
	c := calibration[e]
	w := 4 * float64(s.Params)
	act := inferenceActivations(s, b)
	est := Estimate{Engine: e}
	if e == XLADevice {
		est.Device = int64(w + act)
		act = 0
	}
	est.Parts = []Part{
		{"runtime", int64(c.runtime)},
		{"weights", int64(c.inferCopies * w)},
		{"activations", int64(act)},
		{"texts and embeddings", heldBytes},
	}
	for _, p := range est.Parts {
		est.Total += p.Bytes
	}
	return est
}

// FormatBytes spells a size in MiB or GiB.
func FormatBytes(n int64) string {
	if n >= 1<<30 {
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	}
	return fmt.Sprintf("%d MiB", (n+mib/2)/mib)
}

// ShapeOf describes a model (with its LoRA adapter, if any) for the estimate; halfPrecision is
// fp16/bf16 training.
func ShapeOf(m *model.SentenceTransformer, halfPrecision bool) Shape {
	c := m.Config
	s := Shape{Layers: c.NumHiddenLayers, Hidden: c.HiddenSize, Intermediate: c.IntermediateSize, Heads: c.NumAttentionHeads,
		HalfPrecision: halfPrecision}
	params := m.GraphParams()
	for _, p := range params {
		s.Params += int64(p.Shape().Size())
	}
	idx, _ := m.Trainable()
	for _, i := range idx {
		s.TrainedParams += int64(params[i].Shape().Size())
	}
	return s
}

// Largest returns the largest n in [1, hi] for which fits(n) holds, fits being true up to some n and
// false above it (as an estimate that grows with a batch size or a length); 0 when fits(1) is false.
func Largest(hi int, fits func(n int) bool) int {
	lo := 0
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if fits(mid) {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo
}
