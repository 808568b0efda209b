package display

import (
	"fmt"
	"maps"
	"math"
	"slices"
)

// MetricsTable lists metrics (e.g. an evaluator's results) as a two-column Metric | Value table, sorted by
// name, values with 4 decimals.
func MetricsTable(title string, m map[string]float64) *Table {
	t := NewTable(title, "Metric", "Value")
	for _, k := range slices.Sorted(maps.Keys(m)) {
		t.Rows = append(t.Rows, []string{k, formatMetric(m[k])})
	}
	return t
}

// CompareMetrics lists two sets of metrics side by side — e.g. the base and the fine-tuned model — as
// Metric | <beforeLabel> | <afterLabel> | Change, where Change is after − before. Both maps must have the same
// keys.
func CompareMetrics(before, after map[string]float64, beforeLabel, afterLabel string) (*Table, error) {
	for k := range before {
		if _, ok := after[k]; !ok {
			return nil, fmt.Errorf("display.CompareMetrics: metric %q is in %q but not in %q", k, beforeLabel, afterLabel)
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			return nil, fmt.Errorf("display.CompareMetrics: metric %q is in %q but not in %q", k, afterLabel, beforeLabel)
		}
	}
	t := NewTable("", "Metric", beforeLabel, afterLabel, "Change")
	for _, k := range slices.Sorted(maps.Keys(before)) {
		d := after[k] - before[k]
		change := formatMetric(d)
		if d > 0 {
			change = "+" + change
		}
		t.Rows = append(t.Rows, []string{k, formatMetric(before[k]), formatMetric(after[k]), change})
	}
	return t, nil
}

func formatMetric(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return formatFloat(v)
	}
	return fmt.Sprintf("%.4f", v)
}
