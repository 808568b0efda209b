package tokenizer

import (
	"fmt"
	"path/filepath"
)

// Load reads the tokenizer of a model folder (tokenizer.json, tokenizer_config.json,
// special_tokens_map.json, config.json; vocab.txt when there is no tokenizer.json) and returns it with the
// behaviour sentence-transformers gets from transformers v5 for the same folder. opts may be nil.
//
// The implementation is the pure-Go one, or Hugging Face's Rust tokenizers when built with the
// hftokenizers build tag.
func Load(dir string, opts *Options) (Tokenizer, error) {
	if opts == nil {
		opts = &Options{}
	}
	s, err := resolveDir(dir, *opts)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	return newDefault(s)
}

// LoadGo is [Load] with the pure-Go implementation, whatever the build tags.
func LoadGo(dir string, opts *Options) (Tokenizer, error) {
	if opts == nil {
		opts = &Options{}
	}
	s, err := resolveDir(dir, *opts)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	return newGoTokenizer(s)
}

// FromTokenizerJSON builds a tokenizer from the content of a tokenizer.json alone, with the semantics of
// Hugging Face tokenizers' Tokenizer.from_file (no transformers rules; truncation and padding blocks
// ignored). name is used in error messages.
func FromTokenizerJSON(name string, data []byte, opts *Options) (Tokenizer, error) {
	s, err := resolveTokenizerJSON(name, data, opts)
	if err != nil {
		return nil, err
	}
	return newDefault(s)
}

// FromTokenizerJSONGo is [FromTokenizerJSON] with the pure-Go implementation.
func FromTokenizerJSONGo(name string, data []byte, opts *Options) (Tokenizer, error) {
	s, err := resolveTokenizerJSON(name, data, opts)
	if err != nil {
		return nil, err
	}
	return newGoTokenizer(s)
}

// resolveTokenizerJSON builds the spec of a lone tokenizer.json.
func resolveTokenizerJSON(name string, data []byte, opts *Options) (*spec, error) {
	if opts == nil {
		opts = &Options{}
	}
	tj, err := parseTokenizerJSON(name, data)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	s := &spec{source: filepath.Clean(name), prefix: "##", maxChars: 100, truncSide: Right, padSide: Right}
	if err := s.fromTokenizerJSON(name, tj, &tokenizerConfig{}, map[string]tokenField{}); err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	if tj.Truncation != nil {
		s.ignoredTrunc = true
		if side, ok := parseSide(tj.Truncation.Direction); ok {
			s.truncSide = side
		}
	}
	if tj.Padding != nil {
		s.ignoredPad = true
		if side, ok := parseSide(tj.Padding.Direction); ok {
			s.padSide = side
		}
		s.special.PADToken = tj.Padding.PadToken
	}
	s.lowerAdded = opts.LowerCase && !hasLowercase(s.baseNorm)
	if err := s.finish(); err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", name, err)
	}
	return s, nil
}
