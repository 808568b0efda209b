package tokenizer

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// tinyTokenizerJSON is a valid minimal BERT tokenizer.json; tests break one field at a time.
func tinyTokenizerJSON() map[string]any {
	return map[string]any{
		"version":    "1.0",
		"truncation": nil, "padding": nil,
		"added_tokens": []any{
			map[string]any{"id": 0, "content": "[PAD]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
			map[string]any{"id": 1, "content": "[UNK]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
			map[string]any{"id": 2, "content": "[CLS]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
			map[string]any{"id": 3, "content": "[SEP]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
		},
		"normalizer":     map[string]any{"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true, "strip_accents": nil, "lowercase": true},
		"pre_tokenizer":  map[string]any{"type": "BertPreTokenizer"},
		"post_processor": map[string]any{"type": "BertProcessing", "sep": []any{"[SEP]", 3}, "cls": []any{"[CLS]", 2}},
		"decoder":        map[string]any{"type": "WordPiece", "prefix": "##", "cleanup": true},
		"model": map[string]any{"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100,
			"vocab": map[string]any{"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "hello": 4, "world": 5, "##s": 6, "!": 7}},
	}
}

func writeTinyDir(t *testing.T, mutate func(tj map[string]any, cfg map[string]any)) string {
	t.Helper()
	dir := t.TempDir()
	tj := tinyTokenizerJSON()
	cfg := map[string]any{"tokenizer_class": "PreTrainedTokenizerFast"}
	if mutate != nil {
		mutate(tj, cfg)
	}
	writeJSONFile(t, filepath.Join(dir, TokenizerJSONFile), tj)
	writeJSONFile(t, filepath.Join(dir, TokenizerConfigFile), cfg)
	return dir
}

func TestLoadErrors(t *testing.T) {
	model := func(tj map[string]any) map[string]any { return tj["model"].(map[string]any) }
	tests := []struct {
		name   string
		setup  func(t *testing.T) string
		errHas []string
	}{
		{"missing folder", func(t *testing.T) string { return filepath.Join(t.TempDir(), "nope") }, []string{"model folder", "nope", "no such file"}},
		{"empty folder", func(t *testing.T) string { return t.TempDir() }, []string{"no tokenizer.json"}},
		{"tokenizer.json not JSON", func(t *testing.T) string {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, TokenizerJSONFile), []byte("{\n  \"model\": [1,\n"), 0o644)
			return dir
		}, []string{"tokenizer.json", "line 3"}},
		{"tokenizer_config.json not JSON", func(t *testing.T) string {
			dir := writeTinyDir(t, nil)
			os.WriteFile(filepath.Join(dir, TokenizerConfigFile), []byte("{oops"), 0o644)
			return dir
		}, []string{"tokenizer_config.json", "line 1"}},
		{"BPE model", func(t *testing.T) string {
			return writeTinyDir(t, func(tj, _ map[string]any) { model(tj)["type"] = "BPE" })
		}, []string{"tokenizer.json", "model.type", "BPE", "WordPiece"}},
		{"vocab not an object", func(t *testing.T) string {
			return writeTinyDir(t, func(tj, _ map[string]any) { model(tj)["vocab"] = []any{"a"} })
		}, []string{"model.vocab", "object"}},
		{"negative id", func(t *testing.T) string {
			return writeTinyDir(t, func(tj, _ map[string]any) { model(tj)["vocab"].(map[string]any)["x"] = -1 })
		}, []string{"model.vocab", `"x"`, "-1"}},
		{"duplicate id", func(t *testing.T) string {
			return writeTinyDir(t, func(tj, _ map[string]any) { model(tj)["vocab"].(map[string]any)["x"] = 4 })
		}, []string{"model.vocab", "share id 4"}},
		{"huge id", func(t *testing.T) string {
			return writeTinyDir(t, func(tj, _ map[string]any) { model(tj)["vocab"].(map[string]any)["x"] = 1 << 40 })
		}, []string{"model.vocab", "expected 0 <= id"}},
		{"unsupported normalizer", func(t *testing.T) string {
			return writeTinyDir(t, func(tj, _ map[string]any) { tj["normalizer"] = map[string]any{"type": "NFKC"} })
		}, []string{"normalizer.type", "NFKC"}},
		{"unsupported pre-tokenizer", func(t *testing.T) string {
			return writeTinyDir(t, func(tj, _ map[string]any) { tj["pre_tokenizer"] = map[string]any{"type": "ByteLevel"} })
		}, []string{"pre_tokenizer.type", "ByteLevel"}},
		{"unsupported post-processor", func(t *testing.T) string {
			return writeTinyDir(t, func(tj, _ map[string]any) { tj["post_processor"] = map[string]any{"type": "RobertaProcessing"} })
		}, []string{"post_processor.type", "RobertaProcessing"}},
		{"unk missing", func(t *testing.T) string {
			return writeTinyDir(t, func(tj, _ map[string]any) { model(tj)["unk_token"] = "<unk>" })
		}, []string{"<unk>", "neither in the vocabulary nor an added token"}},
		{"max_input_chars_per_word zero", func(t *testing.T) string {
			return writeTinyDir(t, func(tj, _ map[string]any) { model(tj)["max_input_chars_per_word"] = 0 })
		}, []string{"max_input_chars_per_word", "expected >= 1"}},
		{"unknown tokenizer class", func(t *testing.T) string {
			return writeTinyDir(t, func(_, cfg map[string]any) { cfg["tokenizer_class"] = "XLMRobertaTokenizer" })
		}, []string{"tokenizer_config.json", "tokenizer_class", "XLMRobertaTokenizer"}},
		{"bad truncation_side", func(t *testing.T) string {
			return writeTinyDir(t, func(_, cfg map[string]any) { cfg["truncation_side"] = "middle" })
		}, []string{"truncation_side", "middle"}},
		{"bad added_tokens_decoder key", func(t *testing.T) string {
			return writeTinyDir(t, func(_, cfg map[string]any) {
				cfg["added_tokens_decoder"] = map[string]any{"x": map[string]any{"content": "[X]"}}
			})
		}, []string{"added_tokens_decoder", `"x"`}},
		{"special token of wrong type", func(t *testing.T) string {
			return writeTinyDir(t, func(_, cfg map[string]any) { cfg["cls_token"] = 5 })
		}, []string{"tokenizer_config.json"}},
		{"bert class without vocab", func(t *testing.T) string {
			dir := t.TempDir()
			writeJSONFile(t, filepath.Join(dir, TokenizerConfigFile), map[string]any{"tokenizer_class": "BertTokenizer"})
			return dir
		}, []string{"neither tokenizer.json nor vocab.txt"}},
		{"post-processor token unknown", func(t *testing.T) string {
			return writeTinyDir(t, func(tj, _ map[string]any) {
				tj["post_processor"] = map[string]any{"type": "BertProcessing", "sep": []any{"[SEP]", 3}, "cls": []any{"<s>", 2}}
			})
		}, []string{"<s>"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := tc.setup(t)
			for _, impl := range testImpls() {
				tk, err := impl.load(dir, nil)
				if err == nil {
					tk.Close()
					t.Fatalf("%s: no error", impl.name)
				}
				for _, s := range tc.errHas {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("%s: error %q does not mention %q", impl.name, err, s)
					}
				}
			}
		})
	}
}

func TestEncodeEdgeCases(t *testing.T) {
	for _, impl := range testImpls() {
		t.Run(impl.name, func(t *testing.T) {
			tk, err := impl.load(writeTinyDir(t, nil), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer tk.Close()
			tests := []struct {
				name   string
				text   string
				maxLen int
				want   []int
				errHas string
			}{
				{"empty", "", 0, []int{2, 3}, ""},
				{"empty truncated", "", 2, []int{2, 3}, ""},
				{"plain", "Hello worlds!", 0, []int{2, 4, 5, 6, 7, 3}, ""},
				{"exact fit", "Hello worlds!", 6, []int{2, 4, 5, 6, 7, 3}, ""},
				{"cut", "Hello worlds!", 4, []int{2, 4, 5, 3}, ""},
				{"only specials", "Hello worlds!", 2, []int{2, 3}, ""},
				{"max length below specials", "Hello", 1, nil, "smaller than the 2 special tokens"},
				{"NUL removed", "hel\x00lo", 0, []int{2, 4, 3}, ""},
				{"invalid UTF-8 removed", "hel\xfflo", 0, []int{2, 4, 3}, ""},
				{"unknown word", "hi", 0, []int{2, 1, 3}, ""},
			}
			for _, tc := range tests {
				got, err := tk.Encode(tc.text, tc.maxLen)
				if tc.errHas != "" {
					if err == nil || !strings.Contains(err.Error(), tc.errHas) {
						t.Errorf("%s: err = %v, want %q", tc.name, err, tc.errHas)
					}
					continue
				}
				if err != nil || !slices.Equal(got, tc.want) {
					t.Errorf("%s: Encode(%q, %d) = %v, %v; want %v", tc.name, tc.text, tc.maxLen, got, err, tc.want)
				}
			}
			batch, err := tk.EncodeBatch(nil, 8)
			if err != nil || len(batch) != 0 {
				t.Errorf("EncodeBatch(nil) = %v, %v; want empty", batch, err)
			}
			if _, err := tk.EncodeBatch([]string{"a", "b"}, 1); err == nil || !strings.Contains(err.Error(), "text 0") {
				t.Errorf("EncodeBatch error %v should name the text", err)
			}
			if id, ok := tk.TokenID("world"); !ok || id != 5 {
				t.Errorf("TokenID(world) = %d, %v", id, ok)
			}
			if tok, ok := tk.Token(6); !ok || tok != "##s" {
				t.Errorf("Token(6) = %q, %v", tok, ok)
			}
			if _, ok := tk.Token(99); ok {
				t.Error("Token(99) found")
			}
		})
	}
}

func TestVocabTxtFallback(t *testing.T) {
	// A folder with only vocab.txt + tokenizer_config.json (transformers builds BertTokenizer from vocab.txt)
	// must tokenize exactly like the committed trained folder with tokenizer.json.
	dir := t.TempDir()
	for _, name := range []string{VocabFile, TokenizerConfigFile, SpecialTokensMapFile} {
		data, err := os.ReadFile(filepath.Join(trainedDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	a, err := LoadGo(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadGo(trainedDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(a.Info().Source, VocabFile) {
		t.Errorf("Source = %q, want the vocab.txt", a.Info().Source)
	}
	for _, text := range trainCorpus(t)[:50] {
		x, _ := a.Encode(text, 64)
		y, _ := b.Encode(text, 64)
		if !slices.Equal(x, y) {
			t.Fatalf("vocab.txt and tokenizer.json differ on %q: %v vs %v", text, x, y)
		}
	}
}

func TestTokenizerJSONTruncationIgnored(t *testing.T) {
	dir := writeTinyDir(t, func(tj, _ map[string]any) {
		tj["truncation"] = map[string]any{"max_length": 3, "strategy": "LongestFirst", "stride": 0, "direction": "Left"}
		tj["padding"] = map[string]any{"strategy": map[string]any{"Fixed": 16}, "direction": "Left", "pad_id": 0, "pad_type_id": 0, "pad_token": "[PAD]"}
	})
	for _, impl := range testImpls() {
		tk, err := impl.load(dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := tk.Encode("hello world hello world", 0)
		if err != nil || !slices.Equal(got, []int{2, 4, 5, 4, 5, 3}) {
			t.Errorf("%s: %v, %v: tokenizer.json truncation/padding must not apply", impl.name, got, err)
		}
		got, _ = tk.Encode("hello world hello world", 4)
		// The block's direction is the default truncation side, as in transformers.
		if !slices.Equal(got, []int{2, 4, 5, 3}) {
			t.Errorf("%s: left truncation from tokenizer.json direction: got %v", impl.name, got)
		}
		in := tk.Info()
		if !in.IgnoredTruncation || !in.IgnoredPadding || in.TruncationSide != Left || in.PaddingSide != Left {
			t.Errorf("%s: Info = %+v", impl.name, in)
		}
		tk.Close()
	}
}

func TestPadBatch(t *testing.T) {
	seqs := [][]int{{2, 4, 3}, {2, 3}}
	tests := []struct {
		side   Side
		length int
		ids    [][]int
		mask   [][]int
	}{
		{Right, 0, [][]int{{2, 4, 3}, {2, 3, 0}}, [][]int{{1, 1, 1}, {1, 1, 0}}},
		{Left, 0, [][]int{{2, 4, 3}, {0, 2, 3}}, [][]int{{1, 1, 1}, {0, 1, 1}}},
		{Right, 4, [][]int{{2, 4, 3, 0}, {2, 3, 0, 0}}, [][]int{{1, 1, 1, 0}, {1, 1, 0, 0}}},
	}
	for _, tc := range tests {
		b, err := PadBatch(seqs, 0, tc.side, tc.length)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.EqualFunc(b.InputIDs, tc.ids, slices.Equal) || !slices.EqualFunc(b.AttentionMask, tc.mask, slices.Equal) {
			t.Errorf("%s/%d: got %v %v", tc.side, tc.length, b.InputIDs, b.AttentionMask)
		}
		for _, row := range b.TokenTypeIDs {
			if slices.ContainsFunc(row, func(x int) bool { return x != 0 }) || len(row) != b.Length {
				t.Errorf("token type ids %v", row)
			}
		}
	}
	if _, err := PadBatch(seqs, -1, Right, 0); err == nil {
		t.Error("pad id -1 accepted")
	}
	if _, err := PadBatch(seqs, 0, "up", 0); err == nil {
		t.Error("side up accepted")
	}
	if b, err := PadBatch(nil, 0, Right, 0); err != nil || len(b.InputIDs) != 0 {
		t.Errorf("empty batch: %v %v", b, err)
	}
}

func TestCloseIsIdempotent(t *testing.T) {
	for _, impl := range testImpls() {
		tk, err := impl.load(writeTinyDir(t, nil), nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := tk.Close(); err != nil {
			t.Fatal(err)
		}
		if err := tk.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := tk.Encode("hello", 0); impl.name == "rust" && !errors.Is(err, ErrClosed) {
			t.Errorf("rust: Encode after Close: %v, want ErrClosed", err)
		}
	}
}
