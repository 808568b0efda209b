package datasets

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/parquet-go/parquet-go"
)

// Parquet columns map to column types as:
//
//	BOOLEAN                                  -> bool
//	INT32, INT64 (signed or unsigned INT(n)) -> int64 (an unsigned value above 2^63-1 is an error)
//	FLOAT, DOUBLE                            -> float64
//	BYTE_ARRAY (STRING, ENUM or plain)       -> string
//	BYTE_ARRAY annotated JSON                -> json
//	LIST of strings (3-level or legacy 2-level) -> list<string>
//	struct, map, list of other types, nested lists -> json (each value re-encoded as JSON text)
//	logical type NULL (Arrow's null)         -> null
//
// String columns listed in the key-value metadata entry "embedtune.json_columns" (written by Save)
// are json columns.
//
// Leaf types with a logical type that would need a conversion (DATE, TIME, TIMESTAMP, DECIMAL,
// UUID, FLOAT16, INT96, INTERVAL, ...) are rejected with an error naming the column; WithColumns
// loads the others.

// parquetKind is how a top-level field is read.
type parquetKind int

const (
	pqScalar parquetKind = iota
	pqStringList
	pqNested
	pqNull     // logical type NULL (Arrow's null type): every value is null
	pqJSONText // BYTE_ARRAY annotated JSON: a json column
)

// readParquet reads the top-level fields of a Parquet file (those in keep, or all); it returns the
// dataset and all field names.
func readParquet(path, name string, keep []string) (d *Dataset, all []string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	return readParquetFrom(f, st.Size(), name, keep)
}

// readParquetFrom is readParquet on size bytes read from r.
func readParquetFrom(r io.ReaderAt, size int64, name string, keep []string) (d *Dataset, all []string, err error) {
	defer func() {
		// parquet-go may panic on malformed pages: report it as a corrupt file, never crash.
		if r := recover(); r != nil {
			d, all, err = nil, nil, fmt.Errorf("%s: corrupt Parquet file: %v", name, r)
		}
	}()
	pf, err := parquet.OpenFile(r, size, parquet.SkipBloomFilters(true), parquet.SkipPageIndex(true),
		parquet.ReadBufferSize(1<<20))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: not a valid Parquet file: %w", name, err)
	}
	root := pf.Root()
	nrows := int(pf.NumRows())
	if len(root.Columns()) == 0 {
		if nrows == 0 {
			return newDataset(nil, nil), nil, nil // an empty table, as pyarrow writes and reads it
		}
		return nil, nil, fmt.Errorf("%s: the Parquet file has no columns", name)
	}
	var names []string
	var cols []*column
	var nested []*parquet.Column
	var nestedAt []int
	for _, fc := range root.Columns() {
		all = append(all, fc.Name())
		if len(keep) > 0 && !contains(keep, fc.Name()) {
			continue
		}
		kind, leaf, err := classifyParquet(fc)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: column %q: %w", name, fc.Name(), err)
		}
		var c *column
		switch kind {
		case pqScalar:
			c, err = readParquetScalar(leaf, nrows)
		case pqJSONText:
			if c, err = readParquetScalar(leaf, nrows); err == nil {
				if !allValidJSON(c) {
					err = fmt.Errorf("a value annotated JSON is not valid JSON")
				}
				c.typ = JSON
			}
		case pqStringList:
			c, err = readParquetStringList(fc, leaf, nrows)
		case pqNull:
			// Count the stored (null) values rather than trusting the footer's row count, which a
			// corrupt file could make huge.
			b := newBuilder()
			if err = forEachValue(leaf, func(parquet.Value) error { b.appendNull(); return nil }); err == nil && b.len() != nrows {
				err = fmt.Errorf("has %d values for %d rows (corrupt file)", b.len(), nrows)
			}
			c = b.finish()
		case pqNested:
			nested = append(nested, fc)
			nestedAt = append(nestedAt, len(cols))
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s: column %q: %w", name, fc.Name(), err)
		}
		names = append(names, fc.Name())
		cols = append(cols, c)
	}
	if len(nested) > 0 {
		ncols, err := readParquetNested(pf, nested, nrows)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", name, err)
		}
		for k, at := range nestedAt {
			cols[at] = ncols[k]
		}
	}
	if meta, ok := pf.Lookup(jsonColumnsKey); ok {
		var jsonCols []string
		if json.Unmarshal([]byte(meta), &jsonCols) == nil {
			for i, n := range names {
				if contains(jsonCols, n) && cols[i].typ == String && allValidJSON(cols[i]) {
					cols[i].typ = JSON
				}
			}
		}
	}
	d = newDataset(names, cols)
	d.n = nrows
	return d, all, nil
}

// allValidJSON reports whether every non-null value of a string column is JSON text.
func allValidJSON(c *column) bool {
	for i := 0; i < c.n; i++ {
		if !c.isNull(i) && !json.Valid([]byte(c.strAt(i))) {
			return false
		}
	}
	return true
}

// classifyParquet decides how to read a top-level field; leaf is the leaf column holding its values
// (scalar and list<string> fields).
func classifyParquet(fc *parquet.Column) (parquetKind, *parquet.Column, error) {
	if fc.Leaf() {
		if fc.Repeated() { // Legacy: a repeated leaf is a list of that type.
			if isStringLeaf(fc) {
				return pqStringList, fc, nil
			}
			return pqNested, nil, nil
		}
		if lt := fc.Type().LogicalType(); lt != nil && lt.Unknown != nil {
			return pqNull, fc, nil
		}
		if err := checkScalarLeaf(fc); err != nil {
			return 0, nil, err
		}
		if lt := fc.Type().LogicalType(); lt != nil && lt.Json != nil {
			return pqJSONText, fc, nil
		}
		return pqScalar, fc, nil
	}
	lt := fc.Type().LogicalType()
	isList := lt != nil && lt.List != nil
	if ct := fc.Type().ConvertedType(); ct != nil && *ct == 3 { // deprecated.List
		isList = true
	}
	if isList && !fc.Repeated() && len(fc.Columns()) == 1 {
		mid := fc.Columns()[0]
		if mid.Repeated() {
			var elem *parquet.Column
			switch {
			case mid.Leaf(): // 2-level: group (LIST) { repeated binary element }
				elem = mid
			case len(mid.Columns()) == 1 && mid.Columns()[0].Leaf() && !mid.Columns()[0].Repeated():
				elem = mid.Columns()[0]
			}
			if elem != nil && isStringLeaf(elem) {
				return pqStringList, elem, nil
			}
		}
	}
	return pqNested, nil, nil
}

func isStringLeaf(c *parquet.Column) bool {
	if c.Type().Kind() != parquet.ByteArray {
		return false
	}
	lt := c.Type().LogicalType()
	return lt == nil || lt.UTF8 != nil || lt.Enum != nil || lt.Json != nil
}

// checkScalarLeaf rejects leaf types whose values would need a conversion we do not do.
func checkScalarLeaf(c *parquet.Column) error {
	t := c.Type()
	lt := t.LogicalType()
	if lt != nil && (lt.Date != nil || lt.Time != nil || lt.Timestamp != nil || lt.Decimal != nil ||
		lt.UUID != nil || lt.Float16 != nil || lt.Bson != nil || lt.Variant != nil || lt.Geometry != nil ||
		lt.Geography != nil) {
		return fmt.Errorf("unsupported Parquet type %s (supported: strings, integers, floats, booleans, "+
			"lists of strings, nested values); load the other columns with WithColumns", t)
	}
	if ct := t.ConvertedType(); ct != nil && lt == nil {
		switch *ct {
		case 0, 16, 17, 18, 19, 4, 11, 12, 13, 14, 15, 20, 21: // UTF8, INT/UINT_*, ENUM, JSON...
		default:
			return fmt.Errorf("unsupported Parquet type %s (converted type %d); load the other columns with WithColumns", t, *ct)
		}
	}
	switch t.Kind() {
	case parquet.Boolean, parquet.Int32, parquet.Int64, parquet.Float, parquet.Double, parquet.ByteArray:
		return nil
	}
	return fmt.Errorf("unsupported Parquet physical type %s; load the other columns with WithColumns", t)
}

// forEachValue calls fn with every value of a leaf column, across all row groups.
func forEachValue(leaf *parquet.Column, fn func(v parquet.Value) error) error {
	pages := leaf.Pages()
	defer pages.Close()
	buf := make([]parquet.Value, 4096)
	for {
		p, err := pages.ReadPage()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("corrupt Parquet data: reading a page: %w", err)
		}
		vr := p.Values()
		for {
			n, err := vr.ReadValues(buf)
			for _, v := range buf[:n] {
				if ferr := fn(v); ferr != nil {
					parquet.Release(p)
					return ferr
				}
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				parquet.Release(p)
				return fmt.Errorf("corrupt Parquet data: decoding values: %w", err)
			}
		}
		parquet.Release(p)
	}
}

func readParquetScalar(leaf *parquet.Column, nrows int) (*column, error) {
	b := newBuilder()
	t := leaf.Type()
	unsigned64 := false
	if lt := t.LogicalType(); lt != nil && lt.Integer != nil && !lt.Integer.IsSigned && lt.Integer.BitWidth == 64 {
		unsigned64 = true
	}
	unsigned32 := false
	if lt := t.LogicalType(); lt != nil && lt.Integer != nil && !lt.Integer.IsSigned && lt.Integer.BitWidth == 32 {
		unsigned32 = true
	}
	switch t.Kind() {
	case parquet.ByteArray:
		b.promote(String)
	case parquet.Int32, parquet.Int64:
		b.promote(Int)
	case parquet.Float, parquet.Double:
		b.promote(Float)
	case parquet.Boolean:
		b.promote(Bool)
	}
	kind := t.Kind()
	err := forEachValue(leaf, func(v parquet.Value) error {
		if v.IsNull() {
			b.appendNull()
			return nil
		}
		switch kind {
		case parquet.ByteArray:
			if err := checkUTF8(v.ByteArray()); err != nil {
				return fmt.Errorf("row %d: %w", b.len(), err)
			}
			b.appendString(v.ByteArray())
		case parquet.Int32:
			if unsigned32 {
				b.appendInt(int64(uint32(v.Int32())))
			} else {
				b.appendInt(int64(v.Int32()))
			}
		case parquet.Int64:
			if unsigned64 && v.Uint64() > math.MaxInt64 {
				return fmt.Errorf("unsigned value %d does not fit int64", v.Uint64())
			}
			b.appendInt(v.Int64())
		case parquet.Float:
			b.appendFloat(float64(v.Float()))
		case parquet.Double:
			b.appendFloat(v.Double())
		case parquet.Boolean:
			b.appendBool(v.Boolean())
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if b.len() != nrows {
		return nil, fmt.Errorf("has %d values for %d rows (corrupt file)", b.len(), nrows)
	}
	return b.finish(), nil
}

// readParquetStringList rebuilds list<string> rows from the element leaf's repetition and
// definition levels: repetition level 0 starts a row; with the definition level d of a value,
// d < dList means a null list, d < dElem an empty list, d < max a null element (an error: a
// list<string> holds no nulls), d == max an element.
func readParquetStringList(field, leaf *parquet.Column, nrows int) (*column, error) {
	// Definition levels: each optional or repeated node on the path adds one.
	dList := 0 // level at which the list itself is defined (non-null)
	if field.Optional() {
		dList = 1
	}
	dElem := leaf.MaxDefinitionLevel() // element present
	dRep := dList + 1                  // the repeated node is defined: at least one element
	if field == leaf {                 // Legacy 2-level repeated leaf at top level: no list group.
		dList, dRep = 0, 1
	}
	if leaf.MaxRepetitionLevel() != 1 {
		return nil, fmt.Errorf("nested lists are not list<string>")
	}
	b := newBuilder()
	b.promote(StringList)
	open := false
	err := forEachValue(leaf, func(v parquet.Value) error {
		d := v.DefinitionLevel()
		if v.RepetitionLevel() == 0 {
			if open {
				b.endList()
			}
			open = false
			switch {
			case d < dList:
				b.appendNull()
				return nil
			case d < dRep:
				b.endList() // empty list
				return nil
			}
			open = true
		}
		if d < dElem {
			return fmt.Errorf("row %d: null element in a list of strings", b.len())
		}
		if err := checkUTF8(v.ByteArray()); err != nil {
			return fmt.Errorf("row %d: %w", b.len(), err)
		}
		b.appendListItem(v.ByteArray())
		return nil
	})
	if err != nil {
		return nil, err
	}
	if open {
		b.endList()
	}
	if b.len() != nrows {
		return nil, fmt.Errorf("has %d lists for %d rows (corrupt file)", b.len(), nrows)
	}
	return b.finish(), nil
}

// readParquetNested reads fields of nested types by reconstructing rows of a schema made of those
// fields only, and stores each value as JSON text.
func readParquetNested(pf *parquet.File, fields []*parquet.Column, nrows int) ([]*column, error) {
	g := make(orderedGroup, len(fields))
	for i, fc := range fields {
		g[i] = namedNode{Node: fc, name: fc.Name()}
	}
	schema := parquet.NewSchema("nested", g)
	r, err := func() (r *parquet.GenericReader[map[string]any], err error) {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("%v", p)
			}
		}()
		return parquet.NewGenericReader[map[string]any](pf, schema), nil
	}()
	if err != nil {
		return nil, fmt.Errorf("reading nested columns: %w", err)
	}
	defer r.Close()
	bs := make([]*builder, len(fields))
	for i := range bs {
		bs[i] = newBuilder()
		bs[i].promote(JSON)
	}
	rows := make([]map[string]any, 256)
	for done := 0; done < nrows; {
		for i := range rows {
			rows[i] = map[string]any{}
		}
		n, err := r.Read(rows)
		for _, row := range rows[:n] {
			for j, fc := range fields {
				v, ok := row[fc.Name()]
				if !ok || v == nil {
					bs[j].appendNull()
					continue
				}
				enc, jerr := json.Marshal(jsonable(v))
				if jerr != nil {
					return nil, fmt.Errorf("column %q: %w", fc.Name(), jerr)
				}
				bs[j].appendJSON(enc)
			}
		}
		done += n
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading nested columns: %w", err)
		}
	}
	out := make([]*column, len(fields))
	for i, b := range bs {
		if b.len() != nrows {
			return nil, fmt.Errorf("column %q: read %d of %d rows", fields[i].Name(), b.len(), nrows)
		}
		out[i] = b.finish()
	}
	return out, nil
}

// jsonable converts reconstructed Parquet values for JSON encoding: byte slices become strings.
func jsonable(v any) any {
	switch x := v.(type) {
	case []byte:
		return string(x)
	case map[string]any:
		for k, e := range x {
			x[k] = jsonable(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = jsonable(e)
		}
		return x
	}
	return v
}
