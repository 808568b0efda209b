package charts

import (
	gecharts "github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
)

// Option changes how a chart builder draws its chart.
type Option func(*config)

// config holds the settings every builder understands.
type config struct {
	title         string
	width, height string
	animation     bool
	labels        [2]string // BeforeAfter's series names
	maxStep       int       // x axis end for step charts (0: fit the data)
}

func newConfig(defaultTitle string, options []Option) config {
	cfg := config{title: defaultTitle, width: "900px", height: "400px", animation: true, labels: [2]string{"Before", "After"}}
	for _, o := range options {
		o(&cfg)
	}
	return cfg
}

// WithTitle sets the chart's title.
func WithTitle(title string) Option { return func(c *config) { c.title = title } }

// WithSize sets the chart area's CSS width (a maximum: the chart shrinks with narrower pages) and height,
// e.g. "900px", "300px".
func WithSize(width, height string) Option {
	return func(c *config) { c.width, c.height = width, height }
}

// WithAnimation turns echarts' drawing animation on or off (on by default; live charts that are redrawn at
// every logging step turn it off).
func WithAnimation(on bool) Option { return func(c *config) { c.animation = on } }

// WithLabels names the two series of BeforeAfter (default "Before" and "After").
func WithLabels(before, after string) Option {
	return func(c *config) { c.labels = [2]string{before, after} }
}

// WithMaxStep makes step charts' x axis end at step n (e.g. the run's total number of steps, so that a live
// chart does not rescale at every logging step). n <= 0 fits the axis to the data.
func WithMaxStep(n int) Option { return func(c *config) { c.maxStep = n } }

// globalOptions are the echarts settings every chart shares: size, title, an axis tooltip, the legend at the
// bottom (one row, with page arrows when it does not fit: a sweep's runs), the animation switch, and the plot margins, with gridBottom pixels below the plot for the legend
// and the x axis labels.
func (cfg config) globalOptions(gridBottom string) []gecharts.GlobalOpts {
	return []gecharts.GlobalOpts{
		gecharts.WithInitializationOpts(opts.Initialization{Width: cfg.width, Height: cfg.height}),
		gecharts.WithTitleOpts(opts.Title{Title: cfg.title}),
		gecharts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}),
		gecharts.WithLegendOpts(opts.Legend{Show: opts.Bool(true), Bottom: "0", Type: "scroll"}), // one row, paged when long
		gecharts.WithGridOpts(opts.Grid{Left: "70", Right: "40", Top: "50", Bottom: gridBottom}),
		gecharts.WithAnimation(cfg.animation),
	}
}
