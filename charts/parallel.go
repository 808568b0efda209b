package charts

import (
	"encoding/json"
	"fmt"
	"math"

	gecharts "github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
)

// Parallel draws a parallel-coordinates chart of a sweep: one vertical axis per parameter (params, in
// order) and a last one for the metric, one polyline per run, colored by its metric. values[i] holds
// run i's parameter values (in params' order) and metric[i] its final metric (NaN: the run has none;
// it is drawn without a metric). Axes of numbers are linear, or logarithmic when the values are
// positive and span two decades; other values make category axes.
func Parallel(params []string, metricKey string, runs []string, values [][]any, metric []float64, options ...Option) (*Chart, error) {
	cfg := newConfig("Parameters and "+MetricLabel("x_"+metricKey), options)
	if len(runs) == 0 {
		return nil, fmt.Errorf("charts.Parallel: no runs given")
	}
	if len(values) != len(runs) || len(metric) != len(runs) {
		return nil, fmt.Errorf("charts.Parallel: %d runs, %d value rows and %d metrics, expected as many", len(runs), len(values), len(metric))
	}
	axes := make([]axisValues, len(params))
	list := make([]opts.ParallelAxis, 0, len(params)+1)
	for k, p := range params {
		col := make([]any, len(runs))
		for i, row := range values {
			if len(row) != len(params) {
				return nil, fmt.Errorf("charts.Parallel: run %q has %d values, expected %d (one per parameter)", runs[i], len(row), len(params))
			}
			col[i] = row[k]
		}
		axes[k] = newAxisValues(col)
		ax := opts.ParallelAxis{Dim: k, Name: p, Type: axes[k].kind}
		if axes[k].kind == "category" {
			ax.Data = axes[k].categories
		}
		list = append(list, ax)
	}
	list = append(list, opts.ParallelAxis{Dim: len(params), Name: metricKey, Type: "value"})
	lo, hi := math.Inf(1), math.Inf(-1)
	data := make([]opts.ParallelData, len(runs))
	for i := range runs {
		row := make([]any, 0, len(params)+1)
		for k := range params {
			row = append(row, axes[k].value(values[i][k]))
		}
		if m := metric[i]; !math.IsNaN(m) && !math.IsInf(m, 0) {
			row = append(row, m)
			lo, hi = math.Min(lo, m), math.Max(hi, m)
		} else {
			row = append(row, "-")
		}
		data[i] = opts.ParallelData{Name: runs[i], Value: row}
	}
	global := append(cfg.globalOptions("40"),
		gecharts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "item"}),
		gecharts.WithLegendOpts(opts.Legend{Show: opts.Bool(false)}),
		gecharts.WithParallelAxisList(list),
		gecharts.WithParallelComponentOpts(opts.ParallelComponent{Left: "60", Right: "110", Top: "60", Bottom: "40"}))
	if lo < hi {
		global = append(global, gecharts.WithVisualMapOpts(opts.VisualMap{Type: "continuous", Dimension: fmt.Sprint(len(params)),
			Min: float32(lo), Max: float32(hi), Calculable: opts.Bool(true), Right: "0", Top: "middle",
			InRange: &opts.VisualMapInRange{Color: []string{"#d94e5d", "#eac736", "#50a3ba"}}}))
	}
	c := gecharts.NewParallel()
	c.SetGlobalOptions(global...)
	c.AddSeries(metricKey, data, gecharts.WithLineStyleOpts(opts.LineStyle{Width: 2, Opacity: opts.Float(0.8)}))
	c.Validate()
	option, err := jsonMap(c.JSON())
	if err != nil {
		return nil, fmt.Errorf("charts.Parallel: %w", err)
	}
	if vm, ok := option["visualMap"].([]any); ok && len(vm) == 1 {
		// go-echarts types visualMap.dimension as a string; echarts wants the axis index.
		m := vm[0].(map[string]any)
		m["dimension"], m["min"], m["max"], m["precision"] = len(params), lo, hi, 4
	}
	if axes, ok := option["parallelAxis"].([]any); ok {
		for _, a := range axes { // Numeric axes span the values, not from zero.
			if m := a.(map[string]any); m["type"] != "category" {
				m["scale"] = true
			}
		}
	}
	return newChart(cfg, option)
}

// jsonMap turns a go-echarts option into plain JSON values, to adjust what go-echarts cannot express.
func jsonMap(option map[string]any) (map[string]any, error) {
	data, err := json.Marshal(option)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	return m, json.Unmarshal(data, &m)
}
