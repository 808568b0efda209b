package tokenizer

import (
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// addedToken is a token matched in the text before the model runs (special tokens such as [CLS] and
// user-added tokens), with Hugging Face's AddedToken options.
type addedToken struct {
	Content    string
	ID         int
	Special    bool
	Normalized bool // matched on normalized text (true) or on the raw text (false)
	SingleWord bool // only matched when not inside a word
	LStrip     bool // the match swallows whitespace on its left
	RStrip     bool // the match swallows whitespace on its right
}

// segment is a piece of text: either plain text [start, end) or an added token (id >= 0).
type segment struct {
	start, end int
	id         int
}

// addedMatcher finds added tokens in text like Hugging Face's AddedVocabulary: the leftmost, then longest,
// non-overlapping matches (Aho-Corasick LeftmostLongest), then single_word / lstrip / rstrip applied.
type addedMatcher struct {
	tokens   []addedToken // patterns, longest first
	patterns []string     // what is searched for (content, or its normalized form)
	first    [256]bool    // first bytes of the patterns
}

// newAddedMatcher builds a matcher; patterns[i] is what tokens[i] matches.
func newAddedMatcher(tokens []addedToken, patterns []string) *addedMatcher {
	m := &addedMatcher{}
	idx := make([]int, 0, len(tokens))
	for i := range tokens {
		if patterns[i] != "" {
			idx = append(idx, i)
		}
	}
	sort.SliceStable(idx, func(a, b int) bool { return len(patterns[idx[a]]) > len(patterns[idx[b]]) })
	for _, i := range idx {
		m.tokens = append(m.tokens, tokens[i])
		m.patterns = append(m.patterns, patterns[i])
		m.first[patterns[i][0]] = true
	}
	return m
}

// empty reports whether there is nothing to match.
func (m *addedMatcher) empty() bool { return m == nil || len(m.tokens) == 0 }

// split cuts s into plain-text and added-token segments, appending to segs.
func (m *addedMatcher) split(s string, segs []segment) []segment {
	if m.empty() {
		if s != "" {
			segs = append(segs, segment{0, len(s), -1})
		}
		return segs
	}
	startOffset := 0
	for i := 0; i < len(s); {
		if !m.first[s[i]] {
			i++
			continue
		}
		k := -1
		for j, p := range m.patterns {
			if strings.HasPrefix(s[i:], p) {
				k = j
				break
			}
		}
		if k < 0 {
			i++
			continue
		}
		start, stop := i, i+len(m.patterns[k])
		i = stop
		tok := m.tokens[k]
		if tok.SingleWord {
			startSpace := start == 0 || !endsWithWordChar(s[:start])
			stopSpace := stop == len(s) || !startsWithWordChar(s[stop:])
			if !startSpace || !stopSpace {
				continue
			}
		}
		if tok.LStrip {
			start = max(len(strings.TrimRightFunc(s[:start], isRegexSpace)), startOffset)
		}
		if tok.RStrip {
			stop += len(s[stop:]) - len(strings.TrimLeftFunc(s[stop:], isRegexSpace))
		}
		if startOffset < start {
			segs = append(segs, segment{startOffset, start, -1})
		}
		segs = append(segs, segment{start, stop, tok.ID})
		startOffset = stop
	}
	if startOffset < len(s) {
		segs = append(segs, segment{startOffset, len(s), -1})
	}
	return segs
}

// isRegexSpace is Rust regex's Unicode \s (White_Space).
func isRegexSpace(r rune) bool { return unicode.Is(unicode.White_Space, r) }

// isRegexWord is Rust regex's Unicode \w: Alphabetic, marks, decimal digits, connector punctuation and
// the joiners.
func isRegexWord(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsMark(r) || unicode.Is(unicode.Nd, r) || unicode.Is(unicode.Pc, r) ||
		unicode.Is(unicode.Nl, r) || unicode.Is(unicode.Other_Alphabetic, r) || r == 0x200C || r == 0x200D
}

func endsWithWordChar(s string) bool {
	r, _ := utf8.DecodeLastRuneInString(s)
	return s != "" && isRegexWord(r)
}

func startsWithWordChar(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return s != "" && isRegexWord(r)
}
