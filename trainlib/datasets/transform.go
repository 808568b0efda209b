package datasets

import (
	"fmt"
	"slices"
)

// Filter keeps the rows for which keep returns true.
func (d *Dataset) Filter(keep func(Row) bool) *Dataset {
	var idx []int
	for i := 0; i < d.n; i++ {
		if keep(d.row(i)) {
			idx = append(idx, d.rowOf(i))
		}
	}
	if idx == nil {
		idx = []int{}
	}
	return d.withIndex(idx)
}

// Map calls fn on a copy of every row and stores what it returns, as Hugging Face datasets' map
// does: a returned key replaces that column's value, a new key adds a column (null in rows where it
// is absent; new columns come after the existing ones, in sorted order), and a column absent from
// the returned row keeps its value. Types are inferred anew from the values.
func (d *Dataset) Map(fn func(Row) (Row, error)) (*Dataset, error) {
	names := d.Columns()
	pos := map[string]int{}
	for i, n := range names {
		pos[n] = i
	}
	bs := make([]*builder, len(names))
	for i := range bs {
		bs[i] = newBuilder()
	}
	for i := 0; i < d.n; i++ {
		in := d.row(i)
		out, err := fn(in)
		if err != nil {
			return nil, fmt.Errorf("datasets: map: row %d: %w", i, err)
		}
		var added []string
		for k := range out {
			if _, ok := pos[k]; !ok {
				added = append(added, k)
			}
		}
		slices.Sort(added)
		for _, k := range added {
			pos[k] = len(names)
			names = append(names, k)
			b := newBuilder()
			for r := 0; r < i; r++ {
				b.appendNull()
			}
			bs = append(bs, b)
		}
		k := d.rowOf(i)
		for j, name := range names {
			v, ok := out[name]
			if !ok {
				if j < len(d.cols) {
					v = d.cols[j].value(k)
				}
			}
			if err := bs[j].appendValue(v); err != nil {
				return nil, fmt.Errorf("datasets: map: row %d, column %q: %w", i, name, err)
			}
		}
	}
	cols := make([]*column, len(bs))
	for i, b := range bs {
		cols[i] = b.finish()
	}
	out := newDataset(names, cols)
	out.n = d.n
	return out, nil
}

// Concat returns the rows of d followed by those of others. All datasets must have the same
// columns (matched by name; the order of d is kept); int64 and float64 columns combine into
// float64, a null column takes the other's type, other type differences are an error.
func (d *Dataset) Concat(others ...*Dataset) (*Dataset, error) {
	all := append([]*Dataset{d}, others...)
	for k, o := range all[1:] {
		if len(o.names) != len(d.names) {
			return nil, fmt.Errorf("datasets: concat: dataset %d has columns %s, the first has %s", k+1, quoteList(o.names), quoteList(d.names))
		}
		for _, n := range d.names {
			if _, err := o.colIndex(n); err != nil {
				return nil, fmt.Errorf("datasets: concat: dataset %d has columns %s, the first has %s", k+1, quoteList(o.names), quoteList(d.names))
			}
		}
	}
	cols := make([]*column, len(d.names))
	for j, name := range d.names {
		b := newBuilder()
		for k, o := range all {
			oj, _ := o.colIndex(name)
			c := o.cols[oj]
			for i := 0; i < o.n; i++ {
				if err := b.appendValue(c.value(o.rowOf(i))); err != nil {
					return nil, fmt.Errorf("datasets: concat: column %q of dataset %d (%s) does not fit the earlier ones: %w", name, k, c.typ, err)
				}
			}
		}
		cols[j] = b.finish()
	}
	total := 0
	for _, o := range all {
		total += o.n
	}
	out := newDataset(d.Columns(), cols)
	out.n = total
	return out, nil
}
