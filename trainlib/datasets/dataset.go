package datasets

import (
	"encoding/json"
	"fmt"
	"iter"
	"strings"
)

// Dataset is an immutable table: named, typed columns of equal length. Operations return new
// datasets that share the column storage: Select, Rename, Head, Filter, Shuffle, Sample and
// TrainTestSplit copy no values (row selections are kept as an index), Map and Concat build new
// columns.
type Dataset struct {
	names []string
	cols  []*column
	// index maps row i to row index[i] of the columns; nil is the identity.
	index []int
	n     int
}

// Row is one row: column name -> value. Values are nil (null), string, int64, float64, bool,
// []string (list<string> columns) or json.RawMessage (json columns).
type Row map[string]any

func newDataset(names []string, cols []*column) *Dataset {
	n := 0
	if len(cols) > 0 {
		n = cols[0].n
	}
	return &Dataset{names: names, cols: cols, n: n}
}

// Len returns the number of rows.
func (d *Dataset) Len() int { return d.n }

// Columns returns the column names in order.
func (d *Dataset) Columns() []string { return append([]string(nil), d.names...) }

// Types returns the column types, in the order of Columns.
func (d *Dataset) Types() []Type {
	out := make([]Type, len(d.cols))
	for i, c := range d.cols {
		out[i] = c.typ
	}
	return out
}

func (d *Dataset) colIndex(name string) (int, error) {
	for i, n := range d.names {
		if n == name {
			return i, nil
		}
	}
	return -1, fmt.Errorf("datasets: no column %q; the columns are %s", name, quoteList(d.names))
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// rowOf maps a dataset row to a storage row.
func (d *Dataset) rowOf(i int) int {
	if d.index == nil {
		return i
	}
	return d.index[i]
}

// Column returns a read-only view of one column; the error lists the columns when name is not one.
func (d *Dataset) Column(name string) (*Column, error) {
	i, err := d.colIndex(name)
	if err != nil {
		return nil, err
	}
	return &Column{name: name, c: d.cols[i], index: d.index, n: d.n}, nil
}

// Row returns row i as a map; the error says the valid range when i is out of it.
func (d *Dataset) Row(i int) (Row, error) {
	if i < 0 || i >= d.n {
		return nil, fmt.Errorf("datasets: row %d out of range [0, %d)", i, d.n)
	}
	return d.row(i), nil
}

func (d *Dataset) row(i int) Row {
	r := make(Row, len(d.cols))
	k := d.rowOf(i)
	for j, c := range d.cols {
		r[d.names[j]] = c.value(k)
	}
	return r
}

// All iterates over the rows in order.
func (d *Dataset) All() iter.Seq2[int, Row] {
	return func(yield func(int, Row) bool) {
		for i := 0; i < d.n; i++ {
			if !yield(i, d.row(i)) {
				return
			}
		}
	}
}

// Select keeps the named columns, in the order given.
func (d *Dataset) Select(cols ...string) (*Dataset, error) {
	out := &Dataset{index: d.index, n: d.n}
	seen := map[string]bool{}
	for _, name := range cols {
		i, err := d.colIndex(name)
		if err != nil {
			return nil, err
		}
		if seen[name] {
			return nil, fmt.Errorf("datasets: column %q selected twice", name)
		}
		seen[name] = true
		out.names = append(out.names, name)
		out.cols = append(out.cols, d.cols[i])
	}
	return out, nil
}

// RemoveColumns drops the named columns.
func (d *Dataset) RemoveColumns(cols ...string) (*Dataset, error) {
	drop := map[string]bool{}
	for _, name := range cols {
		if _, err := d.colIndex(name); err != nil {
			return nil, err
		}
		drop[name] = true
	}
	out := &Dataset{index: d.index, n: d.n}
	for i, name := range d.names {
		if !drop[name] {
			out.names = append(out.names, name)
			out.cols = append(out.cols, d.cols[i])
		}
	}
	return out, nil
}

// Rename renames column from to to.
func (d *Dataset) Rename(from, to string) (*Dataset, error) {
	i, err := d.colIndex(from)
	if err != nil {
		return nil, err
	}
	if to == "" {
		return nil, fmt.Errorf("datasets: cannot rename column %q to an empty name", from)
	}
	if j, _ := d.colIndex(to); j >= 0 && j != i {
		return nil, fmt.Errorf("datasets: cannot rename %q to %q: a column %q already exists", from, to, to)
	}
	names := d.Columns()
	names[i] = to
	return &Dataset{names: names, cols: d.cols, index: d.index, n: d.n}, nil
}

// Head returns the first n rows (all of them when n >= Len). In a notebook it displays as an HTML
// table (see HTML), in a terminal as text (see String).
func (d *Dataset) Head(n int) *Dataset {
	n = max(0, min(n, d.n))
	idx := make([]int, n)
	for i := range idx {
		idx[i] = d.rowOf(i)
	}
	return d.withIndex(idx)
}

// withIndex returns the rows idx (storage rows) of d's columns.
func (d *Dataset) withIndex(idx []int) *Dataset {
	return &Dataset{names: d.names, cols: d.cols, index: idx, n: len(idx)}
}

// storageIndex returns a fresh slice of the storage rows of d, in order.
func (d *Dataset) storageIndex() []int {
	idx := make([]int, d.n)
	for i := range idx {
		idx[i] = d.rowOf(i)
	}
	return idx
}

// Unique returns the distinct values of a column in order of first appearance (nil stands for
// null). List and JSON values are compared by their JSON encoding.
func (d *Dataset) Unique(col string) ([]any, error) {
	c, err := d.Column(col)
	if err != nil {
		return nil, err
	}
	seen := map[any]bool{}
	var out []any
	for i := 0; i < c.Len(); i++ {
		v := c.Value(i)
		key := v
		switch x := v.(type) {
		case []string:
			b, _ := json.Marshal(x)
			key = "\x00list" + string(b)
		case json.RawMessage:
			key = "\x00json" + string(x)
		}
		if !seen[key] {
			seen[key] = true
			out = append(out, v)
		}
	}
	return out, nil
}

// MemoryBytes is the number of bytes held by the columns' arrays (shared storage counted once).
func (d *Dataset) MemoryBytes() int64 {
	var total int64
	seen := map[*column]bool{}
	for _, c := range d.cols {
		if !seen[c] {
			seen[c] = true
			total += c.memSize()
		}
	}
	return total + int64(len(d.index))*8
}
