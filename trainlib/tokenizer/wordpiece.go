package tokenizer

import (
	"unicode/utf8"
)

// wordPiece is the WordPiece model of Hugging Face tokenizers: greedy longest-match-first segmentation of
// one pre-tokenized word into vocabulary entries, continuation pieces carrying a prefix ("##").
//
// For a word w of n characters: if n > maxChars the result is [unk]. Otherwise, from start = 0, the longest
// w[start:end] (with the prefix when start > 0) found in the vocabulary is emitted and start = end; if no
// such piece exists at some start, the whole word becomes [unk].
type wordPiece struct {
	vocab    map[string]int
	unkID    int
	prefix   string
	maxChars int
	maxBytes int // longest vocabulary entry in bytes: longer candidates cannot match
}

// newWordPiece prepares the model; unkID must be a valid id.
func newWordPiece(vocab map[string]int, unkID int, prefix string, maxChars int) *wordPiece {
	wp := &wordPiece{vocab: vocab, unkID: unkID, prefix: prefix, maxChars: maxChars}
	for tok := range vocab {
		wp.maxBytes = max(wp.maxBytes, len(tok))
	}
	return wp
}

// tokenize appends the ids of word (UTF-8, nChars characters) to ids. buf is scratch space, returned for
// reuse.
func (wp *wordPiece) tokenize(word []byte, nChars int, ids []int, buf []byte) ([]int, []byte) {
	if len(word) == 0 {
		return ids, buf
	}
	if nChars > wp.maxChars {
		return append(ids, wp.unkID), buf
	}
	first := len(ids)
	start := 0
	for start < len(word) {
		end := len(word)
		if end-start > wp.maxBytes {
			end = start + wp.maxBytes
			for end > start && !utf8.RuneStart(word[end]) {
				end--
			}
		}
		found := -1
		for end > start {
			buf = buf[:0]
			if start > 0 {
				buf = append(buf, wp.prefix...)
			}
			buf = append(buf, word[start:end]...)
			if id, ok := wp.vocab[string(buf)]; ok {
				found = id
				break
			}
			_, size := utf8.DecodeLastRune(word[start:end])
			end -= size
		}
		if found < 0 {
			return append(ids[:first], wp.unkID), buf
		}
		ids = append(ids, found)
		start = end
	}
	return ids, buf
}
