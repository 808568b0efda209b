package tokenizer

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// normalizerSpec is one Hugging Face normalizer this package implements exactly.
//
//   - "BertNormalizer": per character, in this order over the whole text:
//     clean_text deletes "\0", U+FFFD and control/format/private-use characters (not \t \n \r) and turns
//     whitespace into " "; handle_chinese_chars surrounds CJK ideographs with spaces;
//     strip_accents (default: the value of lowercase) replaces c by NFD(c) without non-spacing marks;
//     lowercase replaces c by its full lowercase mapping.
//   - "Lowercase": the lowercase step alone (sentence-transformers' do_lower_case adds it in front).
//
// The character sets come from unicode_tables.go, measured on the reference library.
type normalizerSpec struct {
	Kind         string
	CleanText    bool
	Chinese      bool
	StripAccents *bool
	Lowercase    bool
}

// strips reports whether the BertNormalizer strips accents (strip_accents, defaulting to lowercase).
func (n normalizerSpec) strips() bool {
	if n.StripAccents != nil {
		return *n.StripAccents
	}
	return n.Lowercase
}

// String describes the normalizer like the Python repr.
func (n normalizerSpec) String() string {
	if n.Kind == "Lowercase" {
		return "Lowercase()"
	}
	sa := "None"
	if n.StripAccents != nil {
		sa = fmt.Sprint(*n.StripAccents)
	}
	return fmt.Sprintf("BertNormalizer(clean_text=%v, handle_chinese_chars=%v, strip_accents=%s, lowercase=%v)", n.CleanText, n.Chinese, sa, n.Lowercase)
}

// toJSON renders the normalizer in tokenizer.json syntax.
func (n normalizerSpec) toJSON() map[string]any {
	if n.Kind == "Lowercase" {
		return map[string]any{"type": "Lowercase"}
	}
	var sa any
	if n.StripAccents != nil {
		sa = *n.StripAccents
	}
	return map[string]any{"type": "BertNormalizer", "clean_text": n.CleanText, "handle_chinese_chars": n.Chinese, "strip_accents": sa, "lowercase": n.Lowercase}
}

// normalizersToJSON renders a normalizer pipeline as tokenizer.json's "normalizer" value.
func normalizersToJSON(ns []normalizerSpec) any {
	switch len(ns) {
	case 0:
		return nil
	case 1:
		return ns[0].toJSON()
	}
	list := make([]any, len(ns))
	for i, n := range ns {
		list[i] = n.toJSON()
	}
	return map[string]any{"type": "Sequence", "normalizers": list}
}

// parseNormalizers decodes tokenizer.json's "normalizer" (null, one normalizer, or a Sequence).
func parseNormalizers(name string, raw json.RawMessage) ([]normalizerSpec, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	var head struct {
		Type        string            `json:"type"`
		Normalizers []json.RawMessage `json:"normalizers"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return nil, fmt.Errorf("%s: field \"normalizer\": %w", name, err)
	}
	if head.Type == "Sequence" {
		var out []normalizerSpec
		for i, r := range head.Normalizers {
			ns, err := parseNormalizers(fmt.Sprintf("%s (normalizer.normalizers[%d])", name, i), r)
			if err != nil {
				return nil, err
			}
			out = append(out, ns...)
		}
		return out, nil
	}
	switch head.Type {
	case "Lowercase":
		return []normalizerSpec{{Kind: "Lowercase"}}, nil
	case "BertNormalizer":
		var b struct {
			CleanText          *bool `json:"clean_text"`
			HandleChineseChars *bool `json:"handle_chinese_chars"`
			StripAccents       *bool `json:"strip_accents"`
			Lowercase          *bool `json:"lowercase"`
		}
		if err := json.Unmarshal(raw, &b); err != nil {
			return nil, fmt.Errorf("%s: field \"normalizer\": %w", name, err)
		}
		def := func(p *bool) bool { return p == nil || *p } // Hugging Face defaults are all true
		return []normalizerSpec{{Kind: "BertNormalizer", CleanText: def(b.CleanText), Chinese: def(b.HandleChineseChars), StripAccents: b.StripAccents, Lowercase: def(b.Lowercase)}}, nil
	}
	return nil, fmt.Errorf("%s: field \"normalizer.type\" is %q; the pure-Go tokenizer supports BertNormalizer, Lowercase and Sequence of them", name, head.Type)
}

// hasLowercase mirrors sentence-transformers' _has_lowercase: true if the pipeline is, or contains, a
// Lowercase normalizer (a BertNormalizer with lowercase=true does not count).
func hasLowercase(ns []normalizerSpec) bool {
	for _, n := range ns {
		if n.Kind == "Lowercase" {
			return true
		}
	}
	return false
}

// normalize applies the pipeline to src. It alternates between the two scratch buffers so that no step
// reads the buffer it writes; the result aliases src (empty pipeline) or one of the buffers.
func normalize(ns []normalizerSpec, src []rune, a, b *[]rune) []rune {
	cur := src
	for i, n := range ns {
		buf := a
		if i%2 == 1 {
			buf = b
		}
		*buf = n.apply((*buf)[:0], cur)
		cur = *buf
	}
	return cur
}

// apply runs one normalizer over src, appending to dst. Every step of BertNormalizer maps each character
// independently, so running the steps per character equals running each step over the whole text.
// (NFD's canonical reordering could only matter for the few spacing marks with a non-zero combining class,
// e.g. U+1D165; their order is kept as written.)
func (n normalizerSpec) apply(dst, src []rune) []rune {
	if n.Kind == "Lowercase" {
		for _, r := range src {
			dst = appendLower(dst, r)
		}
		return dst
	}
	strip := n.strips()
	var scratch [8]rune
	for _, r := range src {
		c := classOf(r)
		if n.CleanText {
			if c&classRemoved != 0 {
				continue
			}
			if c&classCleanSpace != 0 {
				dst = append(dst, ' ')
				continue
			}
		}
		chinese := n.Chinese && c&classChinese != 0
		if chinese {
			dst = append(dst, ' ')
		}
		switch {
		case r < 128:
			if n.Lowercase && r >= 'A' && r <= 'Z' {
				r += 'a' - 'A'
			}
			dst = append(dst, r)
		case strip && n.Lowercase:
			for _, s := range appendStripped(scratch[:0], r) {
				dst = appendLower(dst, s)
			}
		case strip:
			dst = appendStripped(dst, r)
		case n.Lowercase:
			dst = appendLower(dst, r)
		default:
			dst = append(dst, r)
		}
		if chinese {
			dst = append(dst, ' ')
		}
	}
	return dst
}
