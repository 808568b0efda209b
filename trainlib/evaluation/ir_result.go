package evaluation

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/embedtune/embedtune/internal/atomicio"
)

// RankedDoc is one retrieved corpus entry of a query's ranking.
type RankedDoc struct {
	CorpusID string  `json:"corpus_id"`
	Score    float32 `json:"score"`
}

// IRResult is the outcome of one information-retrieval evaluation.
type IRResult struct {
	// Name is the evaluator's name ("" when unnamed).
	Name string
	// QueryIDs are the evaluated queries (those with a relevant document), sorted.
	QueryIDs []string
	// NumCorpus is the number of corpus entries searched.
	NumCorpus int
	// ScoreFunctions are the score functions evaluated, sorted by name.
	ScoreFunctions []ScoreFunction
	// Scores holds the metrics of each score function.
	Scores map[ScoreFunction]*IRScores
	// Rankings holds, per score function and per query (QueryIDs order), the top MaxK corpus entries,
	// best first (score descending, then corpus id ascending).
	Rankings map[ScoreFunction][][]RankedDoc
	// Metrics maps sentence-transformers' keys ("{name}_{fn}_{metric}@{k}", or "{fn}_{metric}@{k}"
	// when unnamed) to values.
	Metrics map[string]float64
	// PrimaryMetric is the key of the summary metric: "{name}_{fn}_ndcg@{max ndcg k}", with fn the
	// main score function, or else the one with the highest NDCG (the first by name on ties).
	PrimaryMetric string
	// Check reports what was found in the relevance judgements.
	Check DataCheck

	kv KValues
}

// metricPrefix is "{name}_" or "".
func metricPrefix(name string) string {
	if name == "" {
		return ""
	}
	return name + "_"
}

// newIRResult computes the metrics of every score function from the hits of the search.
func newIRResult(name string, d *irData, numCorpus int, fns []ScoreFunction, hits map[ScoreFunction][][]Hit,
	corpusIDs []string, kv KValues, main ScoreFunction) (*IRResult, error) {
	r := &IRResult{
		Name: name, QueryIDs: d.queryIDs, NumCorpus: numCorpus, ScoreFunctions: fns,
		Scores: map[ScoreFunction]*IRScores{}, Rankings: map[ScoreFunction][][]RankedDoc{},
		Metrics: map[string]float64{}, Check: d.check, kv: kv,
	}
	for _, fn := range fns {
		ranked := make([][]RankedDoc, len(hits[fn]))
		ids := make([][]string, len(hits[fn]))
		for qi, qh := range hits[fn] {
			ranked[qi] = make([]RankedDoc, len(qh))
			ids[qi] = make([]string, len(qh))
			for j, h := range qh {
				ranked[qi][j] = RankedDoc{CorpusID: corpusIDs[h.Index], Score: h.Score}
				ids[qi][j] = corpusIDs[h.Index]
			}
		}
		scores, err := ComputeIRMetrics(ids, d.relevant, kv)
		if err != nil {
			return nil, err
		}
		r.Scores[fn] = scores
		r.Rankings[fn] = ranked
		for _, e := range scores.metricEntries(kv) {
			r.Metrics[fmt.Sprintf("%s%s_%s@%d", metricPrefix(name), fn, e.name, e.k)] = e.value
		}
	}
	r.PrimaryMetric = metricPrefix(name) + primaryMetric(fns, r.Scores, kv, main)
	return r, nil
}

// primaryMetric is sentence-transformers' rule: "{fn}_ndcg@{max ndcg k}" for the main score
// function, or else for the score function with the highest NDCG at that k (first by name on ties).
func primaryMetric(fns []ScoreFunction, scores map[ScoreFunction]*IRScores, kv KValues, main ScoreFunction) string {
	maxK := slices.Max(kv.NDCGAtK)
	fn := main
	if fn == "" {
		for i, f := range fns {
			if i == 0 || scores[f].NDCG[maxK] > scores[fn].NDCG[maxK] {
				fn = f
			}
		}
	}
	return fmt.Sprintf("%s_ndcg@%d", fn, maxK)
}

// Keys returns the metric keys in sentence-transformers' order: per score function (by name), the
// metrics accuracy, precision, recall, ndcg, mrr, map, each in its k-list order.
func (r *IRResult) Keys() []string {
	var keys []string
	for _, fn := range r.ScoreFunctions {
		for _, e := range r.Scores[fn].metricEntries(r.kv) {
			keys = append(keys, fmt.Sprintf("%s%s_%s@%d", metricPrefix(r.Name), fn, e.name, e.k))
		}
	}
	return keys
}

// orderedMetrics is a JSON object of the metrics in Keys() order.
type orderedMetrics struct {
	keys   []string
	values map[string]float64
}

// MarshalJSON writes the metrics in key order.
func (o orderedMetrics) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		vb, err := json.Marshal(o.values[k])
		if err != nil {
			return nil, fmt.Errorf("metric %s: %w", k, err)
		}
		b.Write(kb)
		b.WriteByte(':')
		b.Write(vb)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// irResultJSON is the JSON form of an IRResult.
type irResultJSON struct {
	Name          string         `json:"name"`
	Epoch         *float64       `json:"epoch,omitempty"`
	Steps         *int           `json:"steps,omitempty"`
	Queries       int            `json:"queries"`
	Corpus        int            `json:"corpus"`
	PrimaryMetric string         `json:"primary_metric"`
	Metrics       orderedMetrics `json:"metrics"`
	Check         DataCheck      `json:"data_check"`
}

func (r *IRResult) jsonValue(info *RunInfo) irResultJSON {
	v := irResultJSON{
		Name: r.Name, Queries: len(r.QueryIDs), Corpus: r.NumCorpus, PrimaryMetric: r.PrimaryMetric,
		Metrics: orderedMetrics{keys: r.Keys(), values: r.Metrics}, Check: r.Check,
	}
	if info != nil {
		v.Epoch, v.Steps = &info.Epoch, &info.Steps
	}
	return v
}

// MarshalJSON writes {"name", "queries", "corpus", "primary_metric", "metrics": {key: value, ...}
// in Keys() order, "data_check"}.
func (r *IRResult) MarshalJSON() ([]byte, error) {
	return json.Marshal(r.jsonValue(nil))
}

// CSVFileName is sentence-transformers' file name: "Information-Retrieval_evaluation[_{name}]_results.csv".
func (r *IRResult) CSVFileName() string {
	return "Information-Retrieval_evaluation" + underscoreName(r.Name) + "_results.csv"
}

// JSONFileName is "Information-Retrieval_evaluation[_{name}]_results.json".
func (r *IRResult) JSONFileName() string {
	return "Information-Retrieval_evaluation" + underscoreName(r.Name) + "_results.json"
}

func underscoreName(name string) string {
	if name == "" {
		return ""
	}
	return "_" + name
}

// csvHeader is sentence-transformers' header: epoch, steps, then per score function (by name)
// {fn}-Accuracy@k..., {fn}-Precision@k and {fn}-Recall@k per k, {fn}-MRR@k, {fn}-NDCG@k, {fn}-MAP@k.
func (r *IRResult) csvHeader() []string {
	h := []string{"epoch", "steps"}
	for _, fn := range r.ScoreFunctions {
		for _, k := range r.kv.AccuracyAtK {
			h = append(h, fmt.Sprintf("%s-Accuracy@%d", fn, k))
		}
		for _, k := range r.kv.PrecisionRecallAtK {
			h = append(h, fmt.Sprintf("%s-Precision@%d", fn, k), fmt.Sprintf("%s-Recall@%d", fn, k))
		}
		for _, k := range r.kv.MRRAtK {
			h = append(h, fmt.Sprintf("%s-MRR@%d", fn, k))
		}
		for _, k := range r.kv.NDCGAtK {
			h = append(h, fmt.Sprintf("%s-NDCG@%d", fn, k))
		}
		for _, k := range r.kv.MAPAtK {
			h = append(h, fmt.Sprintf("%s-MAP@%d", fn, k))
		}
	}
	return h
}

// csvRow is the row matching csvHeader, numbers formatted like Python's str().
func (r *IRResult) csvRow(epoch float64, steps int) []string {
	row := []string{pyEpoch(epoch), strconv.Itoa(steps)}
	for _, fn := range r.ScoreFunctions {
		s := r.Scores[fn]
		for _, k := range r.kv.AccuracyAtK {
			row = append(row, pyFloat(s.Accuracy[k]))
		}
		for _, k := range r.kv.PrecisionRecallAtK {
			row = append(row, pyFloat(s.Precision[k]), pyFloat(s.Recall[k]))
		}
		for _, k := range r.kv.MRRAtK {
			row = append(row, pyFloat(s.MRR[k]))
		}
		for _, k := range r.kv.NDCGAtK {
			row = append(row, pyFloat(s.NDCG[k]))
		}
		for _, k := range r.kv.MAPAtK {
			row = append(row, pyFloat(s.MAP[k]))
		}
	}
	return row
}

// WriteCSV appends one row (epoch, steps, metrics) to dir/CSVFileName(), writing the header first
// when the file is new, like sentence-transformers. The file is replaced atomically. An existing file
// with a different header (other k lists or score functions) is an error rather than mislabelled rows.
func (r *IRResult) WriteCSV(dir string, epoch float64, steps int) error {
	if err := appendCSVRow(dir, r.CSVFileName(), r.csvHeader(), r.csvRow(epoch, steps)); err != nil {
		return fmt.Errorf("evaluation CSV: %w", err)
	}
	return nil
}

// appendCSVRow appends row to dir/name, writing header first when the file is new; an existing file
// with another header is an error. The file is replaced atomically.
func appendCSVRow(dir, name string, header, row []string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	path := filepath.Join(dir, name)
	head := strings.Join(header, ",")
	var content []byte
	old, err := os.ReadFile(path)
	switch {
	case err == nil:
		first, _, _ := strings.Cut(string(old), "\n")
		if first != head {
			return fmt.Errorf("%s: its header %q differs from this evaluation's %q; use another output folder", path, first, head)
		}
		content = old
		if len(content) > 0 && content[len(content)-1] != '\n' {
			content = append(content, '\n')
		}
	case os.IsNotExist(err):
		content = []byte(head + "\n")
	default:
		return err
	}
	content = append(content, strings.Join(row, ",")+"\n"...)
	return atomicio.WriteFile(path, content, 0o644)
}

// WriteJSON writes the result (see MarshalJSON) with epoch and steps to dir/JSONFileName(),
// atomically, replacing the previous one.
func (r *IRResult) WriteJSON(dir string, epoch float64, steps int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("evaluation JSON: %w", err)
	}
	b, err := json.MarshalIndent(r.jsonValue(&RunInfo{Epoch: epoch, Steps: steps}), "", "  ")
	if err != nil {
		return fmt.Errorf("evaluation JSON: %w", err)
	}
	path := filepath.Join(dir, r.JSONFileName())
	if err := atomicio.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("evaluation JSON: %w", err)
	}
	return nil
}

// PredictionsFileName is sentence-transformers' predictions file of one score function:
// "Information-Retrieval_evaluation[_{name}]_predictions_{fn}.jsonl".
func (r *IRResult) PredictionsFileName(fn ScoreFunction) string {
	return "Information-Retrieval_evaluation" + underscoreName(r.Name) + "_predictions_" + string(fn) + ".jsonl"
}

// WritePredictions writes, per score function, one JSON line per query
// {"query_id", "query", "results": [{"corpus_id", "score"}, ...]} (best first) into dir, like
// sentence-transformers' write_predictions. queryTexts maps query ids to their text ("" if nil).
func (r *IRResult) WritePredictions(dir string, queryTexts map[string]string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("evaluation predictions: %w", err)
	}
	for _, fn := range r.ScoreFunctions {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		for qi, q := range r.QueryIDs {
			line := struct {
				QueryID string      `json:"query_id"`
				Query   string      `json:"query"`
				Results []RankedDoc `json:"results"`
			}{q, queryTexts[q], r.Rankings[fn][qi]}
			if err := enc.Encode(line); err != nil {
				return fmt.Errorf("evaluation predictions for query %q: %w", q, err)
			}
		}
		path := filepath.Join(dir, r.PredictionsFileName(fn))
		if err := atomicio.WriteFile(path, b.Bytes(), 0o644); err != nil {
			return fmt.Errorf("evaluation predictions: %w", err)
		}
	}
	return nil
}
