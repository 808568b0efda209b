package datasets

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
)

// NamedValues is one column for FromColumns: a name and a slice of values.
type NamedValues struct {
	Name   string
	Values any
}

// Col pairs a column name with its values: a []string, []int, []int64, []float64, []bool,
// [][]string or []any slice.
func Col(name string, values any) NamedValues { return NamedValues{Name: name, Values: values} }

// FromColumns builds a dataset from columns of equal length, in the order given:
//
//	ds, err := datasets.FromColumns(datasets.Col("question", qs), datasets.Col("context", ctxs))
func FromColumns(cols ...NamedValues) (*Dataset, error) {
	names := make([]string, len(cols))
	built := make([]*column, len(cols))
	n := -1
	seen := map[string]bool{}
	for i, nv := range cols {
		if nv.Name == "" {
			return nil, fmt.Errorf("datasets: column %d has no name", i)
		}
		if seen[nv.Name] {
			return nil, fmt.Errorf("datasets: column %q given twice", nv.Name)
		}
		seen[nv.Name] = true
		rv := reflect.ValueOf(nv.Values)
		if rv.Kind() != reflect.Slice {
			return nil, fmt.Errorf("datasets: column %q: values must be a slice, got %T", nv.Name, nv.Values)
		}
		if n >= 0 && rv.Len() != n {
			return nil, fmt.Errorf("datasets: column %q has %d values, column %q has %d", nv.Name, rv.Len(), names[0], n)
		}
		n = rv.Len()
		b := newBuilder()
		var err error
		switch v := nv.Values.(type) {
		case []string:
			for _, s := range v {
				if err = b.appendStr(s); err != nil {
					break
				}
			}
		case []int64:
			for _, x := range v {
				b.appendInt(x)
			}
		case []float64:
			for _, x := range v {
				b.appendFloat(x)
			}
		default:
			for k := 0; k < n && err == nil; k++ {
				err = b.appendValue(rv.Index(k).Interface())
				if err != nil {
					err = fmt.Errorf("row %d: %w", k, err)
				}
			}
		}
		if err != nil {
			return nil, fmt.Errorf("datasets: column %q: %w", nv.Name, err)
		}
		names[i], built[i] = nv.Name, b.finish()
	}
	return newDataset(names, built), nil
}

// FromRows builds a dataset from rows. The columns are those given, in that order, or else every
// key of the rows in sorted order (Go maps have no order). A key missing from a row is null; a key
// not among the given columns is an error.
func FromRows(rows []Row, columns ...string) (*Dataset, error) {
	if len(columns) == 0 {
		keys := map[string]bool{}
		for _, r := range rows {
			for k := range r {
				keys[k] = true
			}
		}
		columns = slices.Sorted(maps.Keys(keys))
	}
	pos := map[string]int{}
	for i, c := range columns {
		if _, dup := pos[c]; dup {
			return nil, fmt.Errorf("datasets: column %q given twice", c)
		}
		pos[c] = i
	}
	bs := make([]*builder, len(columns))
	for i := range bs {
		bs[i] = newBuilder()
	}
	for i, r := range rows {
		for k := range r {
			if _, ok := pos[k]; !ok {
				return nil, fmt.Errorf("datasets: row %d has key %q, which is not one of the columns %s", i, k, quoteList(columns))
			}
		}
		for j, name := range columns {
			v, ok := r[name]
			if !ok {
				bs[j].appendNull()
				continue
			}
			if err := bs[j].appendValue(v); err != nil {
				return nil, fmt.Errorf("datasets: row %d, column %q: %w", i, name, err)
			}
		}
	}
	cols := make([]*column, len(bs))
	for i, b := range bs {
		cols[i] = b.finish()
	}
	if len(cols) == 0 {
		return &Dataset{n: len(rows)}, nil
	}
	return newDataset(columns, cols), nil
}
