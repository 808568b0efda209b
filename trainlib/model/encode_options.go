package model

import "context"

// EncodeOptions controls [SentenceTransformer.Encode]. A nil *EncodeOptions means all defaults,
// which match sentence-transformers' SentenceTransformer.encode defaults.
type EncodeOptions struct {
	// Context cancels a long encode between batches. Default: context.Background().
	Context context.Context

	// BatchSize is the number of texts per forward pass. Default 32.
	BatchSize int

	// Prompt is prepended verbatim to every text (sentence-transformers' prompt=...).
	Prompt string

	// PromptName selects a prompt from the model's config_sentence_transformers.json "prompts"
	// (sentence-transformers' prompt_name=...). Ignored when Prompt is set.
	// Unknown names are an error that lists the known ones.
	PromptName string

	// Normalize L2-normalizes the output embeddings (sentence-transformers' normalize_embeddings=True).
	// Models with a Normalize module are always normalized.
	Normalize bool

	// TruncateDim keeps only the first TruncateDim dimensions (Matryoshka); 0 keeps all.
	TruncateDim int

	// Progress, when set, is called after each batch with the number of texts done and the total.
	Progress func(done, total int)
}
