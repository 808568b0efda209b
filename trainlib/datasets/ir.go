package datasets

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// IRData is a retrieval evaluation set in the shape sentence-transformers'
// InformationRetrievalEvaluator takes: queries and corpus documents by id, and for each query the
// set of relevant document ids. Ids are strings; the *IDs slices give a deterministic order.
type IRData struct {
	QueryIDs []string
	Queries  map[string]string
	// CorpusIDs and Corpus: the text to embed for each document (for BEIR, MTEB's title + " " + text).
	CorpusIDs []string
	Corpus    map[string]string
	// Titles and Texts keep BEIR documents' two fields apart (nil for sets built from pairs).
	Titles map[string]string
	Texts  map[string]string
	// RelevantDocs maps a query id to its relevant document ids (BEIR: qrels with score > 0).
	RelevantDocs map[string]map[string]bool
	// Qrels are BEIR's graded judgments, query id -> document id -> score (nil for pairs).
	Qrels map[string]map[string]int
}

// PairsOptions configures IRFromPairs.
type PairsOptions struct {
	// QueryColumn and ContextColumn name the columns (defaults "question" and "context").
	QueryColumn   string
	ContextColumn string
	// NormalizeSpace also merges texts that differ only in whitespace (runs of white space count as
	// one space; leading and trailing space is ignored). The first occurrence's text is kept.
	NormalizeSpace bool
}

// IRFromPairs builds an evaluation set from (question, context) rows, where each row says that its
// context answers its question:
//
//   - every distinct context is one corpus document, with id "d0", "d1", ... in order of first
//     appearance (duplicate contexts are merged);
//   - every distinct question is one query, "q0", "q1", ... in order of first appearance (a
//     question repeated with several contexts has them all as relevant documents);
//   - RelevantDocs[q] holds the documents of the rows of question q.
//
// A null or blank question or context is an error naming the row.
func IRFromPairs(d *Dataset, opts PairsOptions) (*IRData, error) {
	qc, cc := opts.QueryColumn, opts.ContextColumn
	if qc == "" {
		qc = "question"
	}
	if cc == "" {
		cc = "context"
	}
	qcol, err := d.Column(qc)
	if err != nil {
		return nil, err
	}
	ccol, err := d.Column(cc)
	if err != nil {
		return nil, err
	}
	for _, c := range []*Column{qcol, ccol} {
		if c.Type() != String {
			return nil, fmt.Errorf("datasets: column %q has type %s; queries and contexts must be strings", c.Name(), c.Type())
		}
	}
	key := func(s string) string {
		if opts.NormalizeSpace {
			return strings.Join(strings.Fields(s), " ")
		}
		return s
	}
	ir := &IRData{Queries: map[string]string{}, Corpus: map[string]string{}, RelevantDocs: map[string]map[string]bool{}}
	docs := idAssigner{prefix: "d", ids: &ir.CorpusIDs, texts: ir.Corpus, of: map[string]string{}, key: key}
	queries := idAssigner{prefix: "q", ids: &ir.QueryIDs, texts: ir.Queries, of: map[string]string{}, key: key}
	for i := 0; i < d.Len(); i++ {
		for _, c := range []*Column{qcol, ccol} {
			if c.IsNull(i) || strings.TrimSpace(c.Str(i)) == "" {
				return nil, fmt.Errorf("datasets: row %d: %s is empty", i, c.Name())
			}
		}
		did, _ := docs.id(ccol.Str(i))
		qid, isNew := queries.id(qcol.Str(i))
		if isNew {
			ir.RelevantDocs[qid] = map[string]bool{}
		}
		ir.RelevantDocs[qid][did] = true
	}
	return ir, nil
}

// Validate checks that every query has at least one relevant document and that relevant documents
// and queries exist.
func (ir *IRData) Validate() error {
	if len(ir.QueryIDs) != len(ir.Queries) || len(ir.CorpusIDs) != len(ir.Corpus) {
		return fmt.Errorf("datasets: IR data: id lists and maps disagree (%d/%d queries, %d/%d documents)",
			len(ir.QueryIDs), len(ir.Queries), len(ir.CorpusIDs), len(ir.Corpus))
	}
	for _, q := range ir.QueryIDs {
		rel := ir.RelevantDocs[q]
		if len(rel) == 0 {
			return fmt.Errorf("datasets: IR data: query %q has no relevant document", q)
		}
		for doc := range rel {
			if _, ok := ir.Corpus[doc]; !ok {
				return fmt.Errorf("datasets: IR data: query %q: relevant document %q is not in the corpus", q, doc)
			}
		}
	}
	return nil
}

// NumRelevant counts the (query, relevant document) pairs.
func (ir *IRData) NumRelevant() int {
	n := 0
	for _, r := range ir.RelevantDocs {
		n += len(r)
	}
	return n
}

// idAssigner numbers distinct texts in order of first appearance: prefix + "0", prefix + "1", ...; texts
// with the same key share an id, and the first one's text is kept.
type idAssigner struct {
	prefix string
	ids    *[]string
	texts  map[string]string // id → text
	of     map[string]string // key → id
	key    func(string) string
}

// id returns the id of text, and whether it is new.
func (a *idAssigner) id(text string) (string, bool) {
	k := a.key(text)
	if id, ok := a.of[k]; ok {
		return id, false
	}
	id := a.prefix + strconv.Itoa(len(*a.ids))
	a.of[k] = id
	*a.ids = append(*a.ids, id)
	a.texts[id] = text
	return id, true
}

// RelevantIDs returns the relevant document ids of a query, sorted.
func (ir *IRData) RelevantIDs(query string) []string {
	return slices.Sorted(maps.Keys(ir.RelevantDocs[query]))
}
