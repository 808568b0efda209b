package sweep

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/embedtune/embedtune/internal/num"
)

// Hyperband is W&B's early_terminate {type: hyperband}: runs whose metric trails the others' at fixed
// points ("bands") are stopped, so the sweep spends its time on the promising ones.
//
// An iteration is one logged value of the metric: with eval_strategy "steps", the n-th evaluation.
// The bands are the iterations at which runs are compared:
//
//	min_iter, eta:  min_iter, min_iter·eta, min_iter·eta², …   (each truncated to an integer)
//	max_iter, s:    max_iter/eta^s, …, max_iter/eta²,  max_iter/eta   (truncated, those ≥ 1)
//
// With the values oriented so that lower is better (negated for goal maximize), the threshold of band
// b is the ⌊n/eta⌋-th smallest (0-based) of the n values that the compared runs logged at iteration b:
// the runs that reached b keep going only if they are in about the best 1/eta. After each evaluation,
// a run is stopped when, at the highest band b it has reached, its value at iteration b (strict: true,
// W&B's default) — or the best value it has logged so far (strict: false) — is worse than (greater
// than) the band's threshold. This is W&B's rule (hyperband_stop_runs in wandb/sweeps).
//
// W&B applies it asynchronously to whatever the runs have logged when its controller looks. embedtune
// makes it deterministic: run i is compared with itself and the runs 0..i-1 only, each of which has
// either reached the band (its value there is used) or ended before it (it does not count), so a run's
// fate depends only on the spec and the seed, however many processes share the sweep. This is
// asynchronous successive halving (ASHA) in run order: the first run is never stopped.
type Hyperband struct {
	MinIter, MaxIter, S int
	Eta                 float64
	Strict              bool
	bands               []int
}

// parseHyperband reads early_terminate.
func parseHyperband(v any) (*Hyperband, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("early_terminate: expected a mapping {type: hyperband, min_iter, eta} or {type: hyperband, max_iter, s, eta}, got %s", describe(v))
	}
	known := []string{"type", "min_iter", "max_iter", "s", "eta", "strict"}
	if extra := otherKeys(m, known...); len(extra) > 0 {
		return nil, fmt.Errorf("early_terminate: unknown key %q (hyperband takes %s)", extra[0], strings.Join(known, ", "))
	}
	if t, _ := m["type"].(string); t != "hyperband" {
		return nil, fmt.Errorf("early_terminate.type: only hyperband exists, got %s", describe(m["type"]))
	}
	h := &Hyperband{Eta: 3, Strict: true}
	intKey := func(k string) (int, bool, error) {
		x, ok := m[k]
		if !ok {
			return 0, false, nil
		}
		n, ok := x.(int)
		if !ok {
			f, isF := x.(float64)
			if !isF || f != math.Trunc(f) {
				return 0, true, fmt.Errorf("early_terminate.%s: expected a whole number, got %s", k, describe(x))
			}
			n = int(f)
		}
		if n < 1 {
			return 0, true, fmt.Errorf("early_terminate.%s: must be at least 1, got %d", k, n)
		}
		return n, true, nil
	}
	var err error
	var hasMin, hasMax, hasS bool
	if h.MinIter, hasMin, err = intKey("min_iter"); err != nil {
		return nil, err
	}
	if h.MaxIter, hasMax, err = intKey("max_iter"); err != nil {
		return nil, err
	}
	if h.S, hasS, err = intKey("s"); err != nil {
		return nil, err
	}
	if e, ok := m["eta"]; ok {
		f, ok := num.Float(e)
		if !ok || !(f > 1) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("early_terminate.eta: must be a number greater than 1, got %s", describe(e))
		}
		h.Eta = f
	}
	if st, ok := m["strict"]; ok {
		b, ok := st.(bool)
		if !ok {
			return nil, fmt.Errorf("early_terminate.strict: expected true or false, got %s", describe(st))
		}
		h.Strict = b
	}
	switch {
	case hasMax && hasMin:
		return nil, fmt.Errorf("early_terminate: give either min_iter or max_iter and s, not both")
	case hasMax && !hasS:
		return nil, fmt.Errorf("early_terminate: max_iter needs s, the number of bands below it")
	case hasS && !hasMax:
		return nil, fmt.Errorf("early_terminate: s goes with max_iter")
	case !hasMax && !hasMin:
		return nil, fmt.Errorf("early_terminate: hyperband needs min_iter (first band) or max_iter and s")
	}
	h.bands = h.computeBands()
	if len(h.bands) == 0 {
		return nil, fmt.Errorf("early_terminate: max_iter %d, s %d and eta %g give no band ≥ 1; increase max_iter, or decrease s or eta", h.MaxIter, h.S, h.Eta)
	}
	return h, nil
}

// computeBands follows W&B: from max_iter, divide by eta s times keeping the quotients ≥ 1; from
// min_iter, multiply by eta (W&B lists 100 bands; those past any run's length never apply).
func (h *Hyperband) computeBands() []int {
	var bands []int
	if h.MaxIter > 0 {
		b := float64(h.MaxIter)
		for i := 0; i < h.S; i++ {
			b /= h.Eta
			if b < 1 {
				break
			}
			bands = append(bands, int(b))
		}
		slices.Sort(bands)
		return bands
	}
	b := float64(h.MinIter)
	for i := 0; i < 100 && b < 1e9; i++ {
		bands = append(bands, int(b))
		b *= h.Eta
	}
	return bands
}

// Bands returns the iterations at which runs are compared, ascending.
func (h *Hyperband) Bands() []int { return slices.Clone(h.bands) }

// Band returns the highest band a run with n logged values has reached, or 0 before the first.
func (h *Hyperband) Band(n int) int {
	band := 0
	for _, b := range h.bands {
		if b > n {
			break
		}
		band = b
	}
	return band
}

// Decision is the outcome of Hyperband.Decide.
type Decision struct {
	Stop      bool
	Band      int     // the band the run was judged at (0: none reached yet)
	Value     float64 // the run's value compared (oriented: lower is better)
	Threshold float64 // the band's threshold (oriented)
	Compared  int     // how many runs' values made the threshold, the run's own included
}

// String describes the decision in W&B's terms, with values in the metric's orientation.
func (d Decision) String(goal Goal) string {
	v, t := d.Value, d.Threshold
	if goal == Maximize {
		v, t = -v, -t
	}
	verb := "kept"
	if d.Stop {
		verb = "stopped"
	}
	return fmt.Sprintf("hyperband band %d: value %.6g vs threshold %.6g (best 1/eta of %d runs): %s", d.Band, v, t, d.Compared, verb)
}

// Decide applies the rule to a run whose metric history (finite values, in log order) is own, against
// the full histories of the runs it is compared with (see Hyperband). goal orients the values.
func (h *Hyperband) Decide(goal Goal, own []float64, others [][]float64) Decision {
	band := h.Band(len(own))
	if band == 0 {
		return Decision{}
	}
	orient := func(v float64) float64 {
		if goal == Maximize {
			return -v
		}
		return v
	}
	values := []float64{orient(own[band-1])}
	for _, o := range others {
		if len(o) >= band {
			values = append(values, orient(o[band-1]))
		}
	}
	slices.Sort(values)
	r := 1 / h.Eta
	threshold := values[int(r*float64(len(values)))] // W&B: sorted(band_values)[int(r * len(band_values))]
	v := orient(own[band-1])
	if !h.Strict {
		for _, x := range own {
			v = math.Min(v, orient(x))
		}
	}
	return Decision{Stop: v > threshold, Band: band, Value: v, Threshold: threshold, Compared: len(values)}
}
