package main

import (
	"errors"
	"io"

	"github.com/embedtune/embedtune/trainlib/model"
)

// runEncode: embedtune encode --model M --input IN --output OUT.
func runEncode(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("encode", "--model M --input IN --output OUT [flags]", stderr)
	modelPath := fs.String("model", "", "model folder or Hugging Face Hub id (required)")
	input := fs.String("input", "", "texts: JSON Lines with a \"text\" field, or plain text one per line (\"-\" = stdin)")
	output := fs.String("output", "-", "JSON Lines {\"embedding\": [...]} in input order (\"-\" = stdout)")
	format := fs.String("format", "auto", "input format: auto, jsonl, text")
	field := fs.String("field", "text", "JSON Lines field holding the text")
	batch := fs.Int("batch-size", 32, "texts per forward pass")
	prompt := fs.String("prompt", "", "prompt prepended to every text")
	promptName := fs.String("prompt-name", "", "name of a prompt of the model (config_sentence_transformers.json)")
	normalize := fs.Bool("normalize", false, "L2-normalize the embeddings")
	truncate := fs.Int("truncate-dim", 0, "keep only the first N dimensions")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *modelPath == "" || *input == "" {
		return errors.New("--model and --input are required")
	}
	texts, err := readTexts(*input, *format, *field)
	if err != nil {
		return err
	}
	m, err := model.Load(*modelPath)
	if err != nil {
		return err
	}
	emb, err := m.Encode(texts, &model.EncodeOptions{BatchSize: *batch, Prompt: *prompt, PromptName: *promptName,
		Normalize: *normalize, TruncateDim: *truncate})
	if err != nil {
		return err
	}
	return writeJSONLines(*output, stdout, len(emb), func(i int) any { return map[string]any{"embedding": emb[i]} })
}

// runTokenize: embedtune tokenize --model M --input IN --output OUT.
func runTokenize(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("tokenize", "--model M --input IN --output OUT [flags]", stderr)
	modelPath := fs.String("model", "", "model folder or Hugging Face Hub id (required)")
	input := fs.String("input", "", "texts: JSON Lines with a \"text\" field, or plain text one per line (\"-\" = stdin)")
	output := fs.String("output", "-", "JSON Lines {\"ids\": [...]} in input order (\"-\" = stdout)")
	format := fs.String("format", "auto", "input format: auto, jsonl, text")
	field := fs.String("field", "text", "JSON Lines field holding the text")
	prompt := fs.String("prompt", "", "prompt prepended to every text")
	maxLen := fs.Int("max-length", 0, "truncation length (default: the model's max_seq_length)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *modelPath == "" || *input == "" {
		return errors.New("--model and --input are required")
	}
	texts, err := readTexts(*input, *format, *field)
	if err != nil {
		return err
	}
	m, err := model.Load(*modelPath)
	if err != nil {
		return err
	}
	limit := m.MaxSeqLength
	if *maxLen > 0 {
		limit = *maxLen
	}
	ids := make([][]int, len(texts))
	for i, t := range texts {
		if ids[i], err = m.Tokenizer.Encode(*prompt+t, limit); err != nil {
			return err
		}
	}
	return writeJSONLines(*output, stdout, len(ids), func(i int) any { return map[string]any{"ids": ids[i]} })
}
