package datasets

import "fmt"

// SQuADPairs turns SQuAD rows (ReadSQuAD) into (question, context) pairs shaped like the tutorial's
// dipanjanS/india_rag_wikidata, where every passage answers several questions: it keeps the first
// perContext questions of the first contexts paragraphs (in file order) that have at least perContext
// questions, with all of SQuAD's columns. It fails when fewer such paragraphs exist.
func SQuADPairs(squad *Dataset, contexts, perContext int) (*Dataset, error) {
	if contexts <= 0 || perContext <= 0 {
		return nil, fmt.Errorf("datasets: SQuADPairs: contexts (%d) and perContext (%d) must be positive", contexts, perContext)
	}
	col, err := squad.Column("context")
	if err != nil {
		return nil, fmt.Errorf("datasets: SQuADPairs: %w", err)
	}
	count := map[string]int{}
	for i := 0; i < squad.Len(); i++ {
		count[col.Str(i)]++
	}
	taken := map[string]int{}
	distinct := 0
	out := squad.Filter(func(r Row) bool {
		c, _ := r["context"].(string)
		if count[c] < perContext || taken[c] >= perContext {
			return false
		}
		if taken[c] == 0 {
			if distinct == contexts {
				return false
			}
			distinct++
		}
		taken[c]++
		return true
	})
	if distinct < contexts {
		return nil, fmt.Errorf("datasets: SQuADPairs: only %d paragraphs have %d or more questions; asked for %d", distinct, perContext, contexts)
	}
	return out, nil
}
