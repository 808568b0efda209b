package datasets

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/embedtune/embedtune/trainlib/evaluation"
)

// DefaultNanoBEIRDatasetID is the Hub dataset sentence-transformers' NanoBEIREvaluator reads: one
// repository with the subsets corpus, queries and qrels, each split by dataset ("NanoSciFact", …).
const DefaultNanoBEIRDatasetID = "sentence-transformers/NanoBEIR-en"

// LoadNanoBEIR loads NanoBEIR datasets by short name ("scifact", "nfcorpus", …; see
// evaluation.NanoBEIRDatasets) as sentence-transformers' NanoBEIREvaluator does: from the Hub dataset
// datasetID ("" = DefaultNanoBEIRDatasetID; a local folder laid out like it works too), subsets
// corpus (_id, text), queries (_id, text) and qrels (query-id, corpus-id), split Nano{Name}. Documents
// and queries with an empty text are left out, and every qrels row is a relevant document. Each set is
// named Nano{Name} (NanoSciFact), which prefixes its metric keys. opts are passed to Load (revision,
// Hub client; with HF_HUB_OFFLINE=1 only the Hugging Face cache is read).
func LoadNanoBEIR(ctx context.Context, names []string, datasetID string, opts ...Option) ([]evaluation.IRSet, error) {
	if datasetID == "" {
		datasetID = DefaultNanoBEIRDatasetID
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("datasets: NanoBEIR: no dataset names")
	}
	var out []evaluation.IRSet
	for _, short := range names {
		split, err := evaluation.NanoBEIRName(short)
		if err != nil {
			return nil, fmt.Errorf("datasets: NanoBEIR: %w", err)
		}
		load := func(subset string, required ...string) (*Dataset, error) {
			d, err := LoadContext(ctx, datasetID, append(slices.Clone(opts), WithConfig(subset), WithSplit(split))...)
			if err != nil {
				return nil, fmt.Errorf("datasets: NanoBEIR: could not load subset %q split %q from %s: %w", subset, split, datasetID, err)
			}
			for _, c := range required {
				if _, err := d.Column(c); err != nil {
					return nil, fmt.Errorf("datasets: NanoBEIR: subset %q split %q of %s: %w", subset, split, datasetID, err)
				}
			}
			return d, nil
		}
		corpus, err := load("corpus", "_id", "text")
		if err != nil {
			return nil, err
		}
		queries, err := load("queries", "_id", "text")
		if err != nil {
			return nil, err
		}
		qrels, err := load("qrels", "query-id", "corpus-id")
		if err != nil {
			return nil, err
		}
		set := evaluation.IRSet{Name: split, Queries: map[string]string{}, Corpus: map[string]string{},
			RelevantDocs: map[string]map[string]bool{}}
		if err := idTexts(corpus, set.Corpus); err != nil {
			return nil, fmt.Errorf("datasets: NanoBEIR %s corpus: %w", split, err)
		}
		if err := idTexts(queries, set.Queries); err != nil {
			return nil, fmt.Errorf("datasets: NanoBEIR %s queries: %w", split, err)
		}
		qid, _ := qrels.Column("query-id")
		cid, _ := qrels.Column("corpus-id")
		for i := 0; i < qrels.Len(); i++ {
			q := cellString(qid, i)
			if set.RelevantDocs[q] == nil {
				set.RelevantDocs[q] = map[string]bool{}
			}
			if cid.Type() == StringList {
				for _, c := range cid.List(i) {
					set.RelevantDocs[q][c] = true
				}
			} else {
				set.RelevantDocs[q][cellString(cid, i)] = true
			}
		}
		out = append(out, set)
	}
	return out, nil
}

// idTexts fills id → text from the _id and text columns, skipping empty texts.
func idTexts(d *Dataset, into map[string]string) error {
	ids, _ := d.Column("_id")
	texts, _ := d.Column("text")
	if texts.Type() != String && texts.Type() != Null {
		return fmt.Errorf("column \"text\" has type %s, want string", texts.Type())
	}
	for i := 0; i < d.Len(); i++ {
		if texts.IsNull(i) || texts.Str(i) == "" {
			continue
		}
		into[cellString(ids, i)] = texts.Str(i)
	}
	return nil
}

// cellString reads an id cell: a string or an integer.
func cellString(c *Column, i int) string {
	switch c.Type() {
	case Int:
		return strconv.FormatInt(c.Int(i), 10)
	case Float:
		return strconv.FormatFloat(c.Float(i), 'g', -1, 64)
	}
	return c.Str(i)
}

// Set returns ir as a named retrieval set for evaluation.NewNanoBEIREvaluator (or any evaluation over
// several sets): its queries that have a relevant document, its corpus and relevant documents.
func (ir *IRData) Set(name string) evaluation.IRSet {
	return evaluation.IRSet{Name: name, Queries: ir.Queries, Corpus: ir.Corpus, RelevantDocs: ir.RelevantDocs}
}

// Subset returns a smaller evaluation set in the spirit of NanoBEIR: the first numQueries queries
// (in QueryIDs order) that have a relevant document, all their relevant documents, and numOthers other
// documents spread evenly over the corpus (in CorpusIDs order). It is deterministic; numQueries ≤ 0
// keeps every query, numOthers < 0 every other document.
func (ir *IRData) Subset(numQueries, numOthers int) *IRData {
	out := &IRData{Queries: map[string]string{}, Corpus: map[string]string{}, RelevantDocs: map[string]map[string]bool{}}
	if ir.Titles != nil {
		out.Titles, out.Texts = map[string]string{}, map[string]string{}
	}
	if ir.Qrels != nil {
		out.Qrels = map[string]map[string]int{}
	}
	for _, q := range ir.QueryIDs {
		if len(ir.RelevantDocs[q]) == 0 {
			continue
		}
		if numQueries > 0 && len(out.QueryIDs) == numQueries {
			break
		}
		out.QueryIDs = append(out.QueryIDs, q)
		out.Queries[q] = ir.Queries[q]
		out.RelevantDocs[q] = ir.RelevantDocs[q]
		if ir.Qrels != nil {
			out.Qrels[q] = ir.Qrels[q]
		}
	}
	keep := map[string]bool{}
	for _, q := range out.QueryIDs {
		for d := range ir.RelevantDocs[q] {
			keep[d] = true
		}
	}
	var others []string
	for _, d := range ir.CorpusIDs {
		if !keep[d] {
			others = append(others, d)
		}
	}
	if numOthers >= 0 && numOthers < len(others) {
		picked := make([]string, numOthers)
		for i := range picked {
			picked[i] = others[i*len(others)/numOthers]
		}
		others = picked
	}
	for _, d := range others {
		keep[d] = true
	}
	for _, d := range ir.CorpusIDs {
		if keep[d] {
			out.CorpusIDs = append(out.CorpusIDs, d)
			out.Corpus[d] = ir.Corpus[d]
			if ir.Titles != nil {
				if t, ok := ir.Titles[d]; ok {
					out.Titles[d] = t
				}
				out.Texts[d] = ir.Texts[d]
			}
		}
	}
	return out
}
