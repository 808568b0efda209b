package datasets

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Readers of JSON Lines and JSON files. Each top-level object is a row; values map to columns as:
// string -> string, integer literal -> int64, other number -> float64, true/false -> bool,
// null -> null, array of strings -> list<string>, any other array or object -> json (its text).

// scanObject calls fn for every key and raw value of a JSON object, which must be valid JSON
// (checked by the caller with json.Valid): it only finds boundaries.
func scanObject(b []byte, fn func(key string, val []byte) error) error {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return fmt.Errorf("expected a JSON object, got %s", describeJSON(b))
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return nil
	}
	for i < len(b) {
		kEnd := skipString(b, i)
		rawKey := b[i:kEnd]
		key := ""
		if k, ok := unquoteFast(rawKey); ok {
			key = string(k)
		} else if err := json.Unmarshal(rawKey, &key); err != nil {
			return fmt.Errorf("bad key %s: %w", rawKey, err)
		}
		i = skipWS(b, kEnd)
		i = skipWS(b, i+1) // ':'
		vEnd := skipValue(b, i)
		if err := fn(key, b[i:vEnd]); err != nil {
			return err
		}
		i = skipWS(b, vEnd)
		if i < len(b) && b[i] == '}' {
			return nil
		}
		i = skipWS(b, i+1) // ','
	}
	return nil
}

func describeJSON(b []byte) string {
	i := skipWS(b, 0)
	if i >= len(b) {
		return "nothing"
	}
	switch b[i] {
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

func skipWS(b []byte, i int) int {
	for i < len(b) && isJSONSpace(b[i]) {
		i++
	}
	return i
}

// skipString returns the index after the string literal starting at b[i] == '"'.
func skipString(b []byte, i int) int {
	i++
	for i < len(b) {
		switch b[i] {
		case '\\':
			i += 2
			continue
		case '"':
			return i + 1
		}
		i++
	}
	return i
}

// skipValue returns the index after the JSON value starting at b[i].
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	}
	for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && !isJSONSpace(b[i]) {
		i++
	}
	return i
}

// jsonSyntaxDetail explains why b is not valid JSON.
func jsonSyntaxDetail(b []byte) string {
	var v any
	err := json.Unmarshal(b, &v)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%v (at byte %d of the line)", se, se.Offset)
	}
	if err != nil {
		return err.Error()
	}
	return "invalid JSON"
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// readJSONLines reads one JSON object per line. Blank lines are skipped, a UTF-8 byte order mark
// and CRLF line ends are accepted; an error names the line.
func readJSONLines(r io.Reader, name string, keep []string) (*Dataset, []string, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	t := newTableBuilder(keep)
	var long []byte
	type pair struct {
		key string
		val []byte
	}
	var pairs []pair
	collect := func(k string, v []byte) error {
		pairs = append(pairs, pair{k, v})
		return nil
	}
	for lineNo := 1; ; lineNo++ {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long[:0], line...)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = br.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		}
		if err != nil && err != io.EOF {
			return nil, nil, fmt.Errorf("%s: line %d: %w", name, lineNo, err)
		}
		if lineNo == 1 {
			line = bytes.TrimPrefix(line, utf8BOM)
		}
		body := trimJSONSpace(line)
		if err := checkUTF8(body); err != nil {
			return nil, nil, fmt.Errorf("%s: line %d: %w", name, lineNo, err)
		}
		if len(body) > 0 {
			pairs = pairs[:0]
			err := parseObject(body, collect)
			if errors.Is(err, errJSONSyntax) {
				if !json.Valid(body) {
					return nil, nil, fmt.Errorf("%s: line %d: invalid JSON: %s", name, lineNo, jsonSyntaxDetail(body))
				}
				if body[0] != '{' {
					return nil, nil, fmt.Errorf("%s: line %d: expected a JSON object per line, got %s", name, lineNo, describeJSON(body))
				}
				pairs = pairs[:0] // Valid after all: take the encoding/json-checked path.
				err = scanObject(body, collect)
			}
			if err != nil {
				return nil, nil, fmt.Errorf("%s: line %d: %w", name, lineNo, err)
			}
			for _, kv := range pairs {
				if err := t.set(kv.key, kv.val); err != nil {
					return nil, nil, fmt.Errorf("%s: line %d: %w", name, lineNo, err)
				}
			}
			t.endRow()
		}
		if err == io.EOF {
			break
		}
	}
	return t.dataset(), t.all, nil
}

// readJSON reads a JSON file holding an array of objects, an object whose field (default "data")
// is such an array, or JSON Lines (several top-level values, as Hugging Face's json loader accepts
// for .json files). A single object without that field is one row.
func readJSON(r io.ReadSeeker, name, field string, keep []string) (*Dataset, []string, error) {
	u := newUTF8Reader(r)
	d, all, err := readJSONFrom(r, u, name, field, keep)
	if u.err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, u.err)
	}
	return d, all, err
}

// readJSONFrom is readJSON reading through u (which checks that the text is UTF-8).
func readJSONFrom(r io.ReadSeeker, u *utf8Reader, name, field string, keep []string) (*Dataset, []string, error) {
	if field == "" {
		field = "data"
	}
	br := bufio.NewReaderSize(u, 1<<20)
	if bom, _ := br.Peek(3); bytes.Equal(bom, utf8BOM) {
		br.Discard(3)
	}
	dec := json.NewDecoder(br)
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, nil, fmt.Errorf("%s: invalid JSON: %w", name, err)
	}
	t := newTableBuilder(keep)
	switch tok {
	case json.Delim('['):
		if err := readArrayRows(dec, t, name); err != nil {
			return nil, nil, err
		}
	case json.Delim('{'):
		// One object: either {field: [...], ...}, one row, or the first line of JSON Lines.
		var pending [][2][]byte
		found := false
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil, nil, fmt.Errorf("%s: invalid JSON at byte %d: %w", name, dec.InputOffset(), err)
			}
			key := kt.(string)
			if key == field && !found {
				if next, _ := peekNonSpace(dec); next == '[' {
					if _, err := dec.Token(); err != nil {
						return nil, nil, fmt.Errorf("%s: invalid JSON: %w", name, err)
					}
					if err := readArrayRows(dec, t, name); err != nil {
						return nil, nil, err
					}
					found = true
					continue
				}
			}
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return nil, nil, fmt.Errorf("%s: invalid JSON at byte %d: %w", name, dec.InputOffset(), err)
			}
			if key == field && !found && len(raw) > 0 && raw[0] == '[' {
				// The peek above could not see the value (end of the read buffer): same rows, from memory.
				inner := json.NewDecoder(bytes.NewReader(raw))
				inner.UseNumber()
				if _, err := inner.Token(); err != nil {
					return nil, nil, fmt.Errorf("%s: invalid JSON: %w", name, err)
				}
				if err := readArrayRows(inner, t, name); err != nil {
					return nil, nil, err
				}
				found = true
				continue
			}
			pending = append(pending, [2][]byte{[]byte(key), raw})
		}
		if _, err := dec.Token(); err != nil {
			return nil, nil, fmt.Errorf("%s: invalid JSON: %w", name, err)
		}
		if found {
			if err := expectEnd(dec, name); err != nil {
				return nil, nil, err
			}
			break
		}
		if dec.More() { // More top-level values: JSON Lines in a .json file.
			if _, err := r.Seek(0, io.SeekStart); err != nil {
				return nil, nil, fmt.Errorf("%s: %w", name, err)
			}
			return readJSONLines(r, name, keep)
		}
		for _, kv := range pending {
			if err := t.set(string(kv[0]), kv[1]); err != nil {
				return nil, nil, fmt.Errorf("%s: %w", name, err)
			}
		}
		t.endRow()
	default:
		return nil, nil, fmt.Errorf("%s: expected a JSON array of objects or an object with a %q array, got %v", name, field, tok)
	}
	return t.dataset(), t.all, nil
}

func readArrayRows(dec *json.Decoder, t *tableBuilder, name string) error {
	for i := 0; dec.More(); i++ {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return fmt.Errorf("%s: element %d: invalid JSON at byte %d: %w", name, i, dec.InputOffset(), err)
		}
		if len(raw) == 0 || raw[0] != '{' {
			return fmt.Errorf("%s: element %d: expected a JSON object, got %s", name, i, describeJSON(raw))
		}
		if err := scanObject(raw, t.set); err != nil {
			return fmt.Errorf("%s: element %d: %w", name, i, err)
		}
		t.endRow()
	}
	if _, err := dec.Token(); err != nil { // ']'
		return fmt.Errorf("%s: invalid JSON: %w", name, err)
	}
	return nil
}

func expectEnd(dec *json.Decoder, name string) error {
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%s: unexpected data after the top-level JSON value (at byte %d)", name, dec.InputOffset())
	}
	return nil
}

// peekNonSpace returns the next non-space byte the decoder will read.
func peekNonSpace(dec *json.Decoder) (byte, error) {
	br := dec.Buffered()
	var one [1]byte
	for {
		n, err := br.Read(one[:])
		if n == 0 || err != nil {
			return 0, errors.New("no buffered data")
		}
		if !isJSONSpace(one[0]) && one[0] != ':' {
			return one[0], nil
		}
	}
}
