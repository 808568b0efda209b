package tokenizer

import (
	"strings"
	"unicode/utf8"
)

// sanitizeUTF8 returns s with every ill-formed UTF-8 sequence replaced by U+FFFD exactly as Python's
// bytes.decode("utf-8", errors="replace") does: one U+FFFD per maximal subpart of an ill-formed
// subsequence (Unicode §3.9, "U+FFFD Substitution of Maximal Subparts"). A Python user can only tokenize
// a str, so this is the text they would get from the same bytes. Valid input is returned unchanged.
//
// Example: "a\xe2\x82b" (a truncated 3-byte sequence) becomes "a\ufffdb", and "\xff\xfe" becomes
// "\ufffd\ufffd". With BERT's clean_text the U+FFFD characters are then deleted.
func sanitizeUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			b.WriteByte(c)
			i++
			continue
		}
		if r, size := utf8.DecodeRuneInString(s[i:]); r != utf8.RuneError || size > 1 {
			b.WriteString(s[i : i+size])
			i += size
			continue
		}
		// Ill-formed: consume the maximal subpart (a prefix of a well-formed sequence), at least one byte.
		b.WriteRune(utf8.RuneError)
		i += maximalSubpart(s[i:])
	}
	return b.String()
}

// maximalSubpart returns the length (>= 1) of the longest prefix of s that starts a well-formed UTF-8
// sequence (Unicode Table 3-7) without completing it.
func maximalSubpart(s string) int {
	lead := s[0]
	var need int
	lo, hi := byte(0x80), byte(0xBF) // allowed range of the second byte
	switch {
	case lead >= 0xC2 && lead <= 0xDF:
		need = 1
	case lead == 0xE0:
		need, lo = 2, 0xA0
	case lead >= 0xE1 && lead <= 0xEC, lead == 0xEE, lead == 0xEF:
		need = 2
	case lead == 0xED:
		need, hi = 2, 0x9F
	case lead == 0xF0:
		need, lo = 3, 0x90
	case lead >= 0xF1 && lead <= 0xF3:
		need = 3
	case lead == 0xF4:
		need, hi = 3, 0x8F
	default:
		return 1
	}
	n := 1
	for k := 0; k < need && n < len(s); k++ {
		b := s[n]
		if k == 0 {
			if b < lo || b > hi {
				break
			}
		} else if b < 0x80 || b > 0xBF {
			break
		}
		n++
	}
	return n
}
