package sweep

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Observation is what the search knows of an earlier run: its parameters, how it ended, and the
// finite values of the metric it logged, in order.
type Observation struct {
	Params  map[string]any
	Status  Status
	History []float64
}

// NumRuns returns the number of runs of the sweep: the grid's size (at most run_cap) for grid, run_cap
// for random and bayes.
func (s *Spec) NumRuns() int {
	if s.Method != Grid {
		return s.RunCap
	}
	n := 1
	for _, p := range s.Parameters {
		vs, _ := p.GridValues()
		n *= len(vs)
		if s.RunCap > 0 && n > s.RunCap {
			return s.RunCap
		}
	}
	return n
}

// DependsOnEarlierRuns reports whether run i needs the results of runs 0..i-1: Bayesian suggestions
// are fitted on them, early termination compares with them, and a metric target skips the runs after
// the one that reached it. Without any of these, runs are independent.
func (s *Spec) DependsOnEarlierRuns() bool {
	return s.Method == Bayes || s.EarlyTerminate != nil || s.Metric.Target != nil
}

// stream returns the random numbers of run i (a pure function of the seed, i and the purpose).
func (s *Spec) stream(i int, purpose uint64) *rand.Rand {
	return rand.New(rand.NewPCG(s.Seed^purpose, uint64(i)))
}

// Stream purposes.
const (
	drawStream      = 0
	candidateStream = 0xbae5
)

// Suggest returns the parameters of run i (0-based), a pure function of the spec, its seed, i and —
// for bayes only — the observations of runs 0..i-1 (in order; other methods ignore them):
//
//   - grid: the i-th combination of the parameters' grid values (sorted names, last fastest);
//   - random: each parameter drawn from its distribution with run i's random stream;
//   - bayes: as random while fewer than two earlier runs have a metric; then W&B's method: every
//     searchable parameter is mapped to [0, 1] by its distribution function (Parameter.Quantile),
//     a Gaussian process with a Matérn ν=3/2 kernel is fitted to the earlier runs' metric (the best
//     value each logged; failed and early-terminated runs count as the worst value seen, or as
//     metric.impute says), and the point with the highest expected improvement among 1,000 uniform
//     random candidates and 500 perturbations of the best run is mapped back through the quantile
//     functions.
func (s *Spec) Suggest(i int, earlier []Observation) (map[string]any, error) {
	if i < 0 || i >= s.NumRuns() {
		return nil, fmt.Errorf("sweep: run %d does not exist (the sweep has %d runs)", i, s.NumRuns())
	}
	switch s.Method {
	case Grid:
		return s.gridPoint(i), nil
	case Bayes:
		if len(earlier) < i {
			return nil, fmt.Errorf("sweep: the Bayesian suggestion for run %d needs the %d earlier runs, got %d", i, i, len(earlier))
		}
		if x, ok := s.bayesPoint(i, earlier[:i]); ok {
			return s.fromQuantiles(x), nil
		}
	}
	r := s.stream(i, drawStream)
	out := map[string]any{}
	for _, p := range s.Parameters {
		out[p.Name] = p.Sample(r.Float64())
	}
	return out, nil
}

// gridPoint returns combination i of the grid.
func (s *Spec) gridPoint(i int) map[string]any {
	out := map[string]any{}
	for k := len(s.Parameters) - 1; k >= 0; k-- {
		p := s.Parameters[k]
		vs, _ := p.GridValues()
		out[p.Name] = vs[i%len(vs)]
		i /= len(vs)
	}
	return out
}

// searchable returns the parameters the Bayesian optimizer moves.
func (s *Spec) searchable() []*Parameter {
	var out []*Parameter
	for _, p := range s.Parameters {
		if p.Searchable() {
			out = append(out, p)
		}
	}
	return out
}

// fromQuantiles maps a point of [0, 1]^d (searchable parameters in order) to parameter values.
func (s *Spec) fromQuantiles(x []float64) map[string]any {
	out := map[string]any{}
	k := 0
	for _, p := range s.Parameters {
		if !p.Searchable() {
			out[p.Name] = p.Value
			continue
		}
		out[p.Name] = p.Sample(math.Min(1, math.Max(0, x[k])))
		k++
	}
	return out
}

// bayesPoint proposes run i's point in quantile space; ok is false when there are too few
// observations to fit (fewer than two runs with a metric).
func (s *Spec) bayesPoint(i int, earlier []Observation) (x []float64, ok bool) {
	params := s.searchable()
	d := len(params)
	better := func(a, b float64) bool { return s.Metric.Better(a, b) }
	// worst and per-run values in the metric's orientation.
	var worst float64
	haveWorst := false
	for _, o := range earlier {
		for _, v := range o.History {
			if !haveWorst || better(worst, v) {
				worst, haveWorst = v, true
			}
		}
	}
	var X [][]float64
	var y []float64
	measured := 0
	for _, o := range earlier {
		if o.Status == StatusSkipped {
			continue
		}
		row := make([]float64, d)
		valid := true
		for k, p := range params {
			row[k] = p.Quantile(o.Params[p.Name])
			if math.IsNaN(row[k]) {
				valid = false
			}
		}
		if !valid {
			continue
		}
		var v float64
		switch {
		case o.Status == StatusFinished && len(o.History) > 0:
			v = o.History[0]
			for _, h := range o.History {
				if better(h, v) {
					v = h
				}
			}
			measured++
		case !haveWorst:
			continue
		default:
			v = s.impute(o, worst)
		}
		X = append(X, row)
		y = append(y, v)
	}
	if len(X) < 2 || measured == 0 {
		return nil, false
	}
	if s.Metric.Goal == Maximize { // The GP minimizes.
		for k := range y {
			y[k] = -y[k]
		}
	}
	gp := fitGP(X, y)
	r := s.stream(i, candidateStream)
	best := 0
	for k := range y {
		if y[k] < y[best] {
			best = k
		}
	}
	var cands [][]float64
	for c := 0; c < 1000; c++ {
		p := make([]float64, d)
		for k := range p {
			p[k] = r.Float64()
		}
		cands = append(cands, p)
	}
	for c := 0; c < 500; c++ {
		p := make([]float64, d)
		for k := range p {
			p[k] = math.Min(1, math.Max(0, X[best][k]+0.05*r.NormFloat64()))
		}
		cands = append(cands, p)
	}
	bestEI := math.Inf(-1)
	for _, c := range cands {
		if ei := gp.expectedImprovement(c); ei > bestEI {
			bestEI, x = ei, c
		}
	}
	return x, true
}

// impute returns the value a failed or early-terminated run counts with (metric.impute).
func (s *Spec) impute(o Observation, worst float64) float64 {
	switch s.Metric.Impute {
	case "best":
		if len(o.History) > 0 {
			v := o.History[0]
			for _, h := range o.History {
				if s.Metric.Better(h, v) {
					v = h
				}
			}
			return v
		}
	case "latest":
		if len(o.History) > 0 {
			return o.History[len(o.History)-1]
		}
	}
	return worst
}
