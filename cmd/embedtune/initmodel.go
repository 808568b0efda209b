package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/embedtune/embedtune/trainlib/model"
	"github.com/embedtune/embedtune/trainlib/tokenizer"
)

// runInitModel: embedtune init-model ... --tokenizer tokenizer.json --out DIR.
func runInitModel(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("init-model", "--tokenizer tokenizer.json --out DIR [flags]", stderr)
	hidden := fs.Int("hidden-size", 384, "hidden size")
	layers := fs.Int("num-layers", 6, "number of transformer layers")
	heads := fs.Int("num-heads", 12, "attention heads (must divide the hidden size)")
	inter := fs.Int("intermediate-size", 1536, "feed-forward size")
	maxPos := fs.Int("max-position-embeddings", 512, "maximum positions")
	maxSeq := fs.Int("max-seq-length", 0, "max_seq_length (default: max-position-embeddings)")
	pooling := fs.String("pooling", "mean", "pooling: cls, mean, max, mean_sqrt_len_tokens, weightedmean, lasttoken (comma-separated to concatenate)")
	normalize := fs.Bool("normalize", false, "add a Normalize module")
	tok := fs.String("tokenizer", "", "tokenizer.json (its folder's tokenizer_config.json, vocab.txt... are used too) or a tokenizer folder")
	lower := fs.Bool("do-lower-case", false, "lowercase texts before tokenizing (sentence_bert_config.json)")
	seed := fs.Uint64("seed", 42, "initialization seed")
	out := fs.String("out", "", "output folder (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *tok == "" || *out == "" {
		return errors.New("--tokenizer and --out are required")
	}
	tokDir := *tok
	if st, err := os.Stat(tokDir); err != nil {
		return fmt.Errorf("--tokenizer: %w", err)
	} else if !st.IsDir() {
		tokDir = filepath.Dir(tokDir)
	}
	if _, err := os.Stat(*out); err == nil {
		return fmt.Errorf("--out %s already exists; choose a new folder", *out)
	}
	m, err := model.New(model.InitConfig{HiddenSize: *hidden, NumLayers: *layers, NumHeads: *heads, IntermediateSize: *inter,
		MaxPositionEmbeddings: *maxPos, MaxSeqLength: *maxSeq, Pooling: strings.Split(*pooling, ","), Normalize: *normalize,
		TokenizerDir: tokDir, DoLowerCase: *lower, Seed: *seed}, model.WithLogger(stderr))
	if err != nil {
		return err
	}
	if err := m.Save(*out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s\n%s", *out, m)
	return nil
}

// runTrainTokenizer: embedtune train-tokenizer --input corpus.txt --vocab-size N --out DIR.
func runTrainTokenizer(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("train-tokenizer", "--input CORPUS --vocab-size N --out DIR", stderr)
	input := fs.String("input", "", "training texts: plain text one per line, or JSON Lines with a \"text\" field (\"-\" = stdin)")
	format := fs.String("format", "auto", "input format: auto, jsonl, text")
	field := fs.String("field", "text", "JSON Lines field holding the text")
	vocab := fs.Int("vocab-size", 8000, "maximum vocabulary size (special tokens included)")
	cased := fs.Bool("cased", false, "keep case and accents (default: lowercase like bert-base-uncased)")
	minFreq := fs.Int("min-frequency", 2, "minimum pair count for a merge")
	out := fs.String("out", "", "output folder for tokenizer.json, vocab.txt, tokenizer_config.json, special_tokens_map.json")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *input == "" || *out == "" {
		return errors.New("--input and --out are required")
	}
	texts, err := readTexts(*input, *format, *field)
	if err != nil {
		return err
	}
	if len(texts) == 0 {
		return fmt.Errorf("%s holds no text", *input)
	}
	v, err := tokenizer.TrainWordPiece(texts, *vocab, &tokenizer.TrainOptions{Cased: *cased, MinFrequency: *minFreq})
	if err != nil {
		return err
	}
	if err := v.Save(*out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (%d tokens)\n", *out, len(v.Tokens))
	return nil
}
