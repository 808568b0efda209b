package tokenizer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
)

// tokenizerJSONBytes renders the spec as a Hugging Face tokenizer.json (format version 1.0) that the Rust
// library loads into the same pipeline: the normalizers in effect (sentence-transformers' Lowercase
// included), BertPreTokenizer, WordPiece with the resolved options, the added tokens with their resolved
// ids, and a TemplateProcessing post-processor. No truncation or padding block is written.
func (s *spec) tokenizerJSONBytes() ([]byte, error) {
	type kv struct {
		tok string
		id  int
	}
	vocab := make([]kv, 0, len(s.vocab))
	for t, id := range s.vocab {
		vocab = append(vocab, kv{t, id})
	}
	sort.Slice(vocab, func(i, j int) bool { return vocab[i].id < vocab[j].id })

	var b bytes.Buffer
	b.WriteString("{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n  \"added_tokens\": [")
	added := append([]addedToken(nil), s.added...)
	sort.SliceStable(added, func(i, j int) bool { return added[i].ID < added[j].ID })
	for i, a := range added {
		if i > 0 {
			b.WriteByte(',')
		}
		tok := map[string]any{"id": a.ID, "content": a.Content, "single_word": a.SingleWord, "lstrip": a.LStrip,
			"rstrip": a.RStrip, "normalized": a.Normalized, "special": a.Special}
		if err := writeJSONField(&b, "\n    ", tok); err != nil {
			return nil, err
		}
	}
	b.WriteString("\n  ],\n")
	var pre any
	if s.bertPre {
		pre = map[string]any{"type": "BertPreTokenizer"}
	}
	specials := map[string]any{}
	var single, pair []any
	seq := func(id string, typeID int) any {
		return map[string]any{"Sequence": map[string]any{"id": id, "type_id": typeID}}
	}
	sp := func(tok string, typeID int) any {
		id, _ := s.tokenID(tok)
		specials[tok] = map[string]any{"id": tok, "ids": []int{id}, "tokens": []string{tok}}
		return map[string]any{"SpecialToken": map[string]any{"id": tok, "type_id": typeID}}
	}
	for _, t := range s.prefixTokens {
		single, pair = append(single, sp(t, 0)), append(pair, sp(t, 0))
	}
	single, pair = append(single, seq("A", 0)), append(pair, seq("A", 0))
	for _, t := range s.suffixTokens {
		single, pair = append(single, sp(t, 0)), append(pair, sp(t, 0))
	}
	pair = append(pair, seq("B", 1))
	for _, t := range s.suffixTokens {
		pair = append(pair, sp(t, 1))
	}
	sections := []struct {
		key string
		val any
	}{
		{"normalizer", normalizersToJSON(s.normalizers())},
		{"pre_tokenizer", pre},
		{"post_processor", map[string]any{"type": "TemplateProcessing", "single": single, "pair": pair, "special_tokens": specials}},
		{"decoder", map[string]any{"type": "WordPiece", "prefix": s.prefix, "cleanup": true}},
	}
	for _, sec := range sections {
		fmt.Fprintf(&b, "  %q: ", sec.key)
		if err := writeJSONField(&b, "", sec.val); err != nil {
			return nil, err
		}
		b.WriteString(",\n")
	}
	b.WriteString("  \"model\": {\n    \"type\": \"WordPiece\",\n    \"unk_token\": ")
	if err := writeJSONField(&b, "", s.unkToken); err != nil {
		return nil, err
	}
	b.WriteString(",\n    \"continuing_subword_prefix\": ")
	if err := writeJSONField(&b, "", s.prefix); err != nil {
		return nil, err
	}
	fmt.Fprintf(&b, ",\n    \"max_input_chars_per_word\": %d,\n    \"vocab\": {", s.maxChars)
	for i, e := range vocab {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("\n      ")
		if err := writeJSONField(&b, "", e.tok); err != nil {
			return nil, err
		}
		fmt.Fprintf(&b, ": %d", e.id)
	}
	b.WriteString("\n    }\n  }\n}\n")
	return b.Bytes(), nil
}

// writeJSONField writes prefix then v as compact JSON without HTML escaping.
func writeJSONField(b *bytes.Buffer, prefix string, v any) error {
	var tmp bytes.Buffer
	enc := json.NewEncoder(&tmp)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("encoding tokenizer.json: %w", err)
	}
	b.WriteString(prefix)
	b.Write(bytes.TrimRight(tmp.Bytes(), "\n"))
	return nil
}
