package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
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
	return encodeJob{Model: m.Source, WeightsFrom: m.WeightsFrom, MaxSeqLength: m.MaxSeqLength, Prompt: opts.Prompt,
		PromptName: opts.PromptName, Normalize: opts.Normalize, TruncateDim: opts.TruncateDim, IDField: idField,
		Texts: len(texts), InputSHA256: inputDigest(texts, ids)}
}

// inputDigest hashes texts and ids unambiguously (length-prefixed).
func inputDigest(texts []string, ids []json.RawMessage) string {
	h := sha256.New()
	for i, t := range texts {
		fmt.Fprintf(h, "%d:%s", len(t), t)
		if ids != nil {
			fmt.Fprintf(h, "%d:%s", len(ids[i]), ids[i])
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// embeddingRecord is output line i of encode: {"id": ..., "embedding": [...]}, the id (as read)
// only with --id-field.
func embeddingRecord(ids []json.RawMessage, i int, emb []float32) any {
	if ids == nil {
		return map[string]any{"embedding": emb}
	}
	return struct {
		ID        json.RawMessage `json:"id"`
		Embedding []float32       `json:"embedding"`
	}{ids[i], emb}
}

// embeddingLine is embeddingRecord as a JSON line.
func embeddingLine(ids []json.RawMessage, i int, emb []float32) ([]byte, error) {
	b, err := json.Marshal(embeddingRecord(ids, i, emb))
	return append(b, '\n'), err
}

// encodeResumable encodes texts chunk by chunk, appending each chunk's lines to out+".partial"
// and syncing it, so that a run that is interrupted (Ctrl-C, a crash, a lost machine) continues
// where it stopped when started again with the same job. A line cut short by a crash is dropped and
// re-encoded; complete lines are checked (valid JSON, the id at that position). When every text is
// encoded the file is renamed to out and the job description to out+".job.json", which records how
// out was made and lets a later run of the same job finish at once.
func encodeResumable(m *model.SentenceTransformer, texts []string, ids []json.RawMessage, job encodeJob,
	opts *model.EncodeOptions, out string, chunk int, progress io.Writer) error {
	if chunk <= 0 {
		return fmt.Errorf("--chunk-size must be positive, got %d", chunk)
	}
	partial, jobFile, doneFile := out+".partial", out+".partial.json", out+".job.json"
	if _, err := os.Stat(partial); errors.Is(err, os.ErrNotExist) && alreadyDone(out, doneFile, job, ids) {
		fmt.Fprintf(progress, "encode: %s already holds the %d embeddings of this job (%s); nothing to do\n", out, len(texts), doneFile)
		return nil
	}
	done, err := resumePoint(partial, jobFile, job, ids)
	if err != nil {
		return err
	}
	if done == 0 {
		b, _ := json.MarshalIndent(job, "", "  ")
		if err := atomicio.WriteFile(jobFile, append(b, '\n'), 0o644); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(progress, "encode: resuming %s at text %d of %d\n", partial, done, len(texts))
	}
	f, err := os.OpenFile(partial, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	for start := done; start < len(texts); start += chunk {
		end := min(start+chunk, len(texts))
		emb, err := m.Encode(texts[start:end], opts)
		if err != nil {
			return fmt.Errorf("encoding texts %d–%d (done so far are kept in %s; re-run with --resume): %w", start, end-1, partial, err)
		}
		var buf bytes.Buffer
		for i, e := range emb {
			line, err := embeddingLine(ids, start+i, e)
			if err != nil {
				return err
			}
			buf.Write(line)
		}
		if _, err := f.Write(buf.Bytes()); err != nil {
			return fmt.Errorf("writing %s: %w", partial, err)
		}
		if err := f.Sync(); err != nil {
			return fmt.Errorf("syncing %s: %w", partial, err)
		}
		fmt.Fprintf(progress, "encode: %d/%d texts\n", end, len(texts))
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

// resumePoint returns how many texts partial already holds, after checking that jobFile describes
// the same job and truncating a trailing incomplete line. No partial file: 0.
func resumePoint(partial, jobFile string, job encodeJob, ids []json.RawMessage) (int, error) {
	data, err := os.ReadFile(partial)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	jb, err := os.ReadFile(jobFile)
	if err != nil {
		return 0, fmt.Errorf("%s exists but its job description %s cannot be read (%v): delete the partial file to start over", partial, jobFile, err)
	}
	if err := sameJob(jb, job); err != nil {
		return 0, fmt.Errorf("%s was written by %w: delete it and %s, or run with the same model, options and input", partial, err, jobFile)
	}
	n, valid, err := checkLines(data, job, ids)
	if err != nil {
		return 0, fmt.Errorf("%s %w: delete it to start over", partial, err)
	}
	if valid < len(data) {
		if err := os.Truncate(partial, int64(valid)); err != nil {
			return 0, fmt.Errorf("dropping the incomplete last line of %s: %w", partial, err)
		}
	}
	return n, nil
}

// alreadyDone reports whether out holds the complete result of job: its job record (jobFile) is the
// same job and it has one valid line per text. Anything else means "encode again".
func alreadyDone(out, jobFile string, job encodeJob, ids []json.RawMessage) bool {
	jb, err := os.ReadFile(jobFile)
	if err != nil || sameJob(jb, job) != nil {
		return false
	}
	data, err := os.ReadFile(out)
	if err != nil {
		return false
	}
	n, valid, err := checkLines(data, job, ids)
	return err == nil && n == job.Texts && valid == len(data)
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

// checkLines counts the complete embedding lines of data (a last line without its newline is not
// counted) and returns their byte length; a line that is not an embedding, an id differing from the
// input's at that position, or more lines than texts is an error ("line N ...").
func checkLines(data []byte, job encodeJob, ids []json.RawMessage) (n, valid int, err error) {
	for valid < len(data) {
		nl := bytes.IndexByte(data[valid:], '\n')
		if nl < 0 {
			break // cut short by a crash
		}
		var rec struct {
			ID        json.RawMessage `json:"id"`
			Embedding []float32       `json:"embedding"`
		}
		if err := json.Unmarshal(data[valid:valid+nl], &rec); err != nil || len(rec.Embedding) == 0 {
			return 0, 0, fmt.Errorf("line %d is not an embedding line", n+1)
		}
		if n >= job.Texts {
			return 0, 0, fmt.Errorf("has more lines than the %d input texts", job.Texts)
		}
		if ids != nil && !bytes.Equal(rec.ID, ids[n]) {
			return 0, 0, fmt.Errorf("line %d has id %s, the input's text %d has id %s", n+1, rec.ID, n+1, ids[n])
		}
		n++
		valid += nl + 1
	}
	return n, valid, nil
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
