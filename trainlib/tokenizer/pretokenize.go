package tokenizer

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// parsePreTokenizer decodes tokenizer.json's "pre_tokenizer": null (no splitting) or BertPreTokenizer
// (alone or as the only member of a Sequence). It returns whether BERT pre-tokenization applies.
func parsePreTokenizer(name string, raw json.RawMessage) (bool, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return false, nil
	}
	var head struct {
		Type          string            `json:"type"`
		PreTokenizers []json.RawMessage `json:"pretokenizers"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return false, fmt.Errorf("%s: field \"pre_tokenizer\": %w", name, err)
	}
	switch {
	case head.Type == "BertPreTokenizer":
		return true, nil
	case head.Type == "Sequence" && len(head.PreTokenizers) == 1:
		return parsePreTokenizer(name, head.PreTokenizers[0])
	}
	return false, fmt.Errorf("%s: field \"pre_tokenizer.type\" is %q; the pure-Go tokenizer supports BertPreTokenizer", name, head.Type)
}

// bertPreTokenize calls emit for each word of text as Hugging Face's BertPreTokenizer splits it: whitespace
// (Rust char::is_whitespace) separates words and is dropped; each punctuation character (ASCII
// punctuation or Unicode P*) is a word of its own.
func bertPreTokenize(text []rune, emit func(word []rune)) {
	start := -1
	for i, r := range text {
		c := classOf(r)
		if c&(classSplitSpace|classPunct) == 0 {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			emit(text[start:i])
			start = -1
		}
		if c&classPunct != 0 {
			emit(text[i : i+1])
		}
	}
	if start >= 0 {
		emit(text[start:])
	}
}
