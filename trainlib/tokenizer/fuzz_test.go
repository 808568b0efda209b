package tokenizer

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// smallTokenizerJSON is a hand-written BERT tokenizer.json with a six-entry vocabulary: a seed small
// enough for the fuzzer to mutate every part of.
const smallTokenizerJSON = `{"version":"1.0","truncation":null,"padding":null,
"added_tokens":[{"id":0,"content":"[PAD]","special":true},{"id":1,"content":"[UNK]","special":true},
{"id":2,"content":"[CLS]","special":true},{"id":3,"content":"[SEP]","special":true}],
"normalizer":{"type":"BertNormalizer","clean_text":true,"handle_chinese_chars":true,"strip_accents":null,"lowercase":true},
"pre_tokenizer":{"type":"BertPreTokenizer"},
"post_processor":{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"[CLS]","type_id":0}},{"Sequence":{"id":"A","type_id":0}},{"SpecialToken":{"id":"[SEP]","type_id":0}}]},
"decoder":{"type":"WordPiece","prefix":"##","cleanup":true},
"model":{"type":"WordPiece","unk_token":"[UNK]","continuing_subword_prefix":"##","max_input_chars_per_word":100,
"vocab":{"[PAD]":0,"[UNK]":1,"[CLS]":2,"[SEP]":3,"ab":4,"##c":5}}}`

// checkEncodings is the property every loaded tokenizer must have: ids of any text are ids of the
// vocabulary, maxLen truncation holds, and EncodeBatch agrees with Encode.
func checkEncodings(t *testing.T, tok Tokenizer, text string) {
	t.Helper()
	for _, maxLen := range []int{0, 3, 8} {
		ids, err := tok.Encode(text, maxLen)
		if err != nil {
			if maxLen > 0 && maxLen < len(tok.Special().Prefix)+len(tok.Special().Suffix) && strings.Contains(err.Error(), "special tokens") {
				continue
			}
			t.Fatalf("Encode(%q, %d): %v", text, maxLen, err)
		}
		if maxLen > 0 && len(ids) > maxLen {
			t.Fatalf("Encode(%q, %d) gave %d ids", text, maxLen, len(ids))
		}
		for _, id := range ids {
			if id < 0 || id >= tok.VocabSize() {
				t.Fatalf("Encode(%q) gave id %d outside [0, %d)", text, id, tok.VocabSize())
			}
			if _, ok := tok.Token(id); !ok {
				t.Fatalf("Encode(%q) gave id %d, which has no token", text, id)
			}
		}
		batch, err := tok.EncodeBatch([]string{text, text}, maxLen)
		if err != nil || len(batch) != 2 || !slices.Equal(batch[0], ids) || !slices.Equal(batch[1], ids) {
			t.Fatalf("EncodeBatch disagrees with Encode on %q: %v, %v", text, batch, err)
		}
	}
}

// FuzzTokenizerJSON loads arbitrary tokenizer.json documents and encodes arbitrary text with those it
// accepts; rejected documents get an error naming the file.
func FuzzTokenizerJSON(f *testing.F) {
	f.Add([]byte(smallTokenizerJSON), "abc ab, AB c\u00e9\u4e2d")
	if b, err := os.ReadFile("testdata/trained/tokenizer.json"); err == nil {
		f.Add(b, "The capital of Kalomi")
	}
	f.Add([]byte(`{"model":{"type":"WordPiece","unk_token":"u","vocab":{"u":0}}}`), "x")
	f.Add([]byte(`{"model":null}`), "")
	f.Fuzz(func(t *testing.T, data []byte, text string) {
		tok, err := FromTokenizerJSONGo("fuzz/tokenizer.json", data, nil)
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz/tokenizer.json") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		defer tok.Close()
		checkEncodings(t, tok, text)
	})
}

// FuzzTokenizerFolder loads model folders whose tokenizer_config.json, special_tokens_map.json,
// vocab.txt and config.json are arbitrary (an empty input leaves the file out), with or without the
// small tokenizer.json. Errors must name the folder or the file.
func FuzzTokenizerFolder(f *testing.F) {
	read := func(p string) []byte { b, _ := os.ReadFile(p); return b }
	trainedCfg := read("testdata/trained/tokenizer_config.json")
	trainedMap := read("testdata/trained/special_tokens_map.json")
	f.Add(trainedCfg, trainedMap, []byte("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nab\n##c\n"), []byte(`{"model_type":"bert"}`), false, "abc Ab")
	f.Add(read("testdata/hf/minilm/tokenizer_config.json"), read("testdata/hf/minilm/special_tokens_map.json"), []byte{}, []byte{}, true, "ab c")
	f.Add([]byte(`{"tokenizer_class":"PreTrainedTokenizerFast","truncation_side":"left","model_max_length":1e30}`), []byte{}, []byte{}, []byte{}, true, "ab ab ab ab ab ab ab")
	f.Add([]byte(`{"added_tokens_decoder":{"6":{"content":"<x>","special":true}},"unk_token":{"content":"[UNK]"}}`), []byte{}, []byte("[UNK]\n"), []byte(`{"model_type":"bert"}`), false, "<x>")
	f.Fuzz(func(t *testing.T, cfg, stm, vocab, modelCfg []byte, withJSON bool, text string) {
		dir := t.TempDir()
		for name, data := range map[string][]byte{TokenizerConfigFile: cfg, SpecialTokensMapFile: stm, VocabFile: vocab, modelConfigFile: modelCfg} {
			if len(data) > 0 {
				if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
		if withJSON {
			if err := os.WriteFile(filepath.Join(dir, TokenizerJSONFile), []byte(smallTokenizerJSON), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		tok, err := LoadGo(dir, nil)
		if err != nil {
			if !strings.Contains(err.Error(), dir) {
				t.Fatalf("error names neither the folder nor its file: %v", err)
			}
			return
		}
		defer tok.Close()
		checkEncodings(t, tok, text)
	})
}
