package trainlib

import (
	"errors"
	"fmt"

	"github.com/embedtune/embedtune/trainlib/datasets"
	"github.com/embedtune/embedtune/trainlib/losses"
	"github.com/embedtune/embedtune/trainlib/model"
	"github.com/gomlx/gomlx/core/tensors"
)

// excludedColumns are ignored entirely, as in sentence-transformers.
var excludedColumns = map[string]bool{"dataset_name": true}

// textTable views a dataset as the trainer sees it: text columns in order (anchor, positive,
// negatives…) and an optional label column (named "label" or "score").
type textTable struct {
	name     string
	textCols []string
	cols     []*datasets.Column
	labels   *datasets.Column
	n        int
}

func newTextTable(name string, d *datasets.Dataset) (*textTable, error) {
	t := &textTable{name: name, n: d.Len()}
	for _, c := range d.Columns() {
		if excludedColumns[c] {
			continue
		}
		col, err := d.Column(c)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if losses.IsLabelColumn(c) {
			if t.labels != nil {
				return nil, fmt.Errorf("%s: two label columns (%q and %q); keep one", name, t.labels.Name(), c)
			}
			switch col.Type() {
			case datasets.Float, datasets.Int, datasets.Bool:
			default:
				return nil, fmt.Errorf("%s: label column %q has type %s, expected numbers", name, c, col.Type())
			}
			if nc := col.NullCount(); nc > 0 {
				return nil, fmt.Errorf("%s: label column %q has %d null values", name, c, nc)
			}
			t.labels = col
			continue
		}
		if col.Type() != datasets.String {
			return nil, fmt.Errorf("%s: column %q has type %s; text columns must hold strings (label columns must be named one of %v)", name, c, col.Type(), losses.LabelColumns)
		}
		if nc := col.NullCount(); nc > 0 {
			return nil, fmt.Errorf("%s: column %q has %d null values", name, c, nc)
		}
		t.textCols = append(t.textCols, c)
		t.cols = append(t.cols, col)
	}
	if len(t.textCols) == 0 {
		return nil, fmt.Errorf("%s: no text column among %v", name, d.Columns())
	}
	return t, nil
}

// Len implements sampler.Rows.
func (t *textTable) Len() int { return t.n }

// Values implements sampler.Rows: the row's texts (labels excluded).
func (t *textTable) Values(row int) []string {
	out := make([]string, len(t.cols))
	for i, c := range t.cols {
		out[i] = c.Str(row)
	}
	return out
}

// batch tokenizes rows into graph inputs: per column (with its prompt) ids and mask padded to the
// column's bucket length.
func (t *textTable) batch(m *model.SentenceTransformer, a *TrainingArguments, rows []int) (*batchTensors, error) {
	b := &batchTensors{rows: len(rows)}
	texts := make([]string, len(rows))
	for ci, c := range t.cols {
		for i, r := range rows {
			texts[i] = c.Str(r)
		}
		seqs, promptLen, err := m.Tokenize(texts, a.promptFor(t.textCols[ci]), 0)
		if te, ok := errors.AsType[*model.TokenizeError](err); ok {
			return nil, fmt.Errorf("%s: tokenizing row %d of column %q: %w", t.name, rows[te.Index], t.textCols[ci], te.Err)
		} else if err != nil {
			return nil, fmt.Errorf("%s: column %q: %w", t.name, t.textCols[ci], err)
		}
		ids, mask := m.Pad(seqs, len(rows))
		b.ids = append(b.ids, ids)
		b.masks = append(b.masks, mask)
		b.promptLens = append(b.promptLens, int32(promptLen))
	}
	if t.labels != nil {
		lab := make([]float32, len(rows))
		for i, r := range rows {
			switch t.labels.Type() {
			case datasets.Bool:
				if t.labels.Bool(r) {
					lab[i] = 1
				}
			default:
				lab[i] = float32(t.labels.Float(r))
			}
		}
		b.labels = tensors.FromFlatDataAndDimensions(lab, len(rows))
	}
	return b, nil
}
