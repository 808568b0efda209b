package datasets

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// LoadBEIR reads a retrieval benchmark in BEIR format from dir:
//
//	corpus.jsonl       {"_id": ..., "title": ..., "text": ...} per line
//	queries.jsonl      {"_id": ..., "text": ...} per line
//	qrels/{split}.tsv  header "query-id<TAB>corpus-id<TAB>score", then one judgment per line
//
// As BEIR's GenericDataLoader, only the queries judged in the split are kept (in the order of
// queries.jsonl), and a document's text to embed is, as MTEB builds it, strip(title + " " + text)
// (just strip(text) without a title field); Titles and Texts keep both fields. The qrels file is read by
// ReadQrels; RelevantDocs holds the judgments with score > 0.
func LoadBEIR(dir, split string) (*IRData, error) {
	qrelsPath := filepath.Join(dir, "qrels", split+".tsv")
	if _, err := os.Stat(qrelsPath); err != nil {
		avail := beirSplits(dir)
		return nil, fmt.Errorf("datasets: BEIR %s: no split %q (no %s); the splits are %s", dir, split, qrelsPath, quoteList(avail))
	}
	qrels, err := ReadQrels(qrelsPath)
	if err != nil {
		return nil, err
	}
	ir := &IRData{Queries: map[string]string{}, Corpus: map[string]string{}, Titles: map[string]string{},
		Texts: map[string]string{}, RelevantDocs: map[string]map[string]bool{}, Qrels: qrels.Scores}

	corpus, err := readBEIRFile(filepath.Join(dir, "corpus.jsonl"), "text")
	if err != nil {
		return nil, err
	}
	ids, _ := corpus.Column("_id")
	texts, _ := corpus.Column("text")
	titles, titleErr := corpus.Column("title")
	hasTitles := titleErr == nil && titles.Type() == String
	for i := 0; i < corpus.Len(); i++ {
		id := idString(ids, i)
		if _, dup := ir.Corpus[id]; dup {
			return nil, fmt.Errorf("datasets: %s: line %d: duplicate _id %q", filepath.Join(dir, "corpus.jsonl"), i+1, id)
		}
		text := texts.Str(i)
		ir.CorpusIDs = append(ir.CorpusIDs, id)
		ir.Texts[id] = text
		if hasTitles && !titles.IsNull(i) {
			title := titles.Str(i)
			ir.Titles[id] = title
			ir.Corpus[id] = strings.TrimSpace(title + " " + text)
		} else {
			ir.Corpus[id] = strings.TrimSpace(text)
		}
	}

	queries, err := readBEIRFile(filepath.Join(dir, "queries.jsonl"), "text")
	if err != nil {
		return nil, err
	}
	qids, _ := queries.Column("_id")
	qtexts, _ := queries.Column("text")
	known := map[string]bool{}
	for i := 0; i < queries.Len(); i++ {
		id := idString(qids, i)
		known[id] = true
		if _, judged := qrels.Scores[id]; !judged {
			continue
		}
		if _, dup := ir.Queries[id]; dup {
			return nil, fmt.Errorf("datasets: %s: line %d: duplicate _id %q", filepath.Join(dir, "queries.jsonl"), i+1, id)
		}
		ir.QueryIDs = append(ir.QueryIDs, id)
		ir.Queries[id] = qtexts.Str(i)
	}
	relevance := qrels.Relevance()
	for _, q := range qrels.QueryIDs {
		if !known[q] {
			return nil, fmt.Errorf("datasets: %s: query %q is not in queries.jsonl", qrelsPath, q)
		}
		rel := map[string]bool{}
		for doc, relevant := range relevance[q] {
			if _, ok := ir.Corpus[doc]; !ok {
				return nil, fmt.Errorf("datasets: %s: query %q judges document %q, which is not in corpus.jsonl", qrelsPath, q, doc)
			}
			if relevant {
				rel[doc] = true
			}
		}
		if len(rel) > 0 {
			ir.RelevantDocs[q] = rel
		}
	}
	return ir, nil
}

// beirSplits lists the qrels/*.tsv split names.
func beirSplits(dir string) []string {
	entries, err := os.ReadDir(filepath.Join(dir, "qrels"))
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".tsv"); ok && !e.IsDir() {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// readBEIRFile reads a corpus or queries file; _id and the text column are required, _id may be a
// string or an integer.
func readBEIRFile(path, textCol string) (*Dataset, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("datasets: BEIR: %s is missing", path)
		}
		return nil, fmt.Errorf("datasets: %w", err)
	}
	defer f.Close()
	d, _, err := readJSONLines(f, path, nil)
	if err != nil {
		return nil, fmt.Errorf("datasets: %w", err)
	}
	for _, c := range []string{"_id", textCol} {
		col, err := d.Column(c)
		if err != nil {
			return nil, fmt.Errorf("datasets: %s: %w", path, err)
		}
		if col.NullCount() > 0 {
			return nil, fmt.Errorf("datasets: %s: %d lines have no %q", path, col.NullCount(), c)
		}
	}
	if c, _ := d.Column("_id"); c.Type() != String && c.Type() != Int {
		return nil, fmt.Errorf("datasets: %s: _id has type %s, want string or integer", path, c.Type())
	}
	if c, _ := d.Column(textCol); c.Type() != String {
		return nil, fmt.Errorf("datasets: %s: %q has type %s, want string", path, textCol, c.Type())
	}
	if c, err := d.Column("title"); err == nil && c.Type() != String && c.Type() != Null {
		return nil, fmt.Errorf("datasets: %s: \"title\" has type %s, want string", path, c.Type())
	}
	return d, nil
}

func idString(c *Column, i int) string {
	if c.Type() == Int {
		return strconv.FormatInt(c.Int(i), 10)
	}
	return c.Str(i)
}
