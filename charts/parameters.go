package charts

import (
	"fmt"
	"math"
	"strconv"

	gecharts "github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"

	"github.com/embedtune/embedtune/internal/num"
)

// axisValues describes the values of a hyperparameter for an axis: "category" when any is not a number
// (the categories in order of first appearance), "log" when they are positive numbers spanning two
// decades or more (learning rates), else "value".
type axisValues struct {
	kind       string
	categories []string
}

func newAxisValues(values []any) axisValues {
	lo, hi := math.Inf(1), math.Inf(-1)
	seen := map[string]bool{}
	var cats []string
	numeric := true
	for _, v := range values {
		f, ok := number(v)
		if !ok {
			numeric = false
		} else {
			lo, hi = math.Min(lo, f), math.Max(hi, f)
		}
		if s := categoryOf(v); !seen[s] {
			seen[s] = true
			cats = append(cats, s)
		}
	}
	switch {
	case !numeric:
		return axisValues{kind: "category", categories: cats}
	case lo > 0 && hi/lo >= 100:
		return axisValues{kind: "log"}
	}
	return axisValues{kind: "value"}
}

// value is v as the axis takes it: its category's name, or the number.
func (a axisValues) value(v any) any {
	if a.kind == "category" {
		return categoryOf(v)
	}
	f, _ := number(v)
	return f
}

// number converts a numeric parameter value (not NaN or infinite).
func number(v any) (float64, bool) {
	f, ok := num.Float(v)
	return f, ok && !math.IsNaN(f) && !math.IsInf(f, 0)
}

// categoryOf names a value on a category axis.
func categoryOf(v any) string {
	if f, ok := number(v); ok {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return fmt.Sprint(v)
}

// MetricVsParameter draws a sweep's metric against one of its parameters, one point per run (named by
// its run): values holds each run's parameter value (numbers, or anything else as categories) and
// metric its final metric (NaN for runs without one, which are left out). The x axis is logarithmic
// when the values are positive and span two decades (learning rates).
func MetricVsParameter(param, metricKey string, runs []string, values []any, metric []float64, options ...Option) (*Chart, error) {
	cfg := newConfig(MetricLabel("x_"+metricKey)+" vs "+param, options)
	if len(runs) != len(values) || len(runs) != len(metric) {
		return nil, fmt.Errorf("charts.MetricVsParameter: %d runs, %d values and %d metrics, expected as many", len(runs), len(values), len(metric))
	}
	axis := newAxisValues(values)
	var data []opts.ScatterData
	for i := range runs {
		if math.IsNaN(metric[i]) || math.IsInf(metric[i], 0) {
			continue
		}
		data = append(data, opts.ScatterData{Name: runs[i], Value: []any{axis.value(values[i]), metric[i]}, SymbolSize: 12})
	}
	if len(data) == 0 {
		return nil, fmt.Errorf("charts.MetricVsParameter: no run of the %d has a %s value", len(runs), metricKey)
	}
	x := opts.XAxis{Type: axis.kind, Name: param, NameLocation: "middle", NameGap: 25, Scale: opts.Bool(true)}
	if axis.kind == "category" {
		x.Data = axis.categories
	}
	c := gecharts.NewScatter()
	c.SetGlobalOptions(append(cfg.globalOptions("60"),
		gecharts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "item", Formatter: "{b}: {c}"}),
		gecharts.WithXAxisOpts(x),
		gecharts.WithYAxisOpts(opts.YAxis{Type: "value", Name: metricKey, Scale: opts.Bool(true)}),
	)...)
	c.AddSeries(metricKey, data)
	c.Validate()
	return newChart(cfg, c.JSON())
}
