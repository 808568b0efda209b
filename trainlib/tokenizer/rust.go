//go:build hftokenizers

package tokenizer

import (
	"fmt"
	"strings"
	"sync"

	hf "github.com/daulet/tokenizers"
)

// newDefault builds the default implementation for this build: Hugging Face's Rust tokenizers.
func newDefault(s *spec) (Tokenizer, error) { return newRustTokenizer(s) }

// LoadRust is [Load] with the Rust implementation (only with the hftokenizers build tag).
func LoadRust(dir string, opts *Options) (Tokenizer, error) {
	if opts == nil {
		opts = &Options{}
	}
	s, err := resolveDir(dir, *opts)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	return newRustTokenizer(s)
}

// FromTokenizerJSONRust is [FromTokenizerJSON] with the Rust implementation.
func FromTokenizerJSONRust(name string, data []byte, opts *Options) (Tokenizer, error) {
	s, err := resolveTokenizerJSON(name, data, opts)
	if err != nil {
		return nil, err
	}
	return newRustTokenizer(s)
}

// rustTokenizer runs Hugging Face's Rust tokenizers (github.com/daulet/tokenizers over libtokenizers.a)
// on the tokenizer.json rendered from the resolved spec, so that transformers' loading rules apply to it
// exactly as to the Go implementation. Truncation is applied here, on the ids between the special tokens.
type rustTokenizer struct {
	s         *spec
	goTok     *goTokenizer // lookups (TokenID, Token) only
	cleansNUL bool
	mu        sync.RWMutex
	tk        *hf.Tokenizer
}

// newRustTokenizer loads the spec into the Rust library.
func newRustTokenizer(s *spec) (*rustTokenizer, error) {
	data, err := s.tokenizerJSONBytes()
	if err != nil {
		return nil, err
	}
	tk, err := hf.FromBytes(data)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: Rust tokenizers rejected the tokenizer built from %s: %w", s.source, err)
	}
	g, err := newGoTokenizer(s)
	if err != nil {
		tk.Close()
		return nil, err
	}
	r := &rustTokenizer{s: s, goTok: g, tk: tk}
	for _, n := range s.normalizers() {
		if n.Kind == "BertNormalizer" && n.CleanText {
			r.cleansNUL = true
		}
	}
	return r, nil
}

// Encode implements [Tokenizer].
func (r *rustTokenizer) Encode(text string, maxLen int) ([]int, error) {
	text = sanitizeUTF8(text)
	if strings.IndexByte(text, 0) >= 0 {
		// The C binding passes NUL-terminated strings. clean_text deletes "\0" and U+FFFD alike (and neither
		// matches inside an added token), so the substitution does not change the result.
		if !r.cleansNUL {
			return nil, fmt.Errorf("tokenizer: text contains a NUL character, which the Rust binding cannot pass and this normalizer does not remove")
		}
		text = strings.ReplaceAll(text, "\x00", "\ufffd")
	}
	r.mu.RLock()
	if r.tk == nil {
		r.mu.RUnlock()
		return nil, ErrClosed
	}
	enc := r.tk.EncodeWithOptions(text, true)
	r.mu.RUnlock()
	pre, suf := r.s.special.Prefix, r.s.special.Suffix
	n := len(enc.IDs)
	if n < len(pre)+len(suf) {
		return nil, fmt.Errorf("tokenizer: Rust tokenizers failed to encode the text (%d ids returned)", n)
	}
	ids := make([]int, n)
	for i, id := range enc.IDs {
		ids[i] = int(id)
	}
	for i, id := range pre {
		if ids[i] != id {
			return nil, fmt.Errorf("tokenizer: Rust tokenizers returned %v, expected prefix %v", ids, pre)
		}
	}
	for i, id := range suf {
		if ids[n-len(suf)+i] != id {
			return nil, fmt.Errorf("tokenizer: Rust tokenizers returned %v, expected suffix %v", ids, suf)
		}
	}
	return r.goTok.post(ids[len(pre):n-len(suf)], maxLen)
}

// EncodeBatch implements [Tokenizer].
func (r *rustTokenizer) EncodeBatch(texts []string, maxLen int) ([][]int, error) {
	out := make([][]int, len(texts))
	for i, text := range texts {
		ids, err := r.Encode(text, maxLen)
		if err != nil {
			return nil, fmt.Errorf("text %d: %w", i, err)
		}
		out[i] = ids
	}
	return out, nil
}

// Special implements [Tokenizer].
func (r *rustTokenizer) Special() SpecialTokens { return r.s.special }

// VocabSize implements [Tokenizer].
func (r *rustTokenizer) VocabSize() int { return r.goTok.VocabSize() }

// TokenID implements [Tokenizer].
func (r *rustTokenizer) TokenID(token string) (int, bool) { return r.goTok.TokenID(token) }

// Token implements [Tokenizer].
func (r *rustTokenizer) Token(id int) (string, bool) { return r.goTok.Token(id) }

// Info implements [Tokenizer].
func (r *rustTokenizer) Info() Info { return r.s.info("rust") }

// Close implements [Tokenizer]: it frees the Rust tokenizer.
func (r *rustTokenizer) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.tk == nil {
		return nil
	}
	err := r.tk.Close()
	r.tk = nil
	return err
}
