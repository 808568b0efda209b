package evaluation

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// UnknownIDPolicy says what to do with relevance judgements that name a query id absent from the
// queries or a corpus id absent from the corpus.
type UnknownIDPolicy int

const (
	// UnknownIDsError (the default) fails, reporting how many ids are unknown and a few examples.
	UnknownIDsError UnknownIDPolicy = iota
	// UnknownIDsSkip drops those judgements (and counts them in DataCheck); a query left without
	// relevant documents is then not evaluated.
	UnknownIDsSkip
	// UnknownIDsKeep is sentence-transformers' behaviour: judgements of unknown queries are ignored
	// and unknown corpus ids stay relevant (they count in |rel| but can never be retrieved).
	UnknownIDsKeep
)

// unknownIDPolicyNames are the policies' names, by value.
var unknownIDPolicyNames = [...]string{UnknownIDsError: "error", UnknownIDsSkip: "skip", UnknownIDsKeep: "keep"}

// String returns "error", "skip" or "keep".
func (p UnknownIDPolicy) String() string {
	if p >= 0 && int(p) < len(unknownIDPolicyNames) {
		return unknownIDPolicyNames[p]
	}
	return fmt.Sprintf("UnknownIDPolicy(%d)", int(p))
}

// ParseUnknownIDPolicy parses "error", "skip" or "keep".
func ParseUnknownIDPolicy(s string) (UnknownIDPolicy, error) {
	if i := slices.Index(unknownIDPolicyNames[:], s); i >= 0 {
		return UnknownIDPolicy(i), nil
	}
	return 0, fmt.Errorf("unknown-ids policy %q: expected error, skip or keep", s)
}

// DataCheck reports what was found in the relevance judgements.
type DataCheck struct {
	// UnknownQueryJudgements counts (query, document) judgements whose query id is not a query.
	UnknownQueryJudgements int `json:"unknown_query_judgements"`
	// UnknownCorpusJudgements counts judgements of a known query whose document id is not in the corpus.
	UnknownCorpusJudgements int `json:"unknown_corpus_judgements"`
	// QueriesWithoutRelevant counts queries with no relevant document; they are not evaluated.
	QueriesWithoutRelevant int `json:"queries_without_relevant"`
	// Policy is the UnknownIDPolicy that was applied.
	Policy string `json:"unknown_ids_policy"`
}

// irData is the validated, deterministically ordered evaluation set.
type irData struct {
	queryIDs  []string          // sorted; only queries with at least one relevant document
	relevant  []map[string]bool // aligned with queryIDs; only true entries
	corpusIDs []string          // sorted
	check     DataCheck
}

// prepareIRData validates the ids and relevance judgements and orders everything by id.
// A judgement relevantDocs[q][d] counts as relevant when its value is true.
func prepareIRData(queryIDs, corpusIDs []string, relevantDocs map[string]map[string]bool, policy UnknownIDPolicy) (*irData, error) {
	if policy < UnknownIDsError || policy > UnknownIDsKeep {
		return nil, fmt.Errorf("invalid UnknownIDPolicy %d", int(policy))
	}
	if len(corpusIDs) == 0 {
		return nil, errors.New("the corpus is empty")
	}
	if len(queryIDs) == 0 {
		return nil, errors.New("there are no queries")
	}
	queries := make(map[string]bool, len(queryIDs))
	for _, q := range queryIDs {
		queries[q] = true
	}
	corpus := make(map[string]bool, len(corpusIDs))
	for _, c := range corpusIDs {
		corpus[c] = true
	}
	d := &irData{check: DataCheck{Policy: policy.String()}}
	var unknownQ, unknownC []string
	for q, docs := range relevantDocs {
		for doc, ok := range docs {
			if !ok {
				continue
			}
			switch {
			case !queries[q]:
				d.check.UnknownQueryJudgements++
				unknownQ = append(unknownQ, q)
			case !corpus[doc]:
				d.check.UnknownCorpusJudgements++
				unknownC = append(unknownC, doc)
			}
		}
	}
	if policy == UnknownIDsError && (len(unknownQ) > 0 || len(unknownC) > 0) {
		var parts []string
		if len(unknownQ) > 0 {
			parts = append(parts, fmt.Sprintf("%d judgement(s) name a query id that is not among the %d queries (e.g. %s)",
				len(unknownQ), len(queryIDs), examples(unknownQ)))
		}
		if len(unknownC) > 0 {
			parts = append(parts, fmt.Sprintf("%d judgement(s) name a corpus id that is not among the %d corpus entries (e.g. %s)",
				len(unknownC), len(corpusIDs), examples(unknownC)))
		}
		return nil, fmt.Errorf("relevant docs: %s; to skip or keep them (keep is sentence-transformers' behaviour), set IROptions.UnknownIDs (embedtune evaluate --unknown-ids skip|keep)",
			strings.Join(parts, "; "))
	}
	d.corpusIDs = append([]string(nil), corpusIDs...)
	slices.Sort(d.corpusIDs)
	sorted := append([]string(nil), queryIDs...)
	slices.Sort(sorted)
	for _, q := range sorted {
		rel := map[string]bool{}
		for doc, ok := range relevantDocs[q] {
			if ok && (corpus[doc] || policy == UnknownIDsKeep) {
				rel[doc] = true
			}
		}
		if len(rel) == 0 {
			d.check.QueriesWithoutRelevant++
			continue
		}
		d.queryIDs = append(d.queryIDs, q)
		d.relevant = append(d.relevant, rel)
	}
	if len(d.queryIDs) == 0 {
		return nil, fmt.Errorf("none of the %d queries has a relevant document in the relevant docs (%d judged queries)",
			len(queryIDs), len(relevantDocs))
	}
	return d, nil
}

// examples returns up to three distinct sorted ids, quoted.
func examples(ids []string) string {
	uniq := map[string]bool{}
	for _, id := range ids {
		uniq[id] = true
	}
	list := make([]string, 0, len(uniq))
	for id := range uniq {
		list = append(list, id)
	}
	slices.Sort(list)
	if len(list) > 3 {
		list = list[:3]
	}
	for i, id := range list {
		list[i] = fmt.Sprintf("%q", id)
	}
	return strings.Join(list, ", ")
}

// errorPrefix is "what" or "what NAME" for error messages.
func errorPrefix(what, name string) string {
	if name == "" {
		return what
	}
	return fmt.Sprintf("%s %q", what, name)
}
