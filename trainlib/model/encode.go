package model

import (
	"context"
	"fmt"
	"sort"

	"github.com/gomlx/gomlx/core/tensors"
)

// Encode returns one embedding per text, in input order, identical (to float tolerance) to
// sentence-transformers' SentenceTransformer.encode with the same options:
//
//   - the prompt (Prompt, PromptName, or the model's default_prompt_name) is prepended to each text;
//   - texts are tokenized with [CLS] … [SEP] and truncated to max_seq_length (the first
//     max_seq_length-2 word pieces are kept, then [SEP]);
//   - texts are sorted by length and batched; each batch is padded to a bucket length (16, 32, 64,
//     128, 192, 256, 384, 512, …, capped at max_seq_length) and a power-of-two batch size, so only a
//     few graph shapes are ever compiled; padding never changes results;
//   - TruncateDim keeps the first dimensions; Normalize then L2-normalizes.
//
// An empty list gives an empty result; an empty string encodes as [CLS][SEP].
func (m *SentenceTransformer) Encode(texts []string, opts *EncodeOptions) ([][]float32, error) {
	var o EncodeOptions
	if opts != nil {
		o = *opts
	}
	if o.Context == nil {
		o.Context = context.Background()
	}
	if o.BatchSize == 0 {
		o.BatchSize = 32
	}
	if o.BatchSize < 0 {
		return nil, fmt.Errorf("encode: batch size must be positive, got %d", o.BatchSize)
	}
	if o.TruncateDim < 0 || o.TruncateDim > m.Dim() {
		return nil, fmt.Errorf("encode: truncate_dim %d must be between 0 and the embedding dimension %d", o.TruncateDim, m.Dim())
	}
	if len(texts) == 0 {
		return [][]float32{}, nil
	}
	prompt, err := m.ResolvePrompt(o.Prompt, o.PromptName)
	if err != nil {
		return nil, err
	}
	ids, promptLen, err := m.Tokenize(texts, prompt, 0)
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	order := make([]int, len(texts))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return len(ids[order[a]]) > len(ids[order[b]]) })

	out := make([][]float32, len(texts))
	for start := 0; start < len(order); start += o.BatchSize {
		if err := o.Context.Err(); err != nil {
			return nil, fmt.Errorf("encode: %w", err)
		}
		end := min(start+o.BatchSize, len(order))
		batch := make([][]int, end-start)
		for i := range batch {
			batch[i] = ids[order[start+i]]
		}
		emb, err := m.embedBatch(batch, o.BatchSize, promptLen)
		if err != nil {
			return nil, err
		}
		for i := range batch {
			out[order[start+i]] = Postprocess(emb[i], o.TruncateDim, o.Normalize)
		}
		if o.Progress != nil {
			o.Progress(end, len(texts))
		}
	}
	return out, nil
}

// SeqBucket returns the padded length for a sequence of n tokens: the smallest of 16, 32, 64, 128,
// 192, 256, 384, 512 (then multiples of 256) that fits, capped at maxLen.
func SeqBucket(n, maxLen int) int {
	for _, b := range []int{16, 32, 64, 128, 192, 256, 384, 512} {
		if n <= b {
			return min(b, maxLen)
		}
	}
	return min((n+255)/256*256, maxLen)
}

// BatchBucket returns the padded batch size for n rows: the next power of two, capped at max.
func BatchBucket(n, max int) int {
	b := 1
	for b < n {
		b *= 2
	}
	return min(b, max)
}

// PadBatch builds int32 ids and mask [rows, L] for token sequences, with L = SeqBucket(longest),
// rows = BatchBucket(len(seqs), maxRows); padding rows hold a single pad token (masked in), so no
// row is empty. Sequences are right-aligned when left is set (padding_side "left").
func PadBatch(seqs [][]int, maxLen, maxRows, padID int, left bool) (ids, mask *tensors.Tensor) {
	longest := 1
	for _, s := range seqs {
		longest = max(longest, len(s))
	}
	L := SeqBucket(longest, maxLen)
	padID = max(padID, 0) // A tokenizer without [PAD]: any id works, padding is masked out.
	rows := max(BatchBucket(len(seqs), maxRows), len(seqs))
	idData := make([]int32, rows*L)
	maskData := make([]int32, rows*L)
	for i := 0; i < rows; i++ {
		row := idData[i*L : (i+1)*L]
		for j := range row {
			row[j] = int32(padID)
		}
		if i >= len(seqs) {
			maskData[i*L] = 1
			continue
		}
		off := 0
		if left {
			off = L - len(seqs[i])
		}
		for j, id := range seqs[i] {
			row[off+j] = int32(id)
			maskData[i*L+off+j] = 1
		}
	}
	return tensors.FromFlatDataAndDimensions(idData, rows, L), tensors.FromFlatDataAndDimensions(maskData, rows, L)
}

// SimilarityFnName returns similarity_fn_name ("cosine", "dot", "euclidean" or "manhattan").
func (m *SentenceTransformer) SimilarityFnName() string { return m.SimilarityFn }

// EncodeQuery encodes queries like sentence-transformers' encode_query: without an explicit
// prompt, the model's "query" prompt is used when it has one.
func (m *SentenceTransformer) EncodeQuery(texts []string, opts *EncodeOptions) ([][]float32, error) {
	return m.Encode(texts, m.withTaskPrompt(opts, "query"))
}

// EncodeDocument encodes documents like sentence-transformers' encode_document: without an
// explicit prompt, the model's "document", "passage" or "corpus" prompt is used, if any.
func (m *SentenceTransformer) EncodeDocument(texts []string, opts *EncodeOptions) ([][]float32, error) {
	return m.Encode(texts, m.withTaskPrompt(opts, "document", "passage", "corpus"))
}

// withTaskPrompt returns opts with PromptName set to the first of names the model has a prompt
// for, unless a prompt was given.
func (m *SentenceTransformer) withTaskPrompt(opts *EncodeOptions, names ...string) *EncodeOptions {
	var o EncodeOptions
	if opts != nil {
		o = *opts
	}
	if o.Prompt != "" || o.PromptName != "" {
		return &o
	}
	for _, n := range names {
		if _, ok := m.Prompts[n]; ok {
			o.PromptName = n
			return &o
		}
	}
	return &o
}
