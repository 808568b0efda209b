package datasets

import (
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Qrels are relevance judgements in BEIR's qrels format: for each judged query, its judged documents and
// their integer scores. A document with a score > 0 is relevant (the rule of BEIR and MTEB); one with a
// score ≤ 0 was judged not relevant.
type Qrels struct {
	// Scores maps a query id to the scores of its judged documents, by document id.
	Scores map[string]map[string]int
	// QueryIDs lists the judged queries in order of first appearance.
	QueryIDs []string
}

// ReadQrels reads a BEIR qrels file (qrels/{split}.tsv): the header "query-id<TAB>corpus-id<TAB>score", then
// one judgement per line — query id, document id, integer score — read as BEIR's GenericDataLoader reads it
// (Python's csv module with tab delimiters, so a field may be quoted). A UTF-8 byte order mark and blank lines
// are ignored.
//
// Duplicates: a (query, document) pair judged again with the same score is one judgement, as in BEIR's and
// MTEB's loaders (dicts) and sentence-transformers' NanoBEIR loader (sets). Judged again with another score,
// it is an error naming both lines: BEIR and MTEB would silently keep the last line's score, and which
// judgement is meant cannot be told. The other errors name the file and the line too: no header, a line
// without exactly three fields, an empty id, a score that is not an integer, no judgement at all.
func ReadQrels(path string) (*Qrels, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("datasets: qrels: %w", err)
	}
	defer f.Close()
	return readQrels(f, path)
}

// readQrels is ReadQrels on the content of r; path names it in errors.
func readQrels(in io.Reader, path string) (*Qrels, error) {
	r := csv.NewReader(in)
	r.Comma = '\t'
	r.LazyQuotes = true
	r.FieldsPerRecord = -1
	q := &Qrels{Scores: map[string]map[string]int{}}
	firstLine := map[[2]string]int{}
	header := false
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("datasets: %w", csvError(path, err))
		}
		line, _ := r.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if !header {
			rec[0] = strings.TrimPrefix(rec[0], "\ufeff")
			if len(rec) != 3 || rec[0] != "query-id" || rec[1] != "corpus-id" || rec[2] != "score" {
				return nil, fmt.Errorf("datasets: %s: line %d: want the header query-id<TAB>corpus-id<TAB>score, got %q",
					path, line, strings.Join(rec, "\t"))
			}
			header = true
			continue
		}
		if len(rec) != 3 {
			return nil, fmt.Errorf("datasets: %s: line %d: %d tab-separated fields, want query-id, corpus-id and score", path, line, len(rec))
		}
		qid, doc := rec[0], rec[1]
		if qid == "" || doc == "" {
			return nil, fmt.Errorf("datasets: %s: line %d: empty query-id or corpus-id", path, line)
		}
		score, err := strconv.Atoi(strings.TrimSpace(rec[2]))
		if err != nil {
			return nil, fmt.Errorf("datasets: %s: line %d: score %q is not an integer", path, line, rec[2])
		}
		judged := q.Scores[qid]
		if judged == nil {
			judged = map[string]int{}
			q.Scores[qid] = judged
			q.QueryIDs = append(q.QueryIDs, qid)
		}
		pair := [2]string{qid, doc}
		if prev, ok := judged[doc]; ok {
			if prev != score {
				return nil, fmt.Errorf("datasets: %s: line %d: query %q and document %q are already judged at line %d, with score %d instead of %d; keep one of the two lines",
					path, line, qid, doc, firstLine[pair], prev, score)
			}
			continue
		}
		judged[doc] = score
		firstLine[pair] = line
	}
	switch {
	case !header:
		return nil, fmt.Errorf("datasets: %s: empty qrels file (want the header query-id<TAB>corpus-id<TAB>score, then judgements)", path)
	case len(q.QueryIDs) == 0:
		return nil, fmt.Errorf("datasets: %s: no judgements after the header", path)
	}
	return q, nil
}

// Relevance returns every judged pair, query id → document id → whether the document is relevant (score > 0).
func (q *Qrels) Relevance() map[string]map[string]bool {
	out := make(map[string]map[string]bool, len(q.Scores))
	for qid, docs := range q.Scores {
		rel := make(map[string]bool, len(docs))
		for doc, score := range docs {
			rel[doc] = score > 0
		}
		out[qid] = rel
	}
	return out
}
