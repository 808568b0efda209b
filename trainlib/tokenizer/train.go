package tokenizer

import (
	"container/heap"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/embedtune/embedtune/internal/atomicio"
)

// TrainOptions controls [TrainWordPiece]. The zero value trains an uncased BERT tokenizer.
type TrainOptions struct {
	// Cased keeps case and accents (BertNormalizer lowercase=false); the default lowercases and strips
	// accents like bert-base-uncased.
	Cased bool
	// MinFrequency is the minimum count of a pair to be merged (default 2).
	MinFrequency int
	// ModelMaxLength is written to tokenizer_config.json (default 512).
	ModelMaxLength int
}

// WordPieceVocab is a trained BERT WordPiece vocabulary; Save writes it as a Hugging Face tokenizer folder.
type WordPieceVocab struct {
	// Tokens lists the vocabulary; a token's id is its index.
	Tokens []string
	// Cased records TrainOptions.Cased.
	Cased          bool
	modelMaxLength int
}

// Special tokens of trained vocabularies, with the ids transformers' BertTokenizer uses by default.
var trainSpecials = []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}

// TrainWordPiece learns a WordPiece vocabulary of at most vocabSize entries from texts, deterministically.
//
// Texts go through the same normalizer and BertPreTokenizer the resulting tokenizer uses. The vocabulary
// is: the five special tokens ([PAD]=0, [UNK]=1, [CLS]=2, [SEP]=3, [MASK]=4); every character seen at the
// start of a word and, with the "##" prefix, inside a word (most frequent first); then the results of
// merges. Each merge takes the adjacent pair of pieces (a, b) with the highest count over the corpus
// (ties: the lexicographically smallest a+" "+b) and adds a+b without b's "##" — the WordPiece training
// scheme of Hugging Face's WordPieceTrainer (BPE with a continuing-subword prefix). Training stops at
// vocabSize entries or when no pair occurs MinFrequency times.
func TrainWordPiece(texts []string, vocabSize int, opts *TrainOptions) (*WordPieceVocab, error) {
	if opts == nil {
		opts = &TrainOptions{}
	}
	minFreq := opts.MinFrequency
	if minFreq <= 0 {
		minFreq = 2
	}
	if vocabSize < len(trainSpecials)+1 {
		return nil, fmt.Errorf("tokenizer: TrainWordPiece: vocabSize %d is too small (need more than the %d special tokens)", vocabSize, len(trainSpecials))
	}
	norm := []normalizerSpec{{Kind: "BertNormalizer", CleanText: true, Chinese: true, Lowercase: !opts.Cased}}
	counts := map[string]int{}
	var a, b []rune
	for _, text := range texts {
		normed := normalize(norm, []rune(sanitizeUTF8(text)), &a, &b)
		bertPreTokenize(normed, func(w []rune) {
			if len(w) <= 100 {
				counts[string(w)]++
			}
		})
	}
	if len(counts) == 0 {
		return nil, errors.New("tokenizer: TrainWordPiece: the corpus has no words")
	}
	tr := newBPETrainer(counts)
	tokens := append([]string(nil), trainSpecials...)
	seen := map[string]bool{}
	for _, t := range tokens {
		seen[t] = true
	}
	for _, sym := range tr.alphabet() {
		if len(tokens) >= vocabSize {
			break
		}
		if !seen[sym] {
			seen[sym] = true
			tokens = append(tokens, sym)
		}
	}
	for len(tokens) < vocabSize {
		merged, ok := tr.merge(minFreq)
		if !ok {
			break
		}
		if !seen[merged] {
			seen[merged] = true
			tokens = append(tokens, merged)
		}
	}
	mml := opts.ModelMaxLength
	if mml <= 0 {
		mml = 512
	}
	return &WordPieceVocab{Tokens: tokens, Cased: opts.Cased, modelMaxLength: mml}, nil
}

// bpeTrainer runs the merges over the distinct words.
type bpeTrainer struct {
	words  [][]string // pieces of each distinct word ("##" on non-initial pieces)
	freq   []int      // count of each distinct word
	pairs  map[[2]string]int
	where  map[[2]string]map[int]bool // words containing the pair
	queue  pairHeap
	counts map[string]int // symbol frequencies, for the alphabet order
}

func newBPETrainer(counts map[string]int) *bpeTrainer {
	words := slices.Sorted(maps.Keys(counts))
	tr := &bpeTrainer{pairs: map[[2]string]int{}, where: map[[2]string]map[int]bool{}, counts: map[string]int{}}
	for i, w := range words {
		var pieces []string
		for j, r := range w {
			p := string(r)
			if j > 0 {
				p = "##" + p
			}
			pieces = append(pieces, p)
			tr.counts[p] += counts[w]
		}
		tr.words = append(tr.words, pieces)
		tr.freq = append(tr.freq, counts[w])
		tr.addPairs(i, +1)
	}
	for p, c := range tr.pairs {
		heap.Push(&tr.queue, pairCount{p, c})
	}
	return tr
}

// alphabet lists the single-character pieces, most frequent first (ties by string).
func (tr *bpeTrainer) alphabet() []string {
	syms := make([]string, 0, len(tr.counts))
	for s := range tr.counts {
		syms = append(syms, s)
	}
	sort.Slice(syms, func(i, j int) bool {
		if tr.counts[syms[i]] != tr.counts[syms[j]] {
			return tr.counts[syms[i]] > tr.counts[syms[j]]
		}
		return syms[i] < syms[j]
	})
	return syms
}

// addPairs adds (sign=+1) or removes (-1) the pairs of word i from the counts.
func (tr *bpeTrainer) addPairs(i, sign int) {
	w := tr.words[i]
	for k := 0; k+1 < len(w); k++ {
		p := [2]string{w[k], w[k+1]}
		tr.pairs[p] += sign * tr.freq[i]
		if sign > 0 {
			if tr.where[p] == nil {
				tr.where[p] = map[int]bool{}
			}
			tr.where[p][i] = true
		}
	}
}

// merge applies the best pair and returns the new piece.
func (tr *bpeTrainer) merge(minFreq int) (string, bool) {
	for tr.queue.Len() > 0 {
		top := heap.Pop(&tr.queue).(pairCount)
		cur := tr.pairs[top.pair]
		if cur != top.count {
			continue // stale entry; the current count was pushed when it changed
		}
		if cur < minFreq {
			return "", false
		}
		merged := top.pair[0] + strings.TrimPrefix(top.pair[1], "##")
		touched := map[[2]string]bool{}
		idx := make([]int, 0, len(tr.where[top.pair]))
		for i := range tr.where[top.pair] {
			idx = append(idx, i)
		}
		slices.Sort(idx)
		for _, i := range idx {
			before := tr.words[i]
			tr.addPairs(i, -1)
			for k := 0; k+1 < len(before); k++ {
				touched[[2]string{before[k], before[k+1]}] = true
			}
			var after []string
			for k := 0; k < len(before); k++ {
				if k+1 < len(before) && before[k] == top.pair[0] && before[k+1] == top.pair[1] {
					after = append(after, merged)
					k++
					continue
				}
				after = append(after, before[k])
			}
			tr.words[i] = after
			tr.addPairs(i, +1)
			for k := 0; k+1 < len(after); k++ {
				touched[[2]string{after[k], after[k+1]}] = true
			}
		}
		delete(tr.where, top.pair)
		for p := range touched {
			if c := tr.pairs[p]; c > 0 {
				heap.Push(&tr.queue, pairCount{p, c})
			} else {
				delete(tr.pairs, p)
			}
		}
		return merged, true
	}
	return "", false
}

type pairCount struct {
	pair  [2]string
	count int
}

// pairHeap orders by count (highest first), then by a+" "+b.
type pairHeap []pairCount

func (h pairHeap) Len() int { return len(h) }
func (h pairHeap) Less(i, j int) bool {
	if h[i].count != h[j].count {
		return h[i].count > h[j].count
	}
	if h[i].pair[0] != h[j].pair[0] {
		return h[i].pair[0]+" "+h[i].pair[1] < h[j].pair[0]+" "+h[j].pair[1]
	}
	return h[i].pair[1] < h[j].pair[1]
}
func (h pairHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *pairHeap) Push(x any)   { *h = append(*h, x.(pairCount)) }
func (h *pairHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// spec builds the tokenizer the vocabulary describes.
func (v *WordPieceVocab) spec(source string) (*spec, error) {
	vocab := make(map[string]int, len(v.Tokens))
	for i, t := range v.Tokens {
		if _, dup := vocab[t]; dup {
			return nil, fmt.Errorf("tokenizer: vocabulary has %q twice", t)
		}
		vocab[t] = i
	}
	s := &spec{source: source, class: "BertTokenizer", vocab: vocab, unkToken: "[UNK]", prefix: "##", maxChars: 100,
		baseNorm: []normalizerSpec{{Kind: "BertNormalizer", CleanText: true, Chinese: true, Lowercase: !v.Cased}},
		bertPre:  true, prefixTokens: []string{"[CLS]"}, suffixTokens: []string{"[SEP]"},
		truncSide: Right, padSide: Right, modelMaxLength: v.modelMaxLength}
	for _, t := range trainSpecials {
		if _, ok := vocab[t]; !ok {
			return nil, fmt.Errorf("tokenizer: vocabulary lacks the special token %s", t)
		}
		s.added = append(s.added, addedToken{Content: t, ID: vocab[t], Special: true})
	}
	s.addNamed(map[string]tokenField{
		"unk": {set: true, def: addedTokenDef{Content: "[UNK]"}}, "sep": {set: true, def: addedTokenDef{Content: "[SEP]"}},
		"pad": {set: true, def: addedTokenDef{Content: "[PAD]"}}, "cls": {set: true, def: addedTokenDef{Content: "[CLS]"}},
		"mask": {set: true, def: addedTokenDef{Content: "[MASK]"}},
	})
	if err := s.finish(); err != nil {
		return nil, err
	}
	return s, nil
}

// Tokenizer returns the pure-Go tokenizer of the vocabulary (the same one [Load] gives for the folder
// [WordPieceVocab.Save] writes).
func (v *WordPieceVocab) Tokenizer() (Tokenizer, error) {
	s, err := v.spec("trained WordPiece vocabulary")
	if err != nil {
		return nil, err
	}
	return newGoTokenizer(s)
}

// Save writes dir/tokenizer.json, vocab.txt, tokenizer_config.json and special_tokens_map.json (each
// written to a temporary file and renamed), a folder that Hugging Face transformers, sentence-transformers
// and [Load] read. dir is created if needed.
func (v *WordPieceVocab) Save(dir string) error {
	s, err := v.spec(dir)
	if err != nil {
		return err
	}
	tj, err := s.tokenizerJSONBytes()
	if err != nil {
		return err
	}
	for _, t := range v.Tokens {
		if strings.ContainsAny(t, "\n\r") || !utf8.ValidString(t) {
			return fmt.Errorf("tokenizer: token %q cannot be written to vocab.txt", t)
		}
	}
	vocabTxt := strings.Join(v.Tokens, "\n") + "\n"
	lower := "true"
	if v.Cased {
		lower = "false"
	}
	cfg := fmt.Sprintf(`{
  "tokenizer_class": "BertTokenizer",
  "do_lower_case": %s,
  "tokenize_chinese_chars": true,
  "strip_accents": null,
  "unk_token": "[UNK]",
  "sep_token": "[SEP]",
  "pad_token": "[PAD]",
  "cls_token": "[CLS]",
  "mask_token": "[MASK]",
  "model_max_length": %d,
  "clean_up_tokenization_spaces": true
}
`, lower, v.modelMaxLength)
	stm := `{
  "unk_token": "[UNK]",
  "sep_token": "[SEP]",
  "pad_token": "[PAD]",
  "cls_token": "[CLS]",
  "mask_token": "[MASK]"
}
`
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("tokenizer: creating %s: %w", dir, err)
	}
	files := []struct {
		name string
		data []byte
	}{{TokenizerJSONFile, tj}, {VocabFile, []byte(vocabTxt)}, {TokenizerConfigFile, []byte(cfg)}, {SpecialTokensMapFile, []byte(stm)}}
	for _, f := range files {
		if err := atomicio.WriteFile(filepath.Join(dir, f.name), f.data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
