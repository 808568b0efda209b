package model

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/gomlx/go-huggingface/tokenizers/api"
	"github.com/gomlx/go-huggingface/tokenizers/hftokenizer"
)

// TextTokenizer is what the model needs from a tokenizer: ids with special tokens, truncated to
// maxLen as sentence-transformers does, and the padding id.
type TextTokenizer interface {
	Encode(text string, maxLen int) ([]int, error)
	PadID() int
}

type hfTok struct {
	t     *hftokenizer.Tokenizer
	pad   int
	sep   int
	lower bool
}

func loadTokenizer(dir string, doLowerCase bool) (TextTokenizer, error) {
	path := filepath.Join(dir, "tokenizer.json")
	cfg := &api.Config{}
	t, err := hftokenizer.NewFromFile(cfg, path)
	if err != nil {
		return nil, fmt.Errorf("loading tokenizer %s: %w", path, err)
	}
	pad, _ := t.TokenToID("[PAD]")
	sep, _ := t.TokenToID("[SEP]")
	return &hfTok{t: t, pad: pad, sep: sep, lower: doLowerCase}, nil
}

func (h *hfTok) Encode(text string, maxLen int) ([]int, error) {
	if h.lower {
		text = strings.ToLower(text)
	}
	ids := h.t.Encode(text)
	if maxLen > 0 && len(ids) > maxLen {
		ids = append(ids[:maxLen-1:maxLen-1], h.sep)
	}
	return ids, nil
}

func (h *hfTok) PadID() int { return h.pad }
