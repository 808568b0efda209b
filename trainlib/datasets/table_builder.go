package datasets

import (
	"fmt"
)

// tableBuilder assembles a dataset from records given key by key (JSON objects): columns appear in
// the order their key is first seen, a key absent from a record is null in that row, and a column
// first seen at row k is null in the rows before.
type tableBuilder struct {
	names []string
	pos   map[string]int
	bs    []*builder
	seen  []int // seen[j] = 1 + the row in which column j was last set
	n     int   // completed rows
	keep  map[string]bool
	// all lists every key seen, kept or not, in order of first appearance.
	all     []string
	allSeen map[string]bool
}

func newTableBuilder(keep []string) *tableBuilder {
	t := &tableBuilder{pos: map[string]int{}, allSeen: map[string]bool{}}
	if len(keep) > 0 {
		t.keep = map[string]bool{}
		for _, k := range keep {
			t.keep[k] = true
		}
	}
	return t
}

// set stores the raw JSON value of key in the current row.
func (t *tableBuilder) set(key string, raw []byte) error {
	if !t.allSeen[key] {
		t.allSeen[key] = true
		t.all = append(t.all, key)
	}
	if t.keep != nil && !t.keep[key] {
		return nil
	}
	j, ok := t.pos[key]
	if !ok {
		j = len(t.names)
		t.pos[key] = j
		t.names = append(t.names, key)
		b := newBuilder()
		for r := 0; r < t.n; r++ {
			b.appendNull()
		}
		t.bs = append(t.bs, b)
		t.seen = append(t.seen, 0)
	}
	if t.seen[j] == t.n+1 {
		return fmt.Errorf("key %q appears twice in the object", key)
	}
	t.seen[j] = t.n + 1
	if err := t.bs[j].appendJSONValue(raw); err != nil {
		return fmt.Errorf("key %q: %w", key, err)
	}
	return nil
}

// endRow completes the current row with nulls for the keys it lacked.
func (t *tableBuilder) endRow() {
	for j, b := range t.bs {
		if t.seen[j] != t.n+1 {
			b.appendNull()
		}
	}
	t.n++
}

func (t *tableBuilder) dataset() *Dataset {
	cols := make([]*column, len(t.bs))
	for i, b := range t.bs {
		cols[i] = b.finish()
	}
	d := newDataset(t.names, cols)
	d.n = t.n
	return d
}
