package tokenizer

import "fmt"

// Batch is a padded batch: row i holds sequence i followed (Right) or preceded (Left) by [PAD].
// AttentionMask is 1 on tokens and 0 on padding; TokenTypeIDs is all 0 (single sentences).
type Batch struct {
	InputIDs, AttentionMask, TokenTypeIDs [][]int
	// Length is the padded length of every row.
	Length int
}

// PadBatch pads seqs to the length of the longest (sentence-transformers' padding=True), or to length
// when that is larger. padID is the [PAD] id (Tokenizer.Special().PAD).
func PadBatch(seqs [][]int, padID int, side Side, length int) (Batch, error) {
	if padID < 0 {
		return Batch{}, fmt.Errorf("tokenizer: PadBatch: the tokenizer has no [PAD] token (pad id %d)", padID)
	}
	if side != Left && side != Right {
		return Batch{}, fmt.Errorf("tokenizer: PadBatch: side %q, expected %q or %q", side, Right, Left)
	}
	n := length
	for _, s := range seqs {
		n = max(n, len(s))
	}
	b := Batch{Length: n, InputIDs: make([][]int, len(seqs)), AttentionMask: make([][]int, len(seqs)), TokenTypeIDs: make([][]int, len(seqs))}
	for i, s := range seqs {
		ids, mask := make([]int, n), make([]int, n)
		off := 0
		if side == Left {
			off = n - len(s)
		}
		for j := range ids {
			ids[j] = padID
		}
		copy(ids[off:], s)
		for j := range s {
			mask[off+j] = 1
		}
		b.InputIDs[i], b.AttentionMask[i], b.TokenTypeIDs[i] = ids, mask, make([]int, n)
	}
	return b, nil
}
