package datasets

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// readCSV reads a CSV (comma) or TSV (tab) file whose first record is the header. Quoted fields may
// hold separators and newlines; a UTF-8 byte order mark and CRLF line ends are accepted; a record
// with a different number of fields than the header is an error naming its line.
//
// Column types are inferred like pandas.read_csv does, with two deliberate differences that avoid
// silent changes of text: only an empty field is null (pandas also reads "NA", "null", "None", ...
// as missing), and a column with an integer written with a leading zero ("007") stays text.
// Otherwise a column is int64 when every non-empty field is an integer, float64 when every one is a
// number, bool when every one is True/False/true/false/TRUE/FALSE, else string.
func readCSV(r io.Reader, name string, sep rune, keep []string) (*Dataset, []string, error) {
	br := bufio.NewReaderSize(newUTF8Reader(r), 1<<20)
	if bom, _ := br.Peek(3); bytes.Equal(bom, utf8BOM) {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.Comma = sep
	cr.LazyQuotes = true
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil, nil, fmt.Errorf("%s: empty file: a header row is required", name)
	}
	if err != nil {
		return nil, nil, csvError(name, err)
	}
	names := append([]string(nil), header...)
	seen := map[string]bool{}
	for i, h := range names {
		if seen[h] {
			return nil, nil, fmt.Errorf("%s: header: column %q appears twice", name, h)
		}
		seen[h] = true
		if h == "" {
			names[i] = fmt.Sprintf("Unnamed: %d", i) // pandas' name for a header cell left empty
		}
	}
	use := make([]bool, len(names))
	for i, n := range names {
		use[i] = len(keep) == 0 || contains(keep, n)
	}
	raw := make([]*builder, len(names))
	for i := range raw {
		raw[i] = newBuilder()
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, csvError(name, err)
		}
		for i, f := range rec {
			if !use[i] {
				continue
			}
			if f == "" {
				raw[i].appendNull()
			} else {
				raw[i].appendStr(f)
			}
		}
	}
	var outNames []string
	var cols []*column
	for i, b := range raw {
		if !use[i] {
			continue
		}
		outNames = append(outNames, names[i])
		cols = append(cols, inferCSVColumn(b.finish()))
	}
	d := newDataset(outNames, cols)
	if len(cols) > 0 {
		d.n = cols[0].n
	}
	return d, names, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func csvError(name string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		if errors.Is(pe.Err, csv.ErrFieldCount) {
			return fmt.Errorf("%s: line %d: wrong number of fields: every row must have as many fields as the header", name, pe.StartLine)
		}
		return fmt.Errorf("%s: line %d, column %d: %v", name, pe.Line, pe.Column, pe.Err)
	}
	return fmt.Errorf("%s: %w", name, err)
}

// inferCSVColumn converts a column of text to int64, float64 or bool when every non-null value
// parses as such (see readCSV).
func inferCSVColumn(c *column) *column {
	if c.typ != String {
		return c
	}
	isInt, isFloat, isBool := true, true, true
	for i := 0; i < c.n && (isInt || isFloat || isBool); i++ {
		if c.isNull(i) {
			continue
		}
		s := c.strAt(i)
		if isInt && !canonicalInt(s) {
			isInt = false
		}
		if isFloat {
			if _, err := strconv.ParseFloat(s, 64); err != nil || !isDecimalNumber(s) {
				isFloat = false
			}
		}
		if isBool {
			switch s {
			case "True", "False", "true", "false", "TRUE", "FALSE":
			default:
				isBool = false
			}
		}
	}
	b := newBuilder()
	switch {
	case isInt:
		for i := 0; i < c.n; i++ {
			if c.isNull(i) {
				b.appendNull()
				continue
			}
			v, _ := strconv.ParseInt(c.strAt(i), 10, 64)
			b.appendInt(v)
		}
	case isFloat:
		for i := 0; i < c.n; i++ {
			if c.isNull(i) {
				b.appendNull()
				continue
			}
			v, _ := strconv.ParseFloat(c.strAt(i), 64)
			b.appendFloat(v)
		}
	case isBool:
		for i := 0; i < c.n; i++ {
			if c.isNull(i) {
				b.appendNull()
				continue
			}
			s := c.strAt(i)
			b.appendBool(s[0] == 'T' || s[0] == 't')
		}
	default:
		return c
	}
	return b.finish()
}

// canonicalInt accepts integers that fit int64 written without leading zeros ("0", "-12", "+7").
func canonicalInt(s string) bool {
	if !isIntLiteral(s) {
		return false
	}
	digits := s
	if s[0] == '-' || s[0] == '+' {
		digits = s[1:]
	}
	if len(digits) > 1 && digits[0] == '0' {
		return false
	}
	_, err := strconv.ParseInt(s, 10, 64)
	return err == nil
}

// isDecimalNumber rejects what strconv.ParseFloat accepts but pandas does not read as a number
// (hexadecimal, underscores) and leading-zero integers ("007" stays text).
func isDecimalNumber(s string) bool {
	digits := s
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		digits = s[1:]
	}
	if isIntLiteral(s) && len(digits) > 1 && digits[0] == '0' {
		return false
	}
	switch digits {
	case "inf", "Inf", "INF", "nan", "NaN", "NAN", "infinity", "Infinity":
		return true
	}
	for _, r := range digits {
		if !(r >= '0' && r <= '9' || r == '.' || r == 'e' || r == 'E' || r == '-' || r == '+') {
			return false
		}
	}
	return true
}

// readText reads a .txt file: one row per line in a "text" column, as Hugging Face's text loader.
func readText(r io.Reader, name string) (*Dataset, []string, error) {
	br := bufio.NewReaderSize(newUTF8Reader(r), 1<<20)
	if bom, _ := br.Peek(3); bytes.Equal(bom, utf8BOM) {
		br.Discard(3)
	}
	b := newBuilder()
	b.promote(String)
	for {
		line, err := br.ReadString('\n')
		if len(line) > 0 {
			line = trimLineEnd(line)
			b.appendStr(line)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	d := newDataset([]string{"text"}, []*column{b.finish()})
	return d, []string{"text"}, nil
}

func trimLineEnd(s string) string {
	if len(s) > 0 && s[len(s)-1] == '\n' {
		s = s[:len(s)-1]
	}
	if len(s) > 0 && s[len(s)-1] == '\r' {
		s = s[:len(s)-1]
	}
	return s
}
