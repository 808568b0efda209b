package charts

import (
	"math"

	gecharts "github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
)

// line is one named curve of a line chart.
type line struct {
	name   string
	points []Point
}

// lineChart draws curves of values against the optimizer step on a value x axis. Non-finite values become
// gaps ("-", echarts' empty value), so a diverging run shows where it broke instead of failing to encode.
func lineChart(cfg config, yName string, lines []line) (*Chart, error) {
	xAxis := opts.XAxis{Type: "value", Name: "step", NameLocation: "middle", NameGap: 25}
	if cfg.maxStep > 0 {
		xAxis.Min, xAxis.Max = 0, cfg.maxStep
	}
	c := gecharts.NewLine()
	c.SetGlobalOptions(append(cfg.globalOptions("70"),
		gecharts.WithXAxisOpts(xAxis),
		gecharts.WithYAxisOpts(opts.YAxis{Type: "value", Name: yName, Scale: opts.Bool(true)}),
		gecharts.WithDataZoomOpts(opts.DataZoom{Type: "inside"}),
	)...)
	for _, l := range lines {
		data := make([]opts.LineData, len(l.points))
		for i, p := range l.points {
			var v any = p.Value
			if math.IsNaN(p.Value) || math.IsInf(p.Value, 0) {
				v = "-"
			}
			data[i] = opts.LineData{Value: []any{p.Step, v}}
		}
		c.AddSeries(l.name, data, gecharts.WithLineChartOpts(opts.LineChart{
			ShowSymbol: opts.Bool(len(data) <= 60),
		}))
	}
	c.Validate()
	return newChart(cfg, c.JSON())
}
