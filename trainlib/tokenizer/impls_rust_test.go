//go:build hftokenizers

package tokenizer

// testImpls lists the implementations the parity tests run: both, with the hftokenizers build tag.
func testImpls() []testImpl {
	return []testImpl{{"go", LoadGo, FromTokenizerJSONGo}, {"rust", LoadRust, FromTokenizerJSONRust}}
}
