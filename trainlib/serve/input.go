package serve

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"

	"github.com/embedtune/embedtune/trainlib/tokenizer"
)

// fields is a request body decoded as a JSON object; its accessors check each field's type and name
// the field in errors. Fields the server does not know are ignored (as OpenAI's SDKs may send "user").
type fields map[string]json.RawMessage

// decodeBody reads a JSON object body of at most limit bytes.
func decodeBody(w http.ResponseWriter, r *http.Request, limit int64) (fields, *apiError) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, errorf(kindTooLarge, "", "request body is larger than %d bytes (serve.WithMaxRequestBytes, embedtune serve --max-request-bytes)", limit)
		}
		return nil, errorf(kindBadJSON, "", "reading the request body: %v", err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errorf(kindBadJSON, "", "the request body is empty; expected a JSON object")
	}
	var f fields
	if err := json.Unmarshal(data, &f); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return nil, errorf(kindBadJSON, "", "the request body is not valid JSON (syntax error at byte %d)", syn.Offset)
		}
		return nil, errorf(kindBadJSON, "", "the request body must be a JSON object, got %s", jsonKind(bytes.TrimSpace(data)))
	}
	if f == nil {
		return nil, errorf(kindBadJSON, "", "the request body must be a JSON object, got null")
	}
	return f, nil
}

// jsonKind names the JSON type of a value ("string", "array", ...).
func jsonKind(raw []byte) string {
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '"':
		return "a string"
	case '[':
		return "an array"
	case '{':
		return "an object"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		return "a number"
	}
}

// raw returns the field's value, nil when absent or null.
func (f fields) raw(name string) json.RawMessage {
	v := bytes.TrimSpace(f[name])
	if len(v) == 0 || string(v) == "null" {
		return nil
	}
	return v
}

// str returns a string field ("" when absent or null).
func (f fields) str(name string) (string, *apiError) {
	v := f.raw(name)
	if v == nil {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", errorf(kindInvalid, name, "`%s` must be a string, got %s", name, jsonKind(v))
	}
	return s, nil
}

// boolean returns a boolean field, def when absent or null.
func (f fields) boolean(name string, def bool) (bool, *apiError) {
	v := f.raw(name)
	if v == nil {
		return def, nil
	}
	var b bool
	if err := json.Unmarshal(v, &b); err != nil {
		return def, errorf(kindInvalid, name, "`%s` must be true or false, got %s", name, jsonKind(v))
	}
	return b, nil
}

// integer returns a whole-number field, 0 when absent or null.
func (f fields) integer(name string) (int, *apiError) {
	v := f.raw(name)
	if v == nil {
		return 0, nil
	}
	var x float64
	if err := json.Unmarshal(v, &x); err != nil || x != math.Trunc(x) || math.Abs(x) > 1<<31 {
		return 0, errorf(kindInvalid, name, "`%s` must be a whole number, got %s", name, jsonKind(v))
	}
	return int(x), nil
}

// texts returns the field as a list of texts: a string, or an array of strings. Token-id inputs
// (an array of integers, or of arrays of integers) are refused with an explanation: OpenAI's are
// tiktoken ids, which mean nothing to a WordPiece model.
func (f fields) texts(name string) ([]string, *apiError) {
	v := f.raw(name)
	if v == nil {
		return nil, errorf(kindEmpty, name, "`%s` is required: a string or an array of strings", name)
	}
	switch v[0] {
	case '"':
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return nil, errorf(kindInvalid, name, "`%s` is not a valid JSON string", name)
		}
		return []string{s}, nil
	case '[':
	default:
		return nil, errorf(kindInvalid, name, "`%s` must be a string or an array of strings, got %s", name, jsonKind(v))
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(v, &elems); err != nil {
		return nil, errorf(kindInvalid, name, "`%s` is not a valid JSON array", name)
	}
	out := make([]string, len(elems))
	for i, e := range elems {
		e = bytes.TrimSpace(e)
		if len(e) > 0 && (e[0] == '[' || e[0] == '-' || (e[0] >= '0' && e[0] <= '9')) {
			return nil, errorf(kindInvalid, name, "`%s` holds token ids (element %d is %s); token-id input is not supported: "+
				"embedtune tokenizes text with the model's own tokenizer, so send the texts as strings "+
				"(LangChain: OpenAIEmbeddings(..., check_embedding_ctx_length=False))", name, i, jsonKind(e))
		}
		if err := json.Unmarshal(e, &out[i]); err != nil || len(e) == 0 || e[0] != '"' {
			return nil, errorf(kindInvalid, name, "`%s[%d]` must be a string, got %s", name, i, jsonKind(e))
		}
	}
	return out, nil
}

// textOptions say how to turn texts into token ids.
type textOptions struct {
	param      string // the request field holding the texts, for error messages
	promptName string // a prompt of the model ("" = its default_prompt_name, if any)
	truncate   bool   // cut texts over max_seq_length (else 413)
	side       tokenizer.Side
}

// prepared is a request's texts as token ids, ready for the batcher.
type prepared struct {
	seqs      [][]int
	promptLen int
	tokens    int
}

// prepare checks and tokenizes texts exactly as Encode does (prompt prepended, [CLS] … [SEP],
// truncation to max_seq_length), except that the truncation side can be chosen and that without
// truncation a longer text is refused with 413.
func (s *served) prepare(texts []string, o textOptions, c *config) (*prepared, *apiError) {
	if len(texts) == 0 {
		return nil, errorf(kindEmpty, o.param, "`%s` cannot be empty: send at least one text", o.param)
	}
	if len(texts) > c.maxInputs {
		return nil, errorf(kindTooLarge, o.param, "`%s` holds %d texts; at most %d are accepted per request (serve.WithMaxInputs, embedtune serve --max-inputs)",
			o.param, len(texts), c.maxInputs)
	}
	for i, t := range texts {
		if t == "" {
			return nil, errorf(kindEmpty, o.param, "`%s` cannot be empty (text %d is an empty string)", o.param, i)
		}
	}
	m := s.m
	prompt, err := m.ResolvePrompt("", o.promptName)
	if err != nil {
		return nil, errorf(kindInvalid, "prompt_name", "%s", strings.TrimPrefix(err.Error(), "encode: "))
	}
	promptLen, err := m.PromptLength(prompt)
	if err != nil {
		return nil, errorf(kindBackend, "", "%v", err)
	}
	limit := m.MaxSeqLength
	modelSide := m.Tokenizer.Info().TruncationSide
	side := o.side
	if side == "" {
		side = modelSide
	}
	p := &prepared{seqs: make([][]int, len(texts)), promptLen: promptLen}
	for i, t := range texts {
		ids, err := m.Tokenizer.Encode(prompt+t, 0)
		if err != nil {
			return nil, errorf(kindInvalid, o.param, "tokenizing text %d: %v", i, err)
		}
		if len(ids) > limit {
			if !o.truncate {
				return nil, errorf(kindTooLarge, o.param, "text %d has %d tokens, more than the model's max_seq_length of %d tokens; "+
					"shorten it or allow truncation (TEI: \"truncate\": true)", i, len(ids), limit)
			}
			if side == modelSide {
				ids, err = m.Tokenizer.Encode(prompt+t, limit) // Exactly what sentence-transformers does.
			} else {
				ids, err = truncateIDs(ids, m.Tokenizer.Special(), limit, side)
			}
			if err != nil {
				return nil, errorf(kindInvalid, o.param, "truncating text %d: %v", i, err)
			}
		}
		p.seqs[i] = ids
		p.tokens += len(ids)
	}
	return p, nil
}

// truncateIDs cuts a full encoding (special prefix, text ids, special suffix) to limit ids, removing
// text ids from the given side, as the tokenizer would with that truncation side.
func truncateIDs(ids []int, sp tokenizer.SpecialTokens, limit int, side tokenizer.Side) ([]int, error) {
	np, ns := len(sp.Prefix), len(sp.Suffix)
	if len(ids) < np+ns || !equalPrefix(ids, sp.Prefix) || !equalPrefix(ids[len(ids)-ns:], sp.Suffix) {
		return nil, fmt.Errorf("the tokenizer's encodings do not have the form prefix + text + suffix; use its own truncation side")
	}
	keep := limit - np - ns
	if keep < 0 {
		return nil, fmt.Errorf("max_seq_length %d is smaller than the %d special tokens", limit, np+ns)
	}
	text := ids[np : len(ids)-ns]
	if side == tokenizer.Left {
		text = text[len(text)-keep:]
	} else {
		text = text[:keep]
	}
	out := make([]int, 0, limit)
	out = append(out, sp.Prefix...)
	out = append(out, text...)
	return append(out, sp.Suffix...), nil
}

func equalPrefix(a, prefix []int) bool {
	if len(a) < len(prefix) {
		return false
	}
	for i, v := range prefix {
		if a[i] != v {
			return false
		}
	}
	return true
}

// truncationSide parses TEI's truncation_direction ("left"/"right", any case; absent = the model's).
func truncationSide(f fields) (tokenizer.Side, *apiError) {
	s, e := f.str("truncation_direction")
	if e != nil {
		return "", e
	}
	switch strings.ToLower(s) {
	case "":
		return "", nil
	case "left":
		return tokenizer.Left, nil
	case "right":
		return tokenizer.Right, nil
	}
	return "", errorf(kindInvalid, "truncation_direction", "`truncation_direction` must be \"left\" or \"right\", got %q", s)
}

// dimensions checks a Matryoshka truncation request (0 = full size).
func (s *served) dimensions(f fields) (int, *apiError) {
	d, e := f.integer("dimensions")
	if e != nil {
		return 0, e
	}
	if f.raw("dimensions") != nil && (d < 1 || d > s.m.Dim()) {
		return 0, errorf(kindInvalid, "dimensions", "`dimensions` must be between 1 and %d (the embedding size of model `%s`), got %d",
			s.m.Dim(), s.name, d)
	}
	return d, nil
}
