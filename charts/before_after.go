package charts

import (
	"fmt"
	"math"
	"slices"

	gecharts "github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
)

// BeforeAfter draws two sets of retrieval metrics side by side as grouped bars, one group per metric: e.g.
// the evaluator's results for the base model and for the fine-tuned model. Both maps must have the same,
// non-empty set of keys with finite values. Bars are labelled with values rounded to 4 decimals.
func BeforeAfter(before, after map[string]float64, options ...Option) (*Chart, error) {
	cfg := newConfig("Retrieval metrics", options)
	if len(before) == 0 && len(after) == 0 {
		return nil, fmt.Errorf("charts.BeforeAfter: both metric maps are empty")
	}
	keys := make([]string, 0, len(before))
	for k, v := range before {
		if _, ok := after[k]; !ok {
			return nil, fmt.Errorf("charts.BeforeAfter: metric %q is in %q but not in %q", k, cfg.labels[0], cfg.labels[1])
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("charts.BeforeAfter: %q metric %q is %v, expected a finite number", cfg.labels[0], k, v)
		}
		keys = append(keys, k)
	}
	for k, v := range after {
		if _, ok := before[k]; !ok {
			return nil, fmt.Errorf("charts.BeforeAfter: metric %q is in %q but not in %q", k, cfg.labels[1], cfg.labels[0])
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("charts.BeforeAfter: %q metric %q is %v, expected a finite number", cfg.labels[1], k, v)
		}
	}
	slices.Sort(keys)
	c := gecharts.NewBar()
	c.SetGlobalOptions(append(cfg.globalOptions("90"), // room for the slanted metric names
		gecharts.WithXAxisOpts(opts.XAxis{Type: "category", AxisLabel: &opts.AxisLabel{Interval: "0", Rotate: 20}}),
		gecharts.WithYAxisOpts(opts.YAxis{Type: "value"}),
	)...)
	c.SetXAxis(keys)
	for i, m := range []map[string]float64{before, after} {
		data := make([]opts.BarData, len(keys))
		for j, k := range keys {
			data[j] = opts.BarData{Value: math.Round(m[k]*1e4) / 1e4}
		}
		c.AddSeries(cfg.labels[i], data, gecharts.WithLabelOpts(opts.Label{Show: opts.Bool(true), Position: "top"}))
	}
	c.Validate()
	return newChart(cfg, c.JSON())
}
