package tokenizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// File names read by [Load], as written by Hugging Face transformers' save_pretrained.
const (
	TokenizerJSONFile     = "tokenizer.json"
	TokenizerConfigFile   = "tokenizer_config.json"
	SpecialTokensMapFile  = "special_tokens_map.json"
	VocabFile             = "vocab.txt"
	modelConfigFile       = "config.json"
	maxTokenizerFileBytes = 512 << 20 // refuse to read absurdly large tokenizer files into memory
	maxVocabSize          = 1 << 24   // ids above this are rejected (no real vocabulary comes close)
)

// tokenizerJSON is the part of a Hugging Face tokenizer.json this package reads. Sections it interprets
// itself stay raw so that their errors can name the field.
type tokenizerJSON struct {
	Version       string          `json:"version"`
	Truncation    *truncationJSON `json:"truncation"`
	Padding       *paddingJSON    `json:"padding"`
	AddedTokens   []addedTokenDef `json:"added_tokens"`
	Normalizer    json.RawMessage `json:"normalizer"`
	PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
	PostProcessor json.RawMessage `json:"post_processor"`
	Decoder       json.RawMessage `json:"decoder"`
	Model         json.RawMessage `json:"model"`
}

// truncationJSON is tokenizer.json's "truncation" block. Only the direction is used (transformers takes it
// as the default truncation side); max_length is ignored, as sentence-transformers overrides it per call.
type truncationJSON struct {
	MaxLength int    `json:"max_length"`
	Direction string `json:"direction"`
}

// paddingJSON is tokenizer.json's "padding" block; only direction and pad_token are used (as defaults).
type paddingJSON struct {
	Direction string `json:"direction"`
	PadToken  string `json:"pad_token"`
}

// addedTokenDef is one added token as tokenizer.json's "added_tokens" or tokenizer_config.json's
// "added_tokens_decoder" store it.
type addedTokenDef struct {
	ID         int    `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	LStrip     bool   `json:"lstrip"`
	RStrip     bool   `json:"rstrip"`
	Normalized *bool  `json:"normalized"`
	Special    bool   `json:"special"`
}

// isNormalized applies the Hugging Face default: a token is matched on normalized text unless it is special.
func (t addedTokenDef) isNormalized() bool {
	if t.Normalized != nil {
		return *t.Normalized
	}
	return !t.Special
}

// wordPieceModelJSON is tokenizer.json's "model" block for a WordPiece model.
type wordPieceModelJSON struct {
	Type                    string          `json:"type"`
	UnkToken                string          `json:"unk_token"`
	ContinuingSubwordPrefix *string         `json:"continuing_subword_prefix"`
	MaxInputCharsPerWord    *int            `json:"max_input_chars_per_word"`
	Vocab                   json.RawMessage `json:"vocab"`
}

// tokenizerConfig is the part of tokenizer_config.json (and special_tokens_map.json, which uses the same
// token fields) that transformers' tokenizer loading honours.
type tokenizerConfig struct {
	TokenizerClass       string                   `json:"tokenizer_class"`
	DoLowerCase          *bool                    `json:"do_lower_case"`
	TokenizeChineseChars *bool                    `json:"tokenize_chinese_chars"`
	StripAccents         *bool                    `json:"strip_accents"`
	ModelMaxLength       *float64                 `json:"model_max_length"`
	TruncationSide       string                   `json:"truncation_side"`
	PaddingSide          string                   `json:"padding_side"`
	UnkToken             tokenField               `json:"unk_token"`
	SepToken             tokenField               `json:"sep_token"`
	PadToken             tokenField               `json:"pad_token"`
	ClsToken             tokenField               `json:"cls_token"`
	MaskToken            tokenField               `json:"mask_token"`
	AddedTokensDecoder   map[string]addedTokenDef `json:"added_tokens_decoder"`
}

// tokenField is a special-token entry: either a plain string or an AddedToken object {"content": ...}.
type tokenField struct {
	set bool
	def addedTokenDef
}

// UnmarshalJSON accepts a string, an object with "content", or null.
func (f *tokenField) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*f = tokenField{}
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = tokenField{set: true, def: addedTokenDef{Content: s, Special: true}}
		return nil
	}
	var d addedTokenDef
	d.Special = true
	if err := json.Unmarshal(b, &d); err != nil {
		return fmt.Errorf("expected a string or an object with \"content\": %w", err)
	}
	if d.Content == "" {
		return errors.New("token object has no \"content\"")
	}
	*f = tokenField{set: true, def: d}
	return nil
}

// modelConfig is the part of config.json used to pick the tokenizer class when tokenizer_config.json
// does not name one (as transformers' AutoTokenizer does).
type modelConfig struct {
	ModelType string `json:"model_type"`
}

// readFileLimited reads path, refusing files above maxTokenizerFileBytes.
func readFileLimited(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, fmt.Errorf("%s is a directory, expected a file", path)
	}
	if st.Size() > maxTokenizerFileBytes {
		return nil, fmt.Errorf("%s is %d bytes, more than the %d bytes accepted for a tokenizer file", path, st.Size(), maxTokenizerFileBytes)
	}
	return os.ReadFile(path)
}

// readOptionalJSON decodes dir/name into v; found is false (and err nil) when the file does not exist.
func readOptionalJSON(dir, name string, v any) (found bool, err error) {
	path := filepath.Join(dir, name)
	data, err := readFileLimited(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading %s: %w", path, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return true, fmt.Errorf("parsing %s: %w", path, describeJSONError(data, err))
	}
	return true, nil
}

// describeJSONError adds the line and column to JSON syntax errors.
func describeJSONError(data []byte, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	off := int64(-1)
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	}
	if off < 0 || off > int64(len(data)) {
		return err
	}
	line := 1 + bytes.Count(data[:off], []byte("\n"))
	col := off - int64(bytes.LastIndexByte(data[:off], '\n'))
	return fmt.Errorf("line %d column %d: %w", line, col, err)
}

// parseTokenizerJSON decodes a tokenizer.json document; name is used in error messages.
func parseTokenizerJSON(name string, data []byte) (*tokenizerJSON, error) {
	var tj tokenizerJSON
	if err := json.Unmarshal(data, &tj); err != nil {
		return nil, fmt.Errorf("parsing %s: %w", name, describeJSONError(data, err))
	}
	if len(tj.Model) == 0 || bytes.Equal(bytes.TrimSpace(tj.Model), []byte("null")) {
		return nil, fmt.Errorf("%s: missing \"model\" section", name)
	}
	return &tj, nil
}

// parseWordPieceModel decodes and validates tokenizer.json's "model" section as WordPiece.
func parseWordPieceModel(name string, raw json.RawMessage) (*wordPieceModelJSON, map[string]int, error) {
	var m wordPieceModelJSON
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, nil, fmt.Errorf("%s: field \"model\": %w", name, err)
	}
	if m.Type != "WordPiece" {
		t := m.Type
		if t == "" {
			t = "(missing)"
		}
		return nil, nil, fmt.Errorf("%s: field \"model.type\" is %q; only \"WordPiece\" (BERT-style) models are supported", name, t)
	}
	var vocab map[string]int
	if err := json.Unmarshal(m.Vocab, &vocab); err != nil || vocab == nil {
		if err == nil {
			err = errors.New("missing or null")
		}
		return nil, nil, fmt.Errorf("%s: field \"model.vocab\" must be an object {token: id}: %w", name, err)
	}
	if err := validateVocab(vocab); err != nil {
		return nil, nil, fmt.Errorf("%s: field \"model.vocab\": %w", name, err)
	}
	return &m, vocab, nil
}

// validateVocab checks that ids are in [0, maxVocabSize) and unique.
func validateVocab(vocab map[string]int) error {
	if len(vocab) == 0 {
		return errors.New("vocabulary is empty")
	}
	seen := make(map[int]string, len(vocab))
	for tok, id := range vocab {
		if id < 0 || id >= maxVocabSize {
			return fmt.Errorf("token %q has id %d, expected 0 <= id < %d", tok, id, maxVocabSize)
		}
		if other, dup := seen[id]; dup {
			a, b := other, tok
			if a > b {
				a, b = b, a
			}
			return fmt.Errorf("tokens %q and %q share id %d", a, b, id)
		}
		seen[id] = tok
	}
	return nil
}

// readVocabTxt reads a BERT vocab.txt: one token per line, id = line number (transformers' load_vocab,
// which strips only the trailing "\n").
func readVocabTxt(path string) (map[string]int, error) {
	data, err := readFileLimited(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	text := string(data)
	text = strings.TrimSuffix(text, "\n")
	if text == "" {
		return nil, fmt.Errorf("%s: vocabulary is empty", path)
	}
	lines := strings.Split(text, "\n")
	vocab := make(map[string]int, len(lines))
	for i, tok := range lines {
		// load_vocab keeps the last id of a duplicated token.
		vocab[tok] = i
	}
	return vocab, nil
}

// modelMaxLength converts tokenizer_config.json's model_max_length to an int; transformers stores
// "no limit" as a huge number (int(1e30)), which becomes 0 here.
func modelMaxLength(v *float64) int {
	if v == nil || *v <= 0 || *v > math.MaxInt32 {
		return 0
	}
	return int(*v)
}
