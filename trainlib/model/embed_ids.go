package model

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/gomlx/compute/distributed"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// The pieces of [SentenceTransformer.Encode], exported for callers that schedule forward passes
// themselves (an embedding server batching texts of many requests together, package serve):
//
//	prompt, _ := m.ResolvePrompt("", "query")          // the prompt text Encode would prepend
//	ids, skip, _ := m.Tokenize(texts, prompt, 0)        // prompt-aware tokenization
//	emb, _ := m.EmbedIDs(ids, skip, 32)                 // one forward pass
//	e := Postprocess(emb[0], truncateDim, normalize)    // truncate_dim, normalize_embeddings
//
// Encode is exactly this sequence, with texts sorted by length and cut into batches.

// ResolvePrompt returns the prompt text Encode prepends, with sentence-transformers' precedence: an
// explicit prompt, else the prompt named name, else the model's default_prompt_name
// (config_sentence_transformers.json), else none (""). An unknown name is an error listing the
// known ones.
func (m *SentenceTransformer) ResolvePrompt(prompt, name string) (string, error) {
	if prompt != "" {
		return prompt, nil
	}
	if name == "" {
		name = m.DefaultPromptName
	}
	if name == "" {
		return "", nil
	}
	p, ok := m.Prompts[name]
	if !ok {
		known := "none (config_sentence_transformers.json defines no prompts)"
		if len(m.Prompts) > 0 {
			known = strings.Join(slices.Sorted(maps.Keys(m.Prompts)), ", ")
		}
		return "", fmt.Errorf("encode: prompt name %q not found; the model's prompts are %s", name, known)
	}
	return p, nil
}

// EmbedIDs runs one forward pass over token sequences — each already holding its special tokens and at
// most MaxSeqLength ids, as Tokenizer.Encode(text, MaxSeqLength) returns them — and returns one
// embedding per sequence (before [Postprocess]). promptLen is [SentenceTransformer.PromptLength] of
// the prompt all sequences start with. The batch is padded to [PadBatch]'s shapes with rows =
// BatchBucket(len(seqs), maxRows), so callers that keep maxRows fixed compile few graphs; padding
// never changes results.
func (m *SentenceTransformer) EmbedIDs(seqs [][]int, promptLen, maxRows int) ([][]float32, error) {
	if len(seqs) == 0 {
		return [][]float32{}, nil
	}
	vocab := m.Config.VocabSize
	for i, s := range seqs {
		if len(s) == 0 || len(s) > m.MaxSeqLength {
			return nil, fmt.Errorf("encode: sequence %d has %d ids; expected 1 to max_seq_length=%d", i, len(s), m.MaxSeqLength)
		}
		for _, id := range s {
			if id < 0 || id >= vocab {
				return nil, fmt.Errorf("encode: sequence %d holds token id %d outside the vocabulary [0, %d)", i, id, vocab)
			}
		}
	}
	if promptLen < 0 || promptLen >= m.MaxSeqLength {
		return nil, fmt.Errorf("encode: prompt length %d must be in [0, max_seq_length=%d)", promptLen, m.MaxSeqLength)
	}
	return m.embedBatch(seqs, max(maxRows, 1), promptLen)
}

// Postprocess applies sentence-transformers' output options to one embedding: truncate_dim keeps the
// first truncateDim dimensions (0 keeps all), then normalize_embeddings divides by max(‖e‖₂, 1e-12).
// The input is not modified.
func Postprocess(e []float32, truncateDim int, normalize bool) []float32 {
	if truncateDim > 0 && truncateDim < len(e) {
		e = e[:truncateDim:truncateDim]
	}
	if normalize {
		return normalized(e)
	}
	return e
}

// embedBatch runs the forward graph on one batch and returns float32 rows: on the devices chosen by
// SetEncodeDevices (encode_devices.go), else on device 0.
func (m *SentenceTransformer) embedBatch(batch [][]int, maxRows, promptLen int) ([][]float32, error) {
	if m.EncodeDevices() > 1 {
		return m.embedBatchDevices(batch, maxRows, promptLen)
	}
	return m.embedBatchOne(batch, maxRows, promptLen)
}

// embedBatchOne runs the forward graph on one batch on device 0.
func (m *SentenceTransformer) embedBatchOne(batch [][]int, maxRows, promptLen int) ([][]float32, error) {
	m.mu.Lock()
	exec, err := m.encodeExecLocked(1, nil)
	m.mu.Unlock()
	if err != nil {
		return nil, err
	}
	ids, mask := m.Pad(batch, maxRows)
	params := m.GraphParams()
	outs, err := exec.Exec(m.appendEncodeArgs(make([]any, 0, len(params)+4), params, ids, mask, promptLen)...)
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	flat, err := tensors.CopyFlatData[float32](outs[0])
	outs[0].FinalizeAll()
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	d := m.Dim()
	res := make([][]float32, len(batch))
	for i := range res {
		res[i] = flat[i*d : (i+1)*d : (i+1)*d]
	}
	return res, nil
}

// appendEncodeArgs appends one device's inputs of the encode graph (encodeExecLocked) to args: the
// weights, the padded ids and mask, the prompt length and, with an adapter, the LoRA scaling.
func (m *SentenceTransformer) appendEncodeArgs(args []any, params []*tensors.Tensor, ids, mask *tensors.Tensor, promptLen int) []any {
	for _, v := range params {
		args = append(args, v)
	}
	args = append(args, ids, mask, tensors.FromScalar(int32(promptLen)))
	if m.Adapter != nil {
		args = append(args, float32(m.Adapter.Scaling()))
	}
	return args
}

// encodeExecLocked lazily builds the inference executor for n devices (n > 1: compiled for mesh,
// SetEncodeDevices'), or finds it in the GraphCache shared with models of the same
// structure. The prompt length and the LoRA scaling are graph inputs so that they do not multiply
// compilations. The graph is built on m.Structure(), never on m itself, so a shared executor keeps
// no model's weights alive. Called with m.mu held.
func (m *SentenceTransformer) encodeExecLocked(n int, mesh *distributed.DeviceMesh) (*graph.Exec, error) {
	if n <= 1 && m.encodeExec != nil {
		return m.encodeExec, nil
	}
	if e := m.devicesExecs[n]; n > 1 && e != nil {
		return e, nil
	}
	keep := func(e *graph.Exec) {
		if n <= 1 {
			m.encodeExec = e
			return
		}
		if m.devicesExecs == nil {
			m.devicesExecs = map[int]*graph.Exec{}
		}
		m.devicesExecs[n] = e
	}
	s := m.Structure()
	cache := m.graphs
	np := len(m.GraphParams())
	build := func() (*graph.Exec, error) {
		exec, err := graph.NewExec(m.backend, func(inputs []*graph.Node) *graph.Node {
			if cache != nil {
				cache.CountBuild()
			}
			params, ids, mask, promptLen := inputs[:np], inputs[np], inputs[np+1], inputs[np+2]
			opts := ForwardOptions{PromptLength: promptLen}
			if s.Adapter != nil {
				opts.LoRAScale = inputs[np+3]
			}
			emb, _ := s.EmbedGraph(params, ids, mask, opts)
			return emb
		})
		if err != nil {
			return nil, fmt.Errorf("encode: building the executor: %w", err)
		}
		exec.SetMaxCache(256)
		if n > 1 {
			exec.SPMD(mesh)
		}
		return exec.WithName("embedtune_encode"), nil
	}
	if cache == nil {
		exec, err := build()
		if err != nil {
			return nil, err
		}
		keep(exec)
		return exec, nil
	}
	key, err := m.StructureKey()
	if err != nil {
		return nil, err
	}
	name := "encode "
	if n > 1 {
		name = fmt.Sprintf("encode on %d devices ", n)
	}
	exec, err := cache.Exec(name+key, build)
	if err != nil {
		return nil, err
	}
	keep(exec)
	return exec, nil
}

// normalized returns e / max(‖e‖, 1e-12).
func normalized(e []float32) []float32 {
	var s float64
	for _, v := range e {
		s += float64(v) * float64(v)
	}
	n := math.Max(math.Sqrt(s), 1e-12)
	out := make([]float32, len(e))
	for i, v := range e {
		out[i] = float32(float64(v) / n)
	}
	return out
}
