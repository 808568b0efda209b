//go:build !hftokenizers

package tokenizer

// newDefault builds the default implementation: pure Go (build with -tags hftokenizers for the Rust one).
func newDefault(s *spec) (Tokenizer, error) { return newGoTokenizer(s) }
