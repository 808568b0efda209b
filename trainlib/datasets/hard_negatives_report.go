package datasets

import (
	"fmt"
	"html"
	"math"
	"slices"
	"strings"

	"github.com/embedtune/embedtune/internal/pyfmt"
)

// SkipCount is how many candidate negatives one filter discarded, and their share of the candidates
// (as sentence-transformers counts them).
type SkipCount struct {
	Skipped int     `json:"skipped"`
	Ratio   float64 `json:"ratio"`
}

// MiningReport describes a MineHardNegatives run: sizes, what the filters skipped, score statistics
// and how many samples could not be filled. String prints it as sentence-transformers' verbose output
// (the statistics table and the "Skipped" / "Could not find enough negatives" lines).
type MiningReport struct {
	// Rows of the input; Queries and Corpus after de-duplication; MaxPositives per anchor (rows).
	Rows, Queries, Corpus, MaxPositives int
	// RangeMax in effect (derived when the options left it 0) and NumNegatives asked for.
	RangeMax, NumNegatives int
	// AnchorColumn and PositiveColumn are the columns used; Format the output format.
	AnchorColumn, PositiveColumn string
	Format                       OutputFormat
	// Skipped counts the candidates discarded by absolute_margin, relative_margin, max_score and
	// min_score (only the filters that discarded some).
	Skipped map[string]SkipCount
	// OutputRows is the size of the mined dataset; MaximumPossibleSamples what it would be if every
	// anchor had found NumNegatives negatives; MissingSamples the difference.
	OutputRows, MaximumPossibleSamples int
	// QueriesShort counts the (distinct) anchors that found fewer than NumNegatives negatives, and
	// QueriesDropped those absent from the output because of it: the anchors without any negative
	// (triplet, labeled-list) or without NumNegatives of them (n-tuple); labeled-pair keeps every
	// anchor with its positives.
	QueriesShort, QueriesDropped int
	// CacheHits and CacheMisses count the encode calls read from / written to the embedding cache
	// in CacheFolder.
	CacheHits, CacheMisses int
	CacheFolder            string
	// EncodeSearchSeconds is the time spent encoding and searching.
	EncodeSearchSeconds float64
	// Messages are sentence-transformers' informational lines ("Setting range_max to …").
	Messages []string

	positiveScores, negativeScores, differences []float64
	opts                                        MineOptions
}

// MissingSamples is MaximumPossibleSamples − OutputRows.
func (r *MiningReport) MissingSamples() int { return r.MaximumPossibleSamples - r.OutputRows }

// PositiveScores returns the similarity of every (anchor, positive) pair, in output order.
func (r *MiningReport) PositiveScores() []float64 { return slices.Clone(r.positiveScores) }

// NegativeScores returns the similarity of every kept (anchor, negative), in output order.
func (r *MiningReport) NegativeScores() []float64 { return slices.Clone(r.negativeScores) }

// ScoreStats are the statistics of one score list, computed as PyTorch does in sentence-transformers'
// report: Median is the lower median (torch.median), Std the sample standard deviation, the
// quantiles linear interpolations (torch.quantile).
type ScoreStats struct {
	Count                                      int
	Mean, Median, Std, Min, Q25, Q50, Q75, Max float64
}

// Stats returns the statistics of the positive scores, the negative scores and their differences.
func (r *MiningReport) Stats() (positive, negative, difference ScoreStats) {
	return scoreStats(r.positiveScores), scoreStats(r.negativeScores), scoreStats(r.differences)
}

func scoreStats(v []float64) ScoreStats {
	s := ScoreStats{Count: len(v)}
	nan := math.NaN()
	if len(v) == 0 {
		s.Mean, s.Median, s.Std = nan, nan, nan
		s.Min, s.Q25, s.Q50, s.Q75, s.Max = math.Inf(1), math.Inf(1), math.Inf(1), math.Inf(1), math.Inf(-1)
		return s
	}
	sorted := slices.Clone(v)
	slices.Sort(sorted)
	sum := 0.0
	for _, x := range v {
		sum += x
	}
	s.Mean = sum / float64(len(v))
	ss := 0.0
	for _, x := range v {
		ss += (x - s.Mean) * (x - s.Mean)
	}
	s.Std = nan
	if len(v) > 1 {
		s.Std = math.Sqrt(ss / float64(len(v)-1))
	}
	s.Median = sorted[(len(sorted)-1)/2]
	q := func(p float64) float64 {
		pos := p * float64(len(sorted)-1)
		lo := int(math.Floor(pos))
		hi := min(lo+1, len(sorted)-1)
		return sorted[lo] + (sorted[hi]-sorted[lo])*(pos-float64(lo))
	}
	s.Min, s.Q25, s.Q50, s.Q75, s.Max = sorted[0], q(0.25), q(0.5), q(0.75), sorted[len(sorted)-1]
	return s
}

// stats returns the lines sentence-transformers prints after mining: the table, the skip counts and
// the missing samples.
func (r *MiningReport) stats() []string {
	row := func(a, b, c, d string) string { return fmt.Sprintf("%-6s %14s %14s %14s", a, b, c, d) }
	f4 := func(x float64) string { return pyfmt.Fixed(x, 4) }
	lines := []string{row("Metric", "Positive", "Negative", "Difference"),
		row("Count", pyfmt.Thousands(len(r.positiveScores)), pyfmt.Thousands(len(r.negativeScores)), "")}
	p, n, d := r.Stats()
	for _, m := range []struct {
		name string
		get  func(ScoreStats) float64
	}{{"Mean", func(s ScoreStats) float64 { return s.Mean }}, {"Median", func(s ScoreStats) float64 { return s.Median }},
		{"Std", func(s ScoreStats) float64 { return s.Std }}, {"Min", func(s ScoreStats) float64 { return s.Min }},
		{"25%", func(s ScoreStats) float64 { return s.Q25 }}, {"50%", func(s ScoreStats) float64 { return s.Q50 }},
		{"75%", func(s ScoreStats) float64 { return s.Q75 }}, {"Max", func(s ScoreStats) float64 { return s.Max }}} {
		lines = append(lines, row(m.name, f4(m.get(p)), f4(m.get(n)), f4(m.get(d))))
	}
	o := r.opts
	for _, f := range []struct {
		name string
		v    *float64
	}{{"absolute_margin", o.AbsoluteMargin}, {"relative_margin", o.RelativeMargin}, {"max_score", o.MaxScore}, {"min_score", o.MinScore}} {
		if c, ok := r.Skipped[f.name]; ok {
			lines = append(lines, fmt.Sprintf("Skipped %s potential negatives (%s%%) due to the %s of %s.",
				pyfmt.Thousands(c.Skipped), pyfmt.Fixed(c.Ratio*100, 2), f.name, pyfmt.Repr(*f.v)))
		}
	}
	if missing := r.MissingSamples(); missing > 0 {
		solutions := []string{"range_max"}
		if o.RangeMin > 0 {
			solutions = append(solutions, "range_min")
		}
		if o.AbsoluteMargin != nil {
			solutions = append(solutions, "absolute_margin")
		}
		if o.RelativeMargin != nil {
			solutions = append(solutions, "relative_margin")
		}
		if o.MaxScore != nil {
			solutions = append(solutions, "max_score")
		}
		considerations, plural := solutions[0], ""
		if len(solutions) > 1 {
			considerations = strings.Join(solutions[:len(solutions)-1], ", ") + " and " + solutions[len(solutions)-1]
			plural = "s"
		}
		lines = append(lines, fmt.Sprintf("Could not find enough negatives for %d samples (%s%%). Consider adjusting the %s parameter%s if you'd like to find more valid negatives.",
			missing, pyfmt.Fixed(float64(missing)/float64(r.MaximumPossibleSamples)*100, 2), considerations, plural))
	}
	return lines
}

// Warning returns a one-line warning when anchors found fewer negatives than asked, saying how many
// anchors were dropped from the dataset and how many samples are missing; "" when none are.
func (r *MiningReport) Warning() string {
	if r.MissingSamples() <= 0 && r.QueriesShort == 0 {
		return ""
	}
	return fmt.Sprintf("%d of %d anchors found fewer than %d negatives and %d were dropped from the %s dataset (%d of %d possible rows are missing): the corpus (%d texts) or the candidate window (range_min %d, range_max %d) leaves too few candidates after the filters",
		r.QueriesShort, r.Queries, r.NumNegatives, r.QueriesDropped, r.Format, r.MissingSamples(), r.MaximumPossibleSamples,
		r.Corpus, r.opts.RangeMin, r.RangeMax)
}

// String is the report as sentence-transformers prints it, preceded by its informational lines.
func (r *MiningReport) String() string {
	lines := append(slices.Clone(r.Messages), r.stats()...)
	if r.CacheFolder != "" {
		lines = append(lines, fmt.Sprintf("Embeddings: %d encode calls read from the cache, %d computed (%s)", r.CacheHits, r.CacheMisses, r.CacheFolder))
	}
	return strings.Join(lines, "\n")
}

// HTML shows the report in a notebook (display.HTML(report)).
func (r *MiningReport) HTML() string {
	return `<pre style="font-size:12px;line-height:1.35">` + html.EscapeString(r.String()) + "</pre>"
}
