package tokenizer

import (
	"errors"
	"fmt"
)

// Tokenizer turns text into the token ids a BERT-style sentence-transformers model consumes, identical to
// what sentence-transformers (transformers + Hugging Face tokenizers) produces for the same model folder.
//
// Implementations are safe for concurrent use.
type Tokenizer interface {
	// Encode returns the ids of text with the special tokens added ([CLS] ... [SEP] for BERT).
	// When maxLen > 0 and the result would be longer, the text's tokens are cut so that the result has
	// exactly maxLen ids, special tokens included: with the default right truncation side the first
	// maxLen-2 text tokens are kept and [SEP] follows — what sentence-transformers' tokenizer call
	// (truncation="longest_first", max_length=max_seq_length) does. maxLen <= 0 means no truncation.
	// A maxLen smaller than the number of special tokens is an error (Hugging Face silently skips
	// truncation there). Invalid UTF-8 is handled as described in the package documentation.
	Encode(text string, maxLen int) ([]int, error)

	// EncodeBatch encodes each text like Encode; result[i] belongs to texts[i]. An empty batch gives an
	// empty result.
	EncodeBatch(texts []string, maxLen int) ([][]int, error)

	// Special returns the special tokens and their ids.
	Special() SpecialTokens

	// VocabSize is the number of distinct ids (model vocabulary plus added tokens), i.e. the smallest
	// embedding table that can hold every id Encode returns (as transformers' len(tokenizer)).
	VocabSize() int

	// TokenID returns the id of a vocabulary entry or added token.
	TokenID(token string) (int, bool)

	// Token returns the vocabulary entry or added token of an id.
	Token(id int) (string, bool)

	// Info describes the configuration in effect (where it came from, truncation and padding sides, ...).
	Info() Info

	// Close releases resources held outside the Go heap (the Rust tokenizer); further calls fail.
	Close() error
}

// SpecialTokens names the special tokens of a tokenizer and their ids; an id is -1 when the tokenizer has
// no such token.
type SpecialTokens struct {
	CLS, SEP, PAD, UNK, MASK                          int
	CLSToken, SEPToken, PADToken, UNKToken, MASKToken string
	// Prefix and Suffix are the ids the post-processor puts around a single sequence ([CLS] and [SEP]).
	Prefix, Suffix []int
}

// Side is a truncation or padding side.
type Side string

// Sides.
const (
	Right Side = "right"
	Left  Side = "left"
)

// Info describes a loaded tokenizer.
type Info struct {
	// Implementation is "go" (this package's pure-Go WordPiece pipeline) or "rust" (Hugging Face tokenizers
	// through github.com/daulet/tokenizers, build tag hftokenizers).
	Implementation string
	// Source is the file (or folder) the tokenizer was built from.
	Source string
	// TokenizerClass is the transformers tokenizer class whose loading rules were applied: "BertTokenizer"
	// (normalizer rebuilt from tokenizer_config.json, as transformers v5 does) or "" (tokenizer.json as is).
	TokenizerClass string
	// Normalizers lists the normalization steps, in order, in Python repr syntax.
	Normalizers []string
	// LowerCaseAdded is true when a Lowercase normalizer was put in front (sentence-transformers'
	// do_lower_case).
	LowerCaseAdded bool
	// TruncationSide is the side truncation removes tokens from; PaddingSide where [PAD] goes.
	TruncationSide, PaddingSide Side
	// ModelMaxLength is tokenizer_config.json's model_max_length, 0 when absent or "unlimited".
	ModelMaxLength int
	// IgnoredTruncation / IgnoredPadding record tokenizer.json's own truncation/padding blocks, which are
	// not applied (sentence-transformers overrides them on every call).
	IgnoredTruncation, IgnoredPadding bool
}

// ErrClosed is returned by a closed Tokenizer.
var ErrClosed = errors.New("tokenizer: closed")

// truncateSpan returns the part of the text ids to keep so that, with nAdded special tokens, at most
// maxLen ids remain (Hugging Face truncate_encodings for a single sequence with stride 0).
func truncateSpan(ids []int, nAdded, maxLen int, side Side) ([]int, error) {
	if maxLen <= 0 || len(ids)+nAdded <= maxLen {
		return ids, nil
	}
	if maxLen < nAdded {
		return nil, fmt.Errorf("tokenizer: max length %d is smaller than the %d special tokens added to every sequence", maxLen, nAdded)
	}
	keep := maxLen - nAdded
	if side == Left {
		return ids[len(ids)-keep:], nil
	}
	return ids[:keep], nil
}
