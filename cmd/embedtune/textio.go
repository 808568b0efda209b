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
	var r io.Reader
	if path == "-" {
		r = os.Stdin
	} else {
		f, err := os.Open(path)
		if err != nil {
			return nil, nil, err
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, nil, fmt.Errorf("reading %s: %w", path, err)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	text = strings.TrimSuffix(text, "\n")
	lines := []string{}
	if text != "" {
		lines = strings.Split(text, "\n")
	}
	if format == "auto" {
		format = "text"
		for _, l := range lines {
			if t := strings.TrimSpace(l); t != "" {
				if strings.HasPrefix(t, "{") {
					format = "jsonl"
				}
				break
			}
		}
	}
	fields := strings.Split(field, ",")
	for i := range fields {
		if fields[i] = strings.TrimSpace(fields[i]); fields[i] == "" {
			return nil, nil, fmt.Errorf("--field %q: empty field name", field)
		}
	}
	switch format {
	case "text":
		if idField != "" {
			return nil, nil, fmt.Errorf("%s: --id-field needs JSON Lines input, not plain text", path)
		}
		return lines, nil, nil
	case "jsonl":
		out := []string{}
		var ids []json.RawMessage
		for i, l := range lines {
			if strings.TrimSpace(l) == "" {
				continue
			}
			s, id, err := parseRecord([]byte(l), fields, idField)
			if err != nil {
				return nil, nil, fmt.Errorf("%s line %d: %w", path, i+1, err)
			}
			out = append(out, s)
			if idField != "" {
				ids = append(ids, id)
			}
		}
		return out, ids, nil
	}
	return nil, nil, fmt.Errorf("unknown input format %q (auto, jsonl, text)", format)
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
