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

// readTexts reads texts from path ("-" = stdin): JSON Lines with a string field (format "jsonl"),
// plain text with one text per line ("text"), or either, decided by the first non-blank line
// ("auto": JSON Lines when it starts with "{"). A trailing newline does not add an empty text;
// empty lines in plain text are empty texts.
func readTexts(path, format, field string) ([]string, error) {
	var r io.Reader
	if path == "-" {
		r = os.Stdin
	} else {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	text = strings.TrimSuffix(text, "\n")
	if text == "" {
		return []string{}, nil
	}
	lines := strings.Split(text, "\n")
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
	switch format {
	case "text":
		return lines, nil
	case "jsonl":
		var out []string
		for i, l := range lines {
			if strings.TrimSpace(l) == "" {
				continue
			}
			var obj map[string]json.RawMessage
			if err := json.Unmarshal([]byte(l), &obj); err != nil {
				return nil, fmt.Errorf("%s line %d: invalid JSON: %v", path, i+1, err)
			}
			raw, ok := obj[field]
			if !ok {
				return nil, fmt.Errorf("%s line %d: no %q field", path, i+1, field)
			}
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return nil, fmt.Errorf("%s line %d: field %q must be a string", path, i+1, field)
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("unknown input format %q (auto, jsonl, text)", format)
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
