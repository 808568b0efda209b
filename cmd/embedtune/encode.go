package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/embedtune/embedtune/internal/atomicio"
	"github.com/embedtune/embedtune/trainlib"
	"github.com/embedtune/embedtune/trainlib/memplan"

	"github.com/embedtune/embedtune/trainlib/model"
)

// textInput holds the flags shared by encode and tokenize: the model, the texts and their format,
// the output file and a prompt.
type textInput struct {
	model, input, output, format, field, prompt *string
}

// addTextInputFlags registers textInput's flags on fs; outputHelp describes the output file.
func addTextInputFlags(fs *flag.FlagSet, outputHelp string) textInput {
	return textInput{
		model:  fs.String("model", "", "model folder or Hugging Face Hub id (required)"),
		input:  fs.String("input", "", "texts: JSON Lines with a \"text\" field, or plain text one per line (\"-\" = stdin)"),
		output: fs.String("output", "-", outputHelp+" in input order (\"-\" = stdout)"),
		format: fs.String("format", "auto", "input format: auto, jsonl, text"),
		field:  fs.String("field", "text", "JSON Lines field holding the text; several, comma-separated (\"title,text\"), are joined with a space"),
		prompt: fs.String("prompt", "", "prompt prepended to every text"),
	}
}

// load checks the required flags, reads the texts (and their ids, with idField) and loads the model.
func (in textInput) load(idField string) ([]string, []json.RawMessage, *model.SentenceTransformer, error) {
	if *in.model == "" || *in.input == "" {
		return nil, nil, nil, errors.New("--model and --input are required")
	}
	texts, ids, err := readRecords(*in.input, *in.format, *in.field, idField)
	if err != nil {
		return nil, nil, nil, err
	}
	m, err := model.Load(*in.model)
	if err != nil {
		return nil, nil, nil, err
	}
	return texts, ids, m, nil
}

// runEncode: embedtune encode --model M --input IN --output OUT.
//
// The input is read as a stream twice (checked and counted, then encoded --chunk-size texts at a
// time) and the output written as it is produced, so memory holds the model and one chunk whatever
// the size of the corpus. Ctrl-C or SIGTERM stops after the batch in progress: with --resume the
// texts done so far are kept for the next run; without it the output file is not created.
func runEncode(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("encode", "--model M --input IN --output OUT [flags]", stderr)
	in := addTextInputFlags(fs, "JSON Lines {\"embedding\": [...]} (with --id-field {\"id\": ..., \"embedding\": [...]})")
	idField := fs.String("id-field", "", "JSON Lines field holding an id (string or integer) to copy into each output line as \"id\"")
	resume := fs.Bool("resume", false, "write progress to OUT.partial every --chunk-size texts; a re-run with the same flags continues it")
	chunk := fs.Int("chunk-size", 1024, "texts encoded (and, with --resume, saved) at a time; memory holds one chunk")
	batch := fs.Int("batch-size", 32, "texts per forward pass")
	promptName := fs.String("prompt-name", "", "name of a prompt of the model (config_sentence_transformers.json)")
	normalize := fs.Bool("normalize", false, "L2-normalize the embeddings")
	truncate := fs.Int("truncate-dim", 0, "keep only the first N dimensions")
	skipMemory := fs.Bool("skip-memory-check", false, "start even when the estimated peak memory exceeds what is available")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *resume && *in.output == "-" {
		return errors.New("--resume needs --output FILE (progress is kept in FILE.partial)")
	}
	if *chunk <= 0 {
		return fmt.Errorf("--chunk-size must be positive, got %d", *chunk)
	}
	if *in.model == "" || *in.input == "" {
		return errors.New("--model and --input are required")
	}
	src, err := openRecords(*in.input, *in.format, *in.field, *idField)
	if err != nil {
		return err
	}
	n, digest, err := scanInput(src)
	if err != nil {
		return err
	}
	m, err := model.Load(*in.model)
	if err != nil {
		return err
	}
	if err := checkEncodeMemory(m, *batch, *chunk, *skipMemory, stderr); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	opts := &model.EncodeOptions{Context: ctx, BatchSize: *batch, Prompt: *in.prompt, PromptName: *promptName,
		Normalize: *normalize, TruncateDim: *truncate}
	if *resume {
		return encodeResumable(m, src, jobFor(m, n, digest, *idField, opts), opts, *in.output, *chunk, stderr)
	}
	write := func(w io.Writer) error {
		return encodeChunks(m, src, 0, n, *chunk, nil, opts, func(lines []byte, _ int) error {
			_, err := w.Write(lines)
			return err
		})
	}
	if *in.output == "-" {
		err = write(stdout)
	} else {
		err = atomicio.WriteStream(*in.output, 0o644, write)
	}
	if errors.Is(err, context.Canceled) {
		return errors.New("interrupted: nothing was written (with --resume, the texts done are kept for the next run)")
	}
	return err
}

// runTokenize: embedtune tokenize --model M --input IN --output OUT.
func runTokenize(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("tokenize", "--model M --input IN --output OUT [flags]", stderr)
	in := addTextInputFlags(fs, "JSON Lines {\"ids\": [...]}")
	maxLen := fs.Int("max-length", 0, "truncation length (default: the model's max_seq_length)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	texts, _, m, err := in.load("")
	if err != nil {
		return err
	}
	limit := m.MaxSeqLength
	if *maxLen > 0 {
		limit = *maxLen
	}
	ids, _, err := m.Tokenize(texts, *in.prompt, limit)
	if err != nil {
		return err
	}
	return writeJSONLines(*in.output, stdout, len(ids), func(i int) any { return map[string]any{"ids": ids[i]} })
}

// checkEncodeMemory refuses an encoding whose estimated peak memory (the model, one batch of the
// longest texts, one chunk of texts and embeddings) exceeds what is available, saying which
// --batch-size fits; --skip-memory-check or EMBEDTUNE_SKIP_MEMORY_CHECK=1 only print the estimate.
func checkEncodeMemory(m *model.SentenceTransformer, batch, chunk int, skip bool, log io.Writer) error {
	avail, err := memplan.Available()
	if err != nil {
		return nil
	}
	shape, engine := memplan.ShapeOf(m, false), memplan.EngineOf(m.Backend())
	held := int64(chunk) * int64(4096+16*m.Dim())
	estimate := func(b int) memplan.Estimate {
		return memplan.Inference(shape, memplan.Batch{Rows: model.BatchBucket(b, b), SeqLens: []int{m.MaxSeqLength}}, engine, held)
	}
	est := estimate(batch)
	if skip || os.Getenv(trainlib.SkipMemoryCheckEnv) == "1" {
		fmt.Fprintf(log, "encode: memory check skipped: the estimated peak is %s, with %s available\n", est, avail)
		return nil
	}
	if est.Total <= avail.Budget() {
		return nil
	}
	fix := "a machine or container with more memory"
	if b := memplan.Largest(batch-1, func(n int) bool { return estimate(n).Total <= avail.Budget() }); b > 0 {
		fix = fmt.Sprintf("--batch-size %d (or a smaller --chunk-size)", b)
	}
	return fmt.Errorf("not enough memory: encoding batches of %d texts of up to %d tokens on %s needs about %s, but %s is available; use %s, or start anyway with --skip-memory-check (%s=1)",
		batch, m.MaxSeqLength, engine, est, avail, fix, trainlib.SkipMemoryCheckEnv)
}
