package parity

import (
	"slices"
	"testing"
	"time"

	"github.com/embedtune/embedtune/trainlib/model"
)

// stEncodeRequest / stEncodeResponse are tests/reference/st_encode.py's protocol.
type stEncodeRequest struct {
	Model     string   `json:"model"`
	Texts     []string `json:"texts"`
	BatchSize int      `json:"batch_size"`
	Prompt    *string  `json:"prompt"`
	WithIDs   bool     `json:"with_ids"`
}

type stEncodeResponse struct {
	Embeddings   [][]float64 `json:"embeddings"`
	InputIDs     [][]int     `json:"input_ids"`
	Dim          int         `json:"dim"`
	MaxSeqLength int         `json:"max_seq_length"`
	Modules      []string    `json:"modules"`
}

// Tolerances for embeddings of the same text (issue 12: the same on every engine, pure Go and XLA).
const (
	maxAbsTolerance = 1e-5
	minCosTolerance = 0.99999
)

// TestEncodeParity compares token ids and embeddings of model.Encode with
// SentenceTransformer.encode on SQuAD questions (with the BGE query prompt for bge-small),
// contexts, and texts longer than max_seq_length (truncated by both).
func TestEncodeParity(t *testing.T) {
	modelsDir(t)
	sz := currentSize()
	sq := loadSQuAD(t)
	for _, tc := range []struct {
		model, prompt string
	}{{miniLM, ""}, {bgeSmall, bgeQueryPrompt}} {
		t.Run(tc.model, func(t *testing.T) {
			dir := modelDir(t, tc.model)
			m := loadModel(t, dir)
			qs, cs, long := sq.encodeTexts(t, m.Tokenizer, m.MaxSeqLength, sz.EncodeQuestions, sz.EncodeContexts, sz.EncodeLong)
			docs := slices.Concat(cs, long)

			start := time.Now()
			qEmb, err := m.Encode(qs, &model.EncodeOptions{Prompt: tc.prompt, BatchSize: 32})
			if err != nil {
				t.Fatal(err)
			}
			dEmb, err := m.Encode(docs, &model.EncodeOptions{BatchSize: 32})
			if err != nil {
				t.Fatal(err)
			}
			goSecs := time.Since(start).Seconds()

			var prompt *string
			if tc.prompt != "" {
				prompt = &tc.prompt
			}
			var resp struct {
				Batch []stEncodeResponse `json:"batch"`
			}
			python(t, "st_encode.py", map[string]any{"batch": []stEncodeRequest{
				{Model: dir, Texts: qs, BatchSize: 32, Prompt: prompt, WithIDs: true},
				{Model: dir, Texts: docs, BatchSize: 32, WithIDs: true},
			}}, &resp)
			if len(resp.Batch) != 2 {
				t.Fatalf("st_encode.py answered %d results, want 2", len(resp.Batch))
			}
			if resp.Batch[0].MaxSeqLength != m.MaxSeqLength {
				t.Errorf("max_seq_length: ours %d, Python %d", m.MaxSeqLength, resp.Batch[0].MaxSeqLength)
			}

			texts := slices.Concat(qs, docs)
			ours := slices.Concat(qEmb, dEmb)
			ref := slices.Concat(resp.Batch[0].Embeddings, resp.Batch[1].Embeddings)
			refIDs := slices.Concat(resp.Batch[0].InputIDs, resp.Batch[1].InputIDs)
			if len(refIDs) != len(texts) {
				t.Fatalf("Python returned ids for %d texts, want %d", len(refIDs), len(texts))
			}
			identical, truncated := 0, 0
			for i, text := range texts {
				p := ""
				if i < len(qs) {
					p = tc.prompt
				}
				ids, err := m.Tokenizer.Encode(p+text, m.MaxSeqLength)
				if err != nil {
					t.Fatal(err)
				}
				full, err := m.Tokenizer.Encode(p+text, 0)
				if err != nil {
					t.Fatal(err)
				}
				if len(full) > m.MaxSeqLength {
					truncated++
				}
				if slices.Equal(ids, refIDs[i]) {
					identical++
				} else if len(texts)-identical <= 3 || i < 3 {
					t.Errorf("text %d %.60q: token ids differ: ours %d ids %v…, Python %d ids %v…",
						i, text, len(ids), ids[:min(12, len(ids))], len(refIDs[i]), refIDs[i][:min(12, len(refIDs[i]))])
				}
			}
			if identical != len(texts) {
				t.Errorf("token ids identical for %d of %d texts", identical, len(texts))
			}
			if truncated < len(long) {
				t.Errorf("only %d texts are longer than max_seq_length %d; the long texts were meant to be", truncated, m.MaxSeqLength)
			}
			maxAbs, minCos := vecStats(t, ours, ref)
			t.Logf("%s: %d texts (%d questions%s, %d contexts, %d long; %d truncated to %d tokens): ids identical %d/%d, max |Δ| %.3g, min cosine %.9f; Go encode %.1f s",
				tc.model, len(texts), len(qs), map[bool]string{true: " with the query prompt", false: ""}[tc.prompt != ""], len(cs), len(long),
				truncated, m.MaxSeqLength, identical, len(texts), maxAbs, minCos, goSecs)
			if maxAbs > maxAbsTolerance || minCos < minCosTolerance {
				t.Errorf("embeddings differ from sentence-transformers: max |Δ| %.3g (limit %g), min cosine %.9f (limit %g)",
					maxAbs, maxAbsTolerance, minCos, minCosTolerance)
			}
			record(t, part{Kind: "encode", Encode: &encodeResult{Model: tc.model, Prompt: tc.prompt, MaxSeqLength: m.MaxSeqLength,
				Questions: len(qs), Contexts: len(cs), Long: len(long), Truncated: truncated, IDsIdentical: identical,
				MaxAbsDiff: maxAbs, MinCosine: minCos}})
		})
	}
}
