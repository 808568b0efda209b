package charts

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"unicode"
)

// LogHistory is a trainer's log history in the Hugging Face layout (`trainer.state.log_history`): one map
// per logging event, in the order they happened. Every entry has "step" (the optimizer step it was logged
// at) and usually "epoch", plus some of:
//
//   - "loss": the training loss averaged over the logging window,
//   - "learning_rate", "grad_norm",
//   - "eval_loss" and evaluator metrics "eval_<name>" (e.g. "eval_cosine_ndcg@10") at evaluation steps,
//   - at the very end "train_runtime", "train_loss", "train_samples_per_second", ...
type LogHistory = []map[string]float64

// Point is one sample of a logged quantity: its value at an optimizer step. A non-finite Value (NaN, ±Inf)
// is drawn as a gap in the line.
type Point struct {
	Step  int
	Value float64
}

// Series returns the values of key in h, one point per entry that has key, in log order. It fails when
// such an entry has no "step", or a step that is negative or not a whole number, naming the entry.
func Series(h LogHistory, key string) ([]Point, error) {
	var pts []Point
	for i, e := range h {
		v, ok := e[key]
		if !ok {
			continue
		}
		step, err := entryStep(e)
		if err != nil {
			return nil, fmt.Errorf("charts: log history entry %d (with %q): %w", i, key, err)
		}
		pts = append(pts, Point{Step: step, Value: v})
	}
	return pts, nil
}

// entryStep reads the "step" of one log entry.
func entryStep(e map[string]float64) (int, error) {
	s, ok := e["step"]
	if !ok {
		return 0, fmt.Errorf(`no "step" key`)
	}
	if math.IsNaN(s) || math.IsInf(s, 0) || s < 0 || s != math.Trunc(s) || s > math.MaxInt32 {
		return 0, fmt.Errorf(`"step" is %v, expected a whole number >= 0`, s)
	}
	return int(s), nil
}

// nonMetricEvalKeys are the "eval_*" keys that transformers logs next to the metrics but that are timings
// or the loss, not evaluator metrics.
var nonMetricEvalKeys = map[string]bool{
	"eval_loss":                 true,
	"eval_runtime":              true,
	"eval_samples_per_second":   true,
	"eval_steps_per_second":     true,
	"eval_jit_compilation_time": true,
}

// MetricKeys returns the evaluator metric keys found in h ("eval_" keys other than eval_loss and the
// eval_runtime / throughput timings) in natural order: digit runs compare as numbers, so
// "eval_cosine_ndcg@5" comes before "eval_cosine_ndcg@10".
func MetricKeys(h LogHistory) []string {
	seen := map[string]bool{}
	for _, e := range h {
		for k := range e {
			if strings.HasPrefix(k, "eval_") && !nonMetricEvalKeys[k] {
				seen[k] = true
			}
		}
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return naturalLess(keys[i], keys[j]) })
	return keys
}

// naturalLess orders strings with their digit runs compared as numbers ("a@5" < "a@10").
func naturalLess(a, b string) bool {
	for a != "" && b != "" {
		da, db := digitPrefix(a), digitPrefix(b)
		if da != "" && db != "" {
			na, nb := strings.TrimLeft(da, "0"), strings.TrimLeft(db, "0")
			if len(na) != len(nb) {
				return len(na) < len(nb)
			}
			if na != nb {
				return na < nb
			}
			a, b = a[len(da):], b[len(db):]
			continue
		}
		if a[0] != b[0] {
			return a[0] < b[0]
		}
		a, b = a[1:], b[1:]
	}
	return len(a) < len(b)
}

// digitPrefix returns the leading ASCII digits of s.
func digitPrefix(s string) string {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return s[:i]
}

// MetricLabel turns a metric key into the column / legend label of transformers' notebook progress table
// (NotebookProgressCallback.on_evaluate): the prefix up to the first "_" ("eval") is dropped and every other
// "_"-separated word is capitalised as Python's str.capitalize does (first letter upper case, the rest
// lower case): "eval_cosine_ndcg@10" → "Cosine Ndcg@10", "eval_loss" → "Loss".
func MetricLabel(key string) string {
	parts := strings.Split(key, "_")
	if len(parts) > 1 {
		parts = parts[1:]
	}
	for i, p := range parts {
		r := []rune(strings.ToLower(p))
		if len(r) > 0 {
			r[0] = unicode.ToUpper(r[0])
		}
		parts[i] = string(r)
	}
	return strings.Join(parts, " ")
}
