package datasets

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/embedtune/embedtune/internal/atomicio"

	"github.com/parquet-go/parquet-go"
)

// Save writes the dataset to path in the format its extension names: .jsonl (or .ndjson) one JSON
// object per row, .json a JSON array of objects, .parquet (Snappy-compressed, columns in order),
// .csv or .tsv (lists and JSON values as JSON text, null as an empty field). The file is written to
// a temporary sibling and renamed into place, so readers never see a partial file; missing parent
// folders are created.
func (d *Dataset) Save(path string) error {
	format, err := formatOf(path)
	if err != nil {
		return err
	}
	var write func(w io.Writer) error
	switch format {
	case "jsonl":
		write = d.writeJSONLines
	case "json":
		write = d.writeJSONArray
	case "parquet":
		write = d.writeParquet
	case "csv":
		write = func(w io.Writer) error { return d.writeCSV(w, ',') }
	case "tsv":
		write = func(w io.Writer) error { return d.writeCSV(w, '\t') }
	default:
		return fmt.Errorf("datasets: cannot save %s: saving supports .jsonl, .json, .parquet, .csv and .tsv", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("datasets: saving %s: %w", path, err)
	}
	if err := atomicio.WriteStream(path, 0o644, write); err != nil {
		return fmt.Errorf("datasets: saving %s: %w", path, err)
	}
	return nil
}

// appendJSONValue appends value k of column c as JSON.
func appendJSONCell(buf []byte, c *column, k int, colName string) ([]byte, error) {
	if c.isNull(k) {
		return append(buf, "null"...), nil
	}
	switch c.typ {
	case String:
		return appendJSONString(buf, c.strAt(k)), nil
	case JSON:
		return append(buf, c.strAt(k)...), nil
	case Int:
		return strconv.AppendInt(buf, c.ints[k], 10), nil
	case Float:
		f := c.floats[k]
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("column %q has %v, which JSON cannot represent", colName, f)
		}
		return append(buf, pyFloat(f)...), nil
	case Bool:
		return strconv.AppendBool(buf, c.bools[k]), nil
	case StringList:
		buf = append(buf, '[')
		a, b := int(c.lists[k]), int(c.lists[k+1])
		for i := a; i < b; i++ {
			if i > a {
				buf = append(buf, ", "...)
			}
			buf = appendJSONString(buf, c.strAt(i))
		}
		return append(buf, ']'), nil
	}
	return append(buf, "null"...), nil
}

// appendJSONString appends s as a JSON string literal (no HTML escaping; invalid UTF-8 becomes
// U+FFFD, as encoding/json does).
func appendJSONString(buf []byte, s string) []byte {
	const hex = "0123456789abcdef"
	buf = append(buf, '"')
	start := 0 // s[start:i] is pending, needing no escape
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			buf = append(buf, s[start:i]...)
			switch c {
			case '"', '\\':
				buf = append(buf, '\\', c)
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			default:
				buf = append(buf, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || r == '\u2028' || r == '\u2029' {
			buf = append(buf, s[start:i]...)
			if r == utf8.RuneError {
				buf = append(buf, `\ufffd`...)
			} else {
				buf = append(buf, `\u202`...)
				buf = append(buf, hex[r&0xf])
			}
			i += size
			start = i
			continue
		}
		i += size
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}

func (d *Dataset) appendJSONRow(buf []byte, i int) ([]byte, error) {
	k := d.rowOf(i)
	buf = append(buf, '{')
	for j, c := range d.cols {
		if j > 0 {
			buf = append(buf, ", "...)
		}
		buf = appendJSONString(buf, d.names[j])
		buf = append(buf, ": "...)
		var err error
		if buf, err = appendJSONCell(buf, c, k, d.names[j]); err != nil {
			return nil, fmt.Errorf("row %d: %w", i, err)
		}
	}
	return append(buf, '}'), nil
}

// WriteJSONLines writes one JSON object per row to w, keys in column order.
func (d *Dataset) WriteJSONLines(w io.Writer) error { return d.writeJSONLines(w) }

func (d *Dataset) writeJSONLines(w io.Writer) error {
	var buf []byte
	for i := 0; i < d.n; i++ {
		var err error
		if buf, err = d.appendJSONRow(buf[:0], i); err != nil {
			return err
		}
		buf = append(buf, '\n')
		if _, err := w.Write(buf); err != nil {
			return err
		}
	}
	return nil
}

func (d *Dataset) writeJSONArray(w io.Writer) error {
	buf := []byte("[")
	for i := 0; i < d.n; i++ {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, '\n')
		var err error
		if buf, err = d.appendJSONRow(buf, i); err != nil {
			return err
		}
		if _, err := w.Write(buf); err != nil {
			return err
		}
		buf = buf[:0]
	}
	buf = append(buf, "\n]\n"...)
	_, err := w.Write(buf)
	return err
}

func (d *Dataset) writeCSV(w io.Writer, sep rune) error {
	cw := csv.NewWriter(w)
	cw.Comma = sep
	if err := cw.Write(d.names); err != nil {
		return err
	}
	rec := make([]string, len(d.cols))
	var buf []byte
	for i := 0; i < d.n; i++ {
		k := d.rowOf(i)
		for j, c := range d.cols {
			switch {
			case c.isNull(k):
				rec[j] = ""
			case c.typ == String || c.typ == JSON:
				rec[j] = c.strAt(k)
			case c.typ == Bool:
				rec[j] = map[bool]string{true: "True", false: "False"}[c.bools[k]] // pandas' spelling
			default:
				var err error
				if buf, err = appendJSONCell(buf[:0], c, k, d.names[j]); err != nil {
					return fmt.Errorf("row %d: %w", i, err)
				}
				rec[j] = string(buf)
			}
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// jsonColumnsKey is the Parquet key-value metadata entry listing the json columns (a JSON array of
// names), whose values are stored as strings.
const jsonColumnsKey = "embedtune.json_columns"

// parquetNode is the Parquet type a column is written with; all columns are optional.
func parquetNode(t Type) parquet.Node {
	switch t {
	case Int:
		return parquet.Optional(parquet.Int(64))
	case Float:
		return parquet.Optional(parquet.Leaf(parquet.DoubleType))
	case Bool:
		return parquet.Optional(parquet.Leaf(parquet.BooleanType))
	case StringList:
		return parquet.Optional(parquet.List(parquet.String()))
	case Null:
		return parquet.Optional(parquet.Leaf(nullColumnType{parquet.Int32Type}))
	}
	// string and json (as text: pyarrow turns Parquet's JSON annotation into an extension type that
	// Hugging Face datasets cannot load; the json columns are listed in the file's key-value
	// metadata instead).
	return parquet.Optional(parquet.String())
}

// writeParquet writes one leaf column per dataset column, in order. Levels: a scalar has
// definition level 1 when present, 0 when null; a list<string> (optional LIST group, repeated
// "list", required "element") has 0 for a null list, 1 for an empty one, 2 for each element, whose
// repetition level is 0 for the first element of a row and 1 for the others.
func (d *Dataset) writeParquet(w io.Writer) error {
	if len(d.cols) == 0 && d.n > 0 {
		return fmt.Errorf("%d rows without any column cannot be stored in Parquet (rows are stored per column); add a column or use JSON Lines", d.n)
	}
	g := make(orderedGroup, len(d.cols))
	for j, c := range d.cols {
		g[j] = namedNode{Node: parquetNode(c.typ), name: d.names[j]}
	}
	schema := parquet.NewSchema("dataset", g)
	opts := []parquet.WriterOption{schema, parquet.Compression(&parquet.Snappy),
		parquet.MaxRowsPerRowGroup(64 * 1024), parquet.CreatedBy("embedtune", "1", "")}
	var jsonCols []string
	for j, c := range d.cols {
		if c.typ == JSON {
			jsonCols = append(jsonCols, d.names[j])
		}
	}
	if len(jsonCols) > 0 {
		b, _ := json.Marshal(jsonCols)
		opts = append(opts, parquet.KeyValueMetadata(jsonColumnsKey, string(b)))
	}
	pw := parquet.NewWriter(w, opts...)
	rows := make([]parquet.Row, 0, 512)
	flush := func() error {
		if len(rows) == 0 {
			return nil
		}
		_, err := pw.WriteRows(rows)
		rows = rows[:0]
		return err
	}
	for i := 0; i < d.n; i++ {
		k := d.rowOf(i)
		var row parquet.Row
		for j, c := range d.cols {
			if c.isNull(k) {
				row = append(row, parquet.NullValue().Level(0, 0, j))
				continue
			}
			switch c.typ {
			case String, JSON:
				row = append(row, parquet.ByteArrayValue([]byte(c.strAt(k))).Level(0, 1, j))
			case Int:
				row = append(row, parquet.Int64Value(c.ints[k]).Level(0, 1, j))
			case Float:
				row = append(row, parquet.DoubleValue(c.floats[k]).Level(0, 1, j))
			case Bool:
				row = append(row, parquet.BooleanValue(c.bools[k]).Level(0, 1, j))
			case StringList:
				a, b := int(c.lists[k]), int(c.lists[k+1])
				if a == b {
					row = append(row, parquet.NullValue().Level(0, 1, j))
				}
				for e := a; e < b; e++ {
					rep := 1
					if e == a {
						rep = 0
					}
					row = append(row, parquet.ByteArrayValue([]byte(c.strAt(e))).Level(rep, 2, j))
				}
			}
		}
		rows = append(rows, row)
		if len(rows) == cap(rows) {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	return pw.Close()
}

// formatOf names the format of a file by its extension (a trailing .gz is ignored for reading).
func formatOf(path string) (string, error) {
	base := strings.ToLower(filepath.Base(path))
	base = strings.TrimSuffix(base, ".gz")
	switch {
	case strings.HasSuffix(base, ".parquet"):
		return "parquet", nil
	case strings.HasSuffix(base, ".jsonl"), strings.HasSuffix(base, ".ndjson"):
		return "jsonl", nil
	case strings.HasSuffix(base, ".json"):
		return "json", nil
	case strings.HasSuffix(base, ".csv"):
		return "csv", nil
	case strings.HasSuffix(base, ".tsv"):
		return "tsv", nil
	case strings.HasSuffix(base, ".txt"):
		return "txt", nil
	}
	return "", fmt.Errorf("datasets: %s: unknown format: use a .parquet, .jsonl, .json, .csv, .tsv or .txt file", path)
}
