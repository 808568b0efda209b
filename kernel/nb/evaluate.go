package nb

import (
	"context"
	"fmt"
	htmlpkg "html"
	"strings"

	"github.com/embedtune/embedtune/charts"
	"github.com/embedtune/embedtune/kernel/display"
	"github.com/embedtune/embedtune/trainlib/cache"
	"github.com/embedtune/embedtune/trainlib/evaluation"
)

// Metrics are an evaluator's results — what evaluator(model) returns in Python — with the key of the
// primary metric.
type Metrics struct {
	Values  map[string]float64 `json:"values"`
	Primary string             `json:"primary"`
	// Evaluator is the evaluator's name; Queries and Corpus its sizes.
	Evaluator       string `json:"evaluator"`
	Queries, Corpus int    `json:"-"`
	// Title says what was evaluated.
	Title string `json:"-"`
}

// Evaluate is evaluator(model), remembered: the result is kept in embedtune's cache under the
// evaluator's Fingerprint (queries, corpus, judgements, options) and the model's, so re-running the cell
// returns it at once; otherwise the model's embeddings come from the embedding cache when an earlier
// cell computed them.
func Evaluate(ev *evaluation.InformationRetrievalEvaluator, m *Model) (Metrics, error) {
	store, err := cache.Default()
	if err != nil {
		return Metrics{}, err
	}
	k := cache.NewKey("eval", []byte(ev.Fingerprint()), []byte(m.Fingerprint()))
	out, err := cache.Memo(store, k, func() (Metrics, error) {
		v, err := ev.Evaluate(context.Background(), m)
		return Metrics{Values: v, Primary: ev.PrimaryMetric(), Evaluator: ev.Name()}, err
	})
	out.Queries, out.Corpus = ev.NumQueries(), ev.NumCorpus()
	out.Title = fmt.Sprintf("%s: %d queries, %d passages", m.Name, out.Queries, out.Corpus)
	return out, err
}

// headlineNames are the metrics charts and summaries show by default.
var headlineNames = []string{"accuracy@1", "recall@10", "mrr@10", "ndcg@10", "map@100"}

// Headline picks metrics by their short names (default accuracy@1, recall@10, mrr@10, ndcg@10,
// map@100) among those of the primary metric's score function ("<name>_<fn>_...").
func (m Metrics) Headline(names ...string) map[string]float64 {
	if len(names) == 0 {
		names = headlineNames
	}
	prefix := strings.TrimSuffix(m.Primary, "ndcg@10")
	out := map[string]float64{}
	for _, n := range names {
		if v, ok := m.Values[prefix+n]; ok {
			out[n] = v
		}
	}
	return out
}

// HTML shows every metric and the primary one.
func (m Metrics) HTML() string {
	html := display.MetricsTable(m.Title, m.Values).HTML()
	if v, ok := m.Values[m.Primary]; ok {
		html += fmt.Sprintf(`<p style="font:13px sans-serif">Primary metric <code>%s</code> = <b>%.4f</b></p>`, htmlpkg.EscapeString(m.Primary), v)
	}
	return html
}

// Comparison is one evaluator's results on a base and a fine-tuned model.
type Comparison struct {
	Before, After Metrics
}

// Compare evaluates both models (Evaluate: remembered).
func Compare(ev *evaluation.InformationRetrievalEvaluator, base, tuned *Model) (*Comparison, error) {
	before, err := Evaluate(ev, base)
	if err != nil {
		return nil, err
	}
	after, err := Evaluate(ev, tuned)
	if err != nil {
		return nil, err
	}
	return &Comparison{Before: before, After: after}, nil
}

// HTML shows every metric before and after, and the change.
func (c *Comparison) HTML() string {
	t, err := display.CompareMetrics(c.Before.Values, c.After.Values, "base", "fine-tuned")
	if err != nil {
		return display.NewSummary("Comparison").Add("Error", err.Error()).HTML()
	}
	t.Title = fmt.Sprintf("%s: %d questions searched among %d passages", c.Before.Evaluator, c.Before.Queries, c.Before.Corpus)
	return t.HTML()
}

// BeforeAfterChart draws the headline metrics (Metrics.Headline) of one or more comparisons as
// base-vs-fine-tuned bars, labelled "<evaluator>: <metric>" when there are several.
func BeforeAfterChart(cs ...*Comparison) (*charts.Chart, error) {
	before, after := map[string]float64{}, map[string]float64{}
	for _, c := range cs {
		prefix := ""
		if len(cs) > 1 {
			prefix = c.Before.Evaluator + ": "
		}
		for k, v := range c.Before.Headline() {
			before[prefix+k] = v
		}
		for k, v := range c.After.Headline() {
			after[prefix+k] = v
		}
	}
	return charts.BeforeAfter(before, after, charts.WithLabels("base", "fine-tuned"),
		charts.WithTitle("Held-out retrieval before and after fine-tuning"))
}
