package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/embedtune/embedtune/internal/atomicio"
)

// readTexts reads texts from path ("-" = stdin): JSON Lines with string fields (format "jsonl"),
// plain text with one text per line ("text"), or either, decided by the first non-blank line
// ("auto": JSON Lines when it starts with "{"). A trailing newline does not add an empty text;
// empty lines in plain text are empty texts. field is one JSON field or a comma-separated list
// ("title,text"): several fields are joined with a space and trimmed, as BEIR/MTEB build documents,
// and there an absent or null field counts as empty.
func readTexts(path, format, field string) ([]string, error) {
	texts, _, err := readRecords(path, format, field, "")
	return texts, err
}

// readRecords is readTexts that also returns, when idField is set (JSON Lines only), each line's
// id as its raw JSON value (a string or a number; anything else is an error naming the line).
func readRecords(path, format, field, idField string) ([]string, []json.RawMessage, error) {
	src, err := openRecords(path, format, field, idField)
	if err != nil {
		return nil, nil, err
	}
	texts := []string{}
	var ids []json.RawMessage
	err = src.each(func(text string, id json.RawMessage) error {
		texts = append(texts, text)
		if idField != "" {
			ids = append(ids, id)
		}
		return nil
	})
	return texts, ids, err
}

// records is an input of texts (see readTexts) read as a stream: a file is read again from its start
// by every call of each, without being held in memory; stdin is read once into memory.
type records struct {
	path, format, idField string
	fields                []string
	data                  []byte // stdin's content
}

// openRecords checks the options and, for stdin, reads the input.
func openRecords(path, format, field, idField string) (*records, error) {
	fields := strings.Split(field, ",")
	for i := range fields {
		if fields[i] = strings.TrimSpace(fields[i]); fields[i] == "" {
			return nil, fmt.Errorf("--field %q: empty field name", field)
		}
	}
	switch format {
	case "auto", "jsonl", "text":
	default:
		return nil, fmt.Errorf("unknown input format %q (auto, jsonl, text)", format)
	}
	r := &records{path: path, format: format, idField: idField, fields: fields}
	if path == "-" {
		data, err := io.ReadAll(os.Stdin)
		if err != nil {
			return nil, fmt.Errorf("reading stdin: %w", err)
		}
		r.data = data
	}
	return r, nil
}

// each calls fn with every record in order; an error of fn stops the reading and is returned.
func (r *records) each(fn func(text string, id json.RawMessage) error) error {
	var in io.Reader
	if r.path == "-" {
		in = bytes.NewReader(r.data)
	} else {
		f, err := os.Open(r.path)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	br := bufio.NewReaderSize(in, 1<<20)
	if bom, _ := br.Peek(3); bytes.Equal(bom, []byte("\xef\xbb\xbf")) {
		br.Discard(3)
	}
	format := r.format
	if format == "auto" {
		format = "text"
		for n := 4096; ; n *= 4 { // the first non-blank line decides
			head, err := br.Peek(n)
			t := bytes.TrimLeft(head, " \t\r\n")
			if len(t) > 0 {
				if t[0] == '{' {
					format = "jsonl"
				}
				break
			}
			if err != nil {
				break
			}
		}
	}
	if format == "text" && r.idField != "" {
		return fmt.Errorf("%s: --id-field needs JSON Lines input, not plain text", r.path)
	}
	// Every line ended by "\n" is a record, and so is a last line without one unless it is empty;
	// an input that is a single empty line holds nothing.
	heldFirst := false
	for lineNo := 1; ; lineNo++ {
		line, err := br.ReadBytes('\n')
		if err != nil && err != io.EOF {
			return fmt.Errorf("reading %s: %w", r.path, err)
		}
		if len(line) == 0 && err == io.EOF {
			return nil
		}
		if terminated := bytes.HasSuffix(line, []byte("\n")); terminated {
			line = bytes.TrimSuffix(line[:len(line)-1], []byte("\r"))
		}
		switch format {
		case "text":
			if lineNo == 1 && len(line) == 0 && err == nil {
				heldFirst = true
				continue
			}
			if heldFirst {
				heldFirst = false
				if ferr := fn("", nil); ferr != nil {
					return ferr
				}
			}
			if ferr := fn(string(line), nil); ferr != nil {
				return ferr
			}
		case "jsonl":
			if len(bytes.TrimSpace(line)) > 0 {
				s, id, perr := parseRecord(line, r.fields, r.idField)
				if perr != nil {
					return fmt.Errorf("%s line %d: %w", r.path, lineNo, perr)
				}
				if ferr := fn(s, id); ferr != nil {
					return ferr
				}
			}
		}
		if err == io.EOF {
			return nil
		}
	}
}

// parseRecord extracts the text (fields joined) and the id of one JSON Lines record.
func parseRecord(line []byte, fields []string, idField string) (string, json.RawMessage, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(line, &obj); err != nil {
		return "", nil, fmt.Errorf("invalid JSON: %v", err)
	}
	parts := make([]string, 0, len(fields))
	found := false
	for _, f := range fields {
		raw, ok := obj[f]
		if !ok || string(raw) == "null" {
			if len(fields) == 1 {
				return "", nil, fmt.Errorf("no %q field", f)
			}
			continue
		}
		found = true
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", nil, fmt.Errorf("field %q must be a string", f)
		}
		parts = append(parts, s)
	}
	if !found {
		return "", nil, fmt.Errorf("none of the fields %q", fields)
	}
	text := parts[0]
	if len(fields) > 1 {
		text = strings.TrimSpace(strings.Join(parts, " "))
	}
	var id json.RawMessage
	if idField != "" {
		raw, ok := obj[idField]
		if !ok {
			return "", nil, fmt.Errorf("no %q id field", idField)
		}
		if _, err := parseID(raw); err != nil {
			return "", nil, fmt.Errorf("id field %q: %w", idField, err)
		}
		id = raw
	}
	return text, id, nil
}

// writeJSONLines writes one JSON value per line to path ("-" = stdout) atomically.
func writeJSONLines(path string, stdout io.Writer, n int, value func(i int) any) error {
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	enc := json.NewEncoder(w)
	for i := 0; i < n; i++ {
		if err := enc.Encode(value(i)); err != nil {
			return err
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if path == "-" {
		_, err := stdout.Write(buf.Bytes())
		return err
	}
	return atomicio.WriteFile(path, buf.Bytes(), 0o644)
}
