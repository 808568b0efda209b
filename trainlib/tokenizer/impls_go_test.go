//go:build !hftokenizers

package tokenizer

// testImpls lists the implementations the parity tests run (the Rust one joins with -tags hftokenizers).
func testImpls() []testImpl {
	return []testImpl{{"go", LoadGo, FromTokenizerJSONGo}}
}
