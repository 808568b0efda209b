package model

import (
	"fmt"

	"github.com/embedtune/embedtune/trainlib/tokenizer"
	"github.com/gomlx/gomlx/core/tensors"
)

// Tokenize tokenizes texts as sentence-transformers does when it encodes them with a prompt: each text is
// prompt + text, tokenized with [CLS] … [SEP] and truncated to maxLength tokens (0: the model's
// max_seq_length). It is the one tokenization of Encode, of the trainer's batches and of embedtune tokenize.
//
// promptLength is what Pooling needs to leave the prompt out (include_prompt=false): the number of the
// prompt's tokens without its final [SEP], as sentence-transformers counts them; it is 0 without a prompt or
// when the pooling includes it. A text that cannot be tokenized is a *TokenizeError giving its index.
func (m *SentenceTransformer) Tokenize(texts []string, prompt string, maxLength int) (ids [][]int, promptLength int, err error) {
	if maxLength == 0 {
		maxLength = m.MaxSeqLength
	}
	if prompt != "" && !m.Pooling.IncludePrompt {
		p, err := m.Tokenizer.Encode(prompt, 0)
		if err != nil {
			return nil, 0, fmt.Errorf("tokenizing the prompt %q: %w", prompt, err)
		}
		promptLength = len(p) - 1
	}
	ids = make([][]int, len(texts))
	for i, t := range texts {
		if ids[i], err = m.Tokenizer.Encode(prompt+t, maxLength); err != nil {
			return nil, 0, &TokenizeError{Index: i, Err: err}
		}
	}
	return ids, promptLength, nil
}

// TokenizeError is the error of a text that could not be tokenized.
type TokenizeError struct {
	Index int // the text's index in the Tokenize call
	Err   error
}

func (e *TokenizeError) Error() string { return fmt.Sprintf("tokenizing text %d: %v", e.Index, e.Err) }

func (e *TokenizeError) Unwrap() error { return e.Err }

// Pad turns token sequences into the ids and attention mask graph inputs of one batch of at most maxRows
// rows (see PadBatch), on the tokenizer's padding side.
func (m *SentenceTransformer) Pad(seqs [][]int, maxRows int) (ids, mask *tensors.Tensor) {
	return PadBatch(seqs, m.MaxSeqLength, maxRows, m.Tokenizer.Special().PAD, m.Tokenizer.Info().PaddingSide == tokenizer.Left)
}
