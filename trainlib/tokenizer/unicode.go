package tokenizer

import "sort"

// runeRange is an inclusive range of code points [lo, hi].
type runeRange struct{ lo, hi rune }

// runeRanges is a sorted, non-overlapping list of ranges; see unicode_tables.go.
type runeRanges []runeRange

// contains reports whether r lies in one of the ranges (binary search, O(log n)).
func (rs runeRanges) contains(r rune) bool {
	i := sort.Search(len(rs), func(i int) bool { return rs[i].hi >= r })
	return i < len(rs) && rs[i].lo <= r
}

// runeMapping maps one code point to a replacement string.
type runeMapping struct {
	r  rune
	to string
}

// runeMappings is sorted by r; see unicode_tables.go.
type runeMappings []runeMapping

// lookup returns the replacement of r and whether there is one.
func (ms runeMappings) lookup(r rune) (string, bool) {
	i := sort.Search(len(ms), func(i int) bool { return ms[i].r >= r })
	if i < len(ms) && ms[i].r == r {
		return ms[i].to, true
	}
	return "", false
}

// Hangul syllable decomposition constants (Unicode §3.12): S = SBase + (L·VCount + V)·TCount + T.
const (
	hangulSBase  = 0xAC00
	hangulLBase  = 0x1100
	hangulVBase  = 0x1161
	hangulTBase  = 0x11A7
	hangulTCount = 28
	hangulNCount = 588
	hangulSCount = 11172
)

// charClass caches, for one code point, every property the BERT pipeline asks about.
type charClass uint8

const (
	classRemoved    charClass = 1 << iota // deleted by clean_text
	classCleanSpace                       // replaced by " " by clean_text
	classChinese                          // padded with spaces by handle_chinese_chars
	classSplitSpace                       // whitespace for BertPreTokenizer
	classPunct                            // punctuation for BertPreTokenizer
	classMark                             // deleted by strip_accents
)

// asciiClasses holds the classes of the 128 ASCII code points (computed once from the generated tables,
// read-only afterwards) so that the common case needs no binary search.
var asciiClasses = func() (t [128]charClass) {
	for r := rune(0); r < 128; r++ {
		t[r] = lookupClass(r)
	}
	return t
}()

// classTables pairs each generated table with the class its code points have.
var classTables = []struct {
	table runeRanges
	class charClass
}{
	{hfRemoved, classRemoved}, {hfCleanSpace, classCleanSpace}, {hfChinese, classChinese},
	{hfSplitSpace, classSplitSpace}, {hfPunct, classPunct}, {hfStripRemoved, classMark},
}

// lookupClass computes the class of r from the generated tables.
func lookupClass(r rune) charClass {
	var c charClass
	for _, t := range classTables {
		if t.table.contains(r) {
			c |= t.class
		}
	}
	return c
}

// classOf returns the class of r.
func classOf(r rune) charClass {
	if r >= 0 && r < 128 {
		return asciiClasses[r]
	}
	return lookupClass(r)
}

// appendStripped appends NFD(r) without non-spacing marks (Hugging Face strip_accents on one character).
func appendStripped(dst []rune, r rune) []rune {
	if r < 128 {
		return append(dst, r)
	}
	if r >= hangulSBase && r < hangulSBase+hangulSCount {
		s := r - hangulSBase
		dst = append(dst, hangulLBase+s/hangulNCount, hangulVBase+(s%hangulNCount)/hangulTCount)
		if t := s % hangulTCount; t != 0 {
			dst = append(dst, hangulTBase+t)
		}
		return dst
	}
	if hfStripRemoved.contains(r) {
		return dst
	}
	if to, ok := hfStripMap.lookup(r); ok {
		for _, x := range to {
			dst = append(dst, x)
		}
		return dst
	}
	return append(dst, r)
}

// appendLower appends the full lowercase mapping of r (Rust char::to_lowercase, as Hugging Face uses).
func appendLower(dst []rune, r rune) []rune {
	if r < 128 {
		if r >= 'A' && r <= 'Z' {
			r += 'a' - 'A'
		}
		return append(dst, r)
	}
	if to, ok := hfLowerMap.lookup(r); ok {
		for _, x := range to {
			dst = append(dst, x)
		}
		return dst
	}
	return append(dst, r)
}
