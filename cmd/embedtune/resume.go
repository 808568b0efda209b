package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"reflect"

	"github.com/embedtune/embedtune/internal/atomicio"
	"github.com/embedtune/embedtune/trainlib/model"
)

// encodeJob describes what an `embedtune encode --resume` run computes. It is stored next to the
// partial output (OUT.partial.json) and must match exactly for a later run to continue that output:
// a different model, prompt, option or input is refused rather than mixed in.
type encodeJob struct {
	Model        string `json:"model"`
	WeightsFrom  string `json:"weights_from"`
	MaxSeqLength int    `json:"max_seq_length"`
	Prompt       string `json:"prompt"`
	PromptName   string `json:"prompt_name"`
	Normalize    bool   `json:"normalize"`
	TruncateDim  int    `json:"truncate_dim"`
	IDField      string `json:"id_field"`
	Texts        int    `json:"texts"`
	// InputSHA256 is the SHA-256 of the texts and ids in order (not of the file: only what is encoded counts).
	InputSHA256 string `json:"input_sha256"`
}

// newEncodeJob describes encoding texts (with ids read from idField) with m and opts.
func newEncodeJob(m *model.SentenceTransformer, texts []string, ids []json.RawMessage, idField string, opts *model.EncodeOptions) encodeJob {
	d := newInputDigest()
	for i, t := range texts {
		var id json.RawMessage
		if ids != nil {
			id = ids[i]
		}
		d.add(t, id)
	}
	return jobFor(m, len(texts), d.sum(), idField, opts)
}

// jobFor describes encoding n texts whose inputDigest is digest.
func jobFor(m *model.SentenceTransformer, n int, digest, idField string, opts *model.EncodeOptions) encodeJob {
	return encodeJob{Model: m.Source, WeightsFrom: m.WeightsFrom, MaxSeqLength: m.MaxSeqLength, Prompt: opts.Prompt,
		PromptName: opts.PromptName, Normalize: opts.Normalize, TruncateDim: opts.TruncateDim, IDField: idField,
		Texts: n, InputSHA256: digest}
}

// inputDigest hashes texts and ids unambiguously (length-prefixed), in order.
type inputDigest struct{ h hash.Hash }

func newInputDigest() *inputDigest { return &inputDigest{sha256.New()} }

func (d *inputDigest) add(text string, id json.RawMessage) {
	fmt.Fprintf(d.h, "%d:%s", len(text), text)
	if id != nil {
		fmt.Fprintf(d.h, "%d:%s", len(id), id)
	}
}

func (d *inputDigest) sum() string { return hex.EncodeToString(d.h.Sum(nil)) }

// scanInput reads src once: it checks every record and returns their number and digest.
func scanInput(src *records) (int, string, error) {
	d, n := newInputDigest(), 0
	err := src.each(func(text string, id json.RawMessage) error {
		d.add(text, id)
		n++
		return nil
	})
	return n, d.sum(), err
}

// embeddingRecord is output line i of encode: {"id": ..., "embedding": [...]}, the id (as read)
// only with --id-field.
func embeddingRecord(id json.RawMessage, emb []float32) any {
	if id == nil {
		return map[string]any{"embedding": emb}
	}
	return struct {
		ID        json.RawMessage `json:"id"`
		Embedding []float32       `json:"embedding"`
	}{id, emb}
}

// encodeChunks encodes the records of src after the first skip, chunk texts at a time, and hands
// each chunk's output lines to write with the number of texts done. With keptIDs, the ids of the
// skipped records must be those (the ids of an earlier partial output). Memory holds one chunk.
func encodeChunks(m *model.SentenceTransformer, src *records, skip, total, chunk int, keptIDs []json.RawMessage,
	opts *model.EncodeOptions, write func(lines []byte, done int) error) error {
	var texts []string
	var ids []json.RawMessage
	i := 0
	flush := func() error {
		if len(texts) == 0 {
			return nil
		}
		emb, err := m.Encode(texts, opts)
		if err != nil {
			return &encodeError{done: i - len(texts), err: err}
		}
		var buf bytes.Buffer
		for k, e := range emb {
			var id json.RawMessage
			if ids != nil {
				id = ids[k]
			}
			b, err := json.Marshal(embeddingRecord(id, e))
			if err != nil {
				return err
			}
			buf.Write(b)
			buf.WriteByte('\n')
		}
		texts, ids = texts[:0], ids[:0]
		return write(buf.Bytes(), i)
	}
	err := src.each(func(text string, id json.RawMessage) error {
		k := i
		i++
		if k < skip {
			if keptIDs != nil && !bytes.Equal(keptIDs[k], id) {
				return fmt.Errorf("line %d has id %s, the input's text %d has id %s", k+1, keptIDs[k], k+1, id)
			}
			return nil
		}
		if k >= total {
			return fmt.Errorf("the input changed while it was being encoded (more than the %d texts counted)", total)
		}
		texts = append(texts, text)
		if id != nil {
			ids = append(ids, id)
		}
		if len(texts) == chunk {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err == nil && i != total {
		err = fmt.Errorf("the input changed while it was being encoded (%d texts, %d counted before)", i, total)
	}
	return err
}

// encodeError is a failure to encode the texts after the first done.
type encodeError struct {
	done int
	err  error
}

func (e *encodeError) Error() string { return e.err.Error() }
func (e *encodeError) Unwrap() error { return e.err }

// encodeResumable encodes src chunk by chunk, appending each chunk's lines to out+".partial"
// and syncing it, so that a run that is interrupted (Ctrl-C, SIGTERM, a crash, a lost machine)
// continues where it stopped when started again with the same job. A line cut short by a crash is
// dropped and re-encoded; complete lines are checked (valid JSON, the id at that position). When every
// text is encoded the file is renamed to out and the job description to out+".job.json", which
// records how out was made and lets a later run of the same job finish at once.
func encodeResumable(m *model.SentenceTransformer, src *records, job encodeJob,
	opts *model.EncodeOptions, out string, chunk int, progress io.Writer) error {
	if chunk <= 0 {
		return fmt.Errorf("--chunk-size must be positive, got %d", chunk)
	}
	partial, jobFile, doneFile := out+".partial", out+".partial.json", out+".job.json"
	if _, err := os.Stat(partial); errors.Is(err, os.ErrNotExist) && alreadyDone(out, doneFile, job) {
		fmt.Fprintf(progress, "encode: %s already holds the %d embeddings of this job (%s); nothing to do\n", out, job.Texts, doneFile)
		return nil
	}
	done, keptIDs, err := resumePoint(partial, jobFile, job)
	if err != nil {
		return err
	}
	if done == 0 {
		b, _ := json.MarshalIndent(job, "", "  ")
		if err := atomicio.WriteFile(jobFile, append(b, '\n'), 0o644); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(progress, "encode: resuming %s at text %d of %d\n", partial, done, job.Texts)
	}
	f, err := os.OpenFile(partial, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	err = encodeChunks(m, src, done, job.Texts, chunk, keptIDs, opts, func(lines []byte, n int) error {
		if _, err := f.Write(lines); err != nil {
			return fmt.Errorf("writing %s: %w", partial, err)
		}
		if err := f.Sync(); err != nil {
			return fmt.Errorf("syncing %s: %w", partial, err)
		}
		fmt.Fprintf(progress, "encode: %d/%d texts\n", n, job.Texts)
		return nil
	})
	if ee, ok := errors.AsType[*encodeError](err); ok {
		if errors.Is(err, context.Canceled) {
			return fmt.Errorf("interrupted after %d of %d texts, which are kept in %s: run the same command again to continue", ee.done, job.Texts, partial)
		}
		return fmt.Errorf("encoding texts %d–%d (done so far are kept in %s; re-run with --resume): %w", ee.done, min(ee.done+chunk, job.Texts)-1, partial, err)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", partial, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", partial, err)
	}
	if err := os.Rename(partial, out); err != nil {
		return err
	}
	if err := os.Rename(jobFile, doneFile); err != nil {
		return err
	}
	if d, err := os.Open(filepath.Dir(out)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// resumePoint returns how many texts partial already holds (and their ids, with an id field), after
// checking that jobFile describes the same job and truncating a trailing incomplete line. No partial
// file: 0. The file is read as a stream.
func resumePoint(partial, jobFile string, job encodeJob) (int, []json.RawMessage, error) {
	f, err := os.Open(partial)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil, nil
	}
	if err != nil {
		return 0, nil, err
	}
	defer f.Close()
	jb, err := os.ReadFile(jobFile)
	if err != nil {
		return 0, nil, fmt.Errorf("%s exists but its job description %s cannot be read (%v): delete the partial file to start over", partial, jobFile, err)
	}
	if err := sameJob(jb, job); err != nil {
		return 0, nil, fmt.Errorf("%s was written by %w: delete it and %s, or run with the same model, options and input", partial, err, jobFile)
	}
	n, valid, size, ids, err := checkLines(f, job)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %w: delete it to start over", partial, err)
	}
	if valid < size {
		if err := os.Truncate(partial, valid); err != nil {
			return 0, nil, fmt.Errorf("dropping the incomplete last line of %s: %w", partial, err)
		}
	}
	return n, ids, nil
}

// alreadyDone reports whether out holds the complete result of job: its job record (jobFile) is the
// same job and it has one valid line per text. Anything else means "encode again".
func alreadyDone(out, jobFile string, job encodeJob) bool {
	jb, err := os.ReadFile(jobFile)
	if err != nil || sameJob(jb, job) != nil {
		return false
	}
	f, err := os.Open(out)
	if err != nil {
		return false
	}
	defer f.Close()
	n, valid, size, _, err := checkLines(f, job)
	return err == nil && n == job.Texts && valid == size
}

// sameJob checks that the JSON job description jb is job.
func sameJob(jb []byte, job encodeJob) error {
	var prev encodeJob
	if err := json.Unmarshal(jb, &prev); err != nil {
		return fmt.Errorf("an unreadable job description (invalid JSON: %v)", err)
	}
	if !reflect.DeepEqual(prev, job) {
		return fmt.Errorf("a different job (%s)", jobDifference(prev, job))
	}
	return nil
}

// checkLines reads embedding lines from r and returns how many are complete (a last line without its
// newline is not counted), their byte length, the total length and, when the job has an id field,
// their ids. A line that is not an embedding or more lines than texts is an error ("line N ...").
func checkLines(r io.Reader, job encodeJob) (n int, valid, size int64, ids []json.RawMessage, err error) {
	br := bufio.NewReaderSize(r, 1<<20)
	for {
		line, rerr := br.ReadBytes('\n')
		size += int64(len(line))
		if rerr != nil && rerr != io.EOF {
			return 0, 0, 0, nil, rerr
		}
		if rerr == io.EOF {
			return n, valid, size, ids, nil // a last line without "\n" was cut short by a crash
		}
		var rec struct {
			ID        json.RawMessage `json:"id"`
			Embedding []float32       `json:"embedding"`
		}
		if err := json.Unmarshal(line, &rec); err != nil || len(rec.Embedding) == 0 {
			return 0, 0, 0, nil, fmt.Errorf("line %d is not an embedding line", n+1)
		}
		if n >= job.Texts {
			return 0, 0, 0, nil, fmt.Errorf("has more lines than the %d input texts", job.Texts)
		}
		if job.IDField != "" {
			ids = append(ids, rec.ID)
		}
		n++
		valid += int64(len(line))
	}
}

// jobDifference names the first field in which two jobs differ.
func jobDifference(a, b encodeJob) string {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	for i := 0; i < va.NumField(); i++ {
		if !reflect.DeepEqual(va.Field(i).Interface(), vb.Field(i).Interface()) {
			tag := va.Type().Field(i).Tag.Get("json")
			return fmt.Sprintf("%s was %v, now %v", tag, va.Field(i).Interface(), vb.Field(i).Interface())
		}
	}
	return "no difference"
}
