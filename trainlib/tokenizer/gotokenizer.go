package tokenizer

import (
	"fmt"
	"sync"
	"unicode/utf8"
)

// goTokenizer is the pure-Go implementation: Hugging Face's pipeline for BERT WordPiece tokenizers
// (added tokens → normalizer → BertPreTokenizer → WordPiece → post-processor) reimplemented exactly.
type goTokenizer struct {
	s          *spec
	norm       []normalizerSpec
	raw        *addedMatcher // added tokens matched on the raw text
	normalized *addedMatcher // added tokens matched on normalized text
	wp         *wordPiece
	idToToken  map[int]string
	vocabSize  int
	pool       sync.Pool // *scratch
}

// scratch holds per-call buffers.
type scratch struct {
	runes, a, b []rune
	word, buf   []byte
	segs, nsegs []segment
}

// newGoTokenizer compiles a spec.
func newGoTokenizer(s *spec) (*goTokenizer, error) {
	unkID, ok := s.tokenID(s.unkToken)
	if !ok {
		return nil, fmt.Errorf("tokenizer: unknown token %q missing from the vocabulary", s.unkToken)
	}
	t := &goTokenizer{s: s, norm: s.normalizers(), wp: newWordPiece(s.vocab, unkID, s.prefix, s.maxChars), vocabSize: s.vocabSize()}
	t.pool.New = func() any { return &scratch{} }
	var rawToks, normToks []addedToken
	var rawPats, normPats []string
	for _, a := range s.added {
		if a.Normalized {
			// Hugging Face normalizes the pattern with the normalizer the token was added under (the
			// tokenizer's own, before sentence-transformers' Lowercase).
			var x, y []rune
			normToks = append(normToks, a)
			normPats = append(normPats, string(normalize(s.baseNorm, []rune(a.Content), &x, &y)))
		} else {
			rawToks = append(rawToks, a)
			rawPats = append(rawPats, a.Content)
		}
	}
	t.raw = newAddedMatcher(rawToks, rawPats)
	t.normalized = newAddedMatcher(normToks, normPats)
	t.idToToken = make(map[int]string, len(s.vocab)+len(s.added))
	for tok, id := range s.vocab {
		t.idToToken[id] = tok
	}
	for _, a := range s.added {
		t.idToToken[a.ID] = a.Content
	}
	return t, nil
}

// Encode implements [Tokenizer].
func (t *goTokenizer) Encode(text string, maxLen int) ([]int, error) {
	sc := t.pool.Get().(*scratch)
	defer t.pool.Put(sc)
	ids := t.encodeText(sanitizeUTF8(text), sc, nil)
	return t.post(ids, maxLen)
}

// EncodeBatch implements [Tokenizer].
func (t *goTokenizer) EncodeBatch(texts []string, maxLen int) ([][]int, error) {
	out := make([][]int, len(texts))
	for i, text := range texts {
		ids, err := t.Encode(text, maxLen)
		if err != nil {
			return nil, fmt.Errorf("text %d: %w", i, err)
		}
		out[i] = ids
	}
	return out, nil
}

// post truncates the text ids and adds the special tokens.
func (t *goTokenizer) post(ids []int, maxLen int) ([]int, error) {
	pre, suf := t.s.special.Prefix, t.s.special.Suffix
	kept, err := truncateSpan(ids, len(pre)+len(suf), maxLen, t.s.truncSide)
	if err != nil {
		return nil, err
	}
	out := make([]int, 0, len(pre)+len(kept)+len(suf))
	out = append(out, pre...)
	out = append(out, kept...)
	return append(out, suf...), nil
}

// encodeText runs added-token extraction, normalization, pre-tokenization and WordPiece.
func (t *goTokenizer) encodeText(text string, sc *scratch, ids []int) []int {
	sc.segs = t.raw.split(text, sc.segs[:0])
	for _, seg := range sc.segs {
		if seg.id >= 0 {
			ids = append(ids, seg.id)
			continue
		}
		sc.runes = appendRunes(sc.runes[:0], text[seg.start:seg.end])
		normed := normalize(t.norm, sc.runes, &sc.a, &sc.b)
		if t.normalized.empty() {
			ids = t.model(normed, sc, ids)
			continue
		}
		ns := string(normed)
		sc.nsegs = t.normalized.split(ns, sc.nsegs[:0])
		for _, nseg := range sc.nsegs {
			if nseg.id >= 0 {
				ids = append(ids, nseg.id)
				continue
			}
			ids = t.model([]rune(ns[nseg.start:nseg.end]), sc, ids)
		}
	}
	return ids
}

// model pre-tokenizes normalized text and runs WordPiece on each word.
func (t *goTokenizer) model(text []rune, sc *scratch, ids []int) []int {
	emit := func(word []rune) {
		sc.word = sc.word[:0]
		for _, r := range word {
			sc.word = utf8.AppendRune(sc.word, r)
		}
		ids, sc.buf = t.wp.tokenize(sc.word, len(word), ids, sc.buf)
	}
	if t.s.bertPre {
		bertPreTokenize(text, emit)
	} else if len(text) > 0 {
		emit(text)
	}
	return ids
}

// appendRunes appends the characters of s.
func appendRunes(dst []rune, s string) []rune {
	for _, r := range s {
		dst = append(dst, r)
	}
	return dst
}

// Special implements [Tokenizer].
func (t *goTokenizer) Special() SpecialTokens { return t.s.special }

// VocabSize implements [Tokenizer].
func (t *goTokenizer) VocabSize() int { return t.vocabSize }

// TokenID implements [Tokenizer].
func (t *goTokenizer) TokenID(token string) (int, bool) { return t.s.tokenID(token) }

// Token implements [Tokenizer].
func (t *goTokenizer) Token(id int) (string, bool) {
	tok, ok := t.idToToken[id]
	return tok, ok
}

// Info implements [Tokenizer].
func (t *goTokenizer) Info() Info { return t.s.info("go") }

// Close implements [Tokenizer]; the pure-Go tokenizer holds nothing outside the Go heap.
func (t *goTokenizer) Close() error { return nil }
