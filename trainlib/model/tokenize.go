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
// promptLength is PromptLength(prompt). A text that cannot be tokenized is a *TokenizeError giving its
// index.
func (m *SentenceTransformer) Tokenize(texts []string, prompt string, maxLength int) (ids [][]int, promptLength int, err error) {
	if maxLength == 0 {
		maxLength = m.MaxSeqLength
	}
	if promptLength, err = m.PromptLength(prompt); err != nil {
		return nil, 0, err
	}
	ids = make([][]int, len(texts))
	for i, t := range texts {
		if ids[i], err = m.Tokenizer.Encode(prompt+t, maxLength); err != nil {
			return nil, 0, &TokenizeError{Index: i, Err: err}
		}
	}
	return ids, promptLength, nil
}

// PromptLength returns how many leading tokens of prompt+text the Pooling module leaves out: 0 when it
// includes the prompt (include_prompt, the default) or prompt is empty, else the prompt's tokens with [CLS]
// and without the final [SEP], as sentence-transformers counts them.
func (m *SentenceTransformer) PromptLength(prompt string) (int, error) {
	if prompt == "" || m.Pooling.IncludePrompt {
		return 0, nil
	}
	ids, err := m.Tokenizer.Encode(prompt, 0)
	if err != nil {
		return 0, fmt.Errorf("tokenizing the prompt %q: %w", prompt, err)
	}
	return len(ids) - 1, nil
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
