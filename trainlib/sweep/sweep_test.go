package sweep

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/embedtune/embedtune/internal/num"
	"github.com/embedtune/embedtune/internal/testutil"
)

func mustParse(t *testing.T, yaml string) *Spec {
	t.Helper()
	s, err := Parse("test.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestParseErrors(t *testing.T) {
	cases := []struct{ name, yaml, want string }{
		{"unknown top key", "method: grid\nparamters: {}\n", `unknown key "paramters"`},
		{"W&B launch key", "method: grid\ncommand: [python]\nparameters: {a: {value: 1}}\n", `"command" is not supported`},
		{"no method", "parameters: {a: {value: 1}}\n", "method is required"},
		{"custom method", "method: custom\nparameters: {a: {value: 1}}\n", `method "custom" is a Hugging Face value that embedtune does not implement`},
		{"bad method", "method: gird\nparameters: {a: {value: 1}}\n", `method "gird" is not valid; use one of "grid", "random", "bayes"`},
		{"no parameters", "method: grid\n", "parameters is required"},
		{"parameter not a mapping", "method: grid\nparameters: {a: 3}\n", "parameters.a: expected a mapping"},
		{"unknown parameter key", "method: random\nrun_cap: 2\nparameters: {lr: {min: 1, mx: 2}}\n", `parameters.lr: cannot tell the distribution`},
		{"key of another distribution", "method: random\nrun_cap: 2\nparameters: {lr: {min: 1, max: 2, mu: 0}}\n", `parameters.lr: unknown key "mu" for distribution int_uniform`},
		{"min above max", "method: random\nrun_cap: 2\nparameters: {lr: {min: 0.1, max: 0.01}}\n", "parameters.lr: min (0.1) is greater than max (0.01)"},
		{"log values at 0", "method: random\nrun_cap: 2\nparameters: {lr: {distribution: log_uniform_values, min: 0, max: 1}}\n", "parameters.lr.min: log_uniform_values needs min > 0"},
		{"q not positive", "method: random\nrun_cap: 2\nparameters: {bs: {distribution: q_uniform, min: 8, max: 64, q: 0}}\n", "parameters.bs.q: must be positive"},
		{"int_uniform with floats", "method: random\nrun_cap: 2\nparameters: {bs: {distribution: int_uniform, min: 8.5, max: 64}}\n", "parameters.bs.min: int_uniform needs a whole number"},
		{"probabilities length", "method: random\nrun_cap: 2\nparameters: {o: {values: [a, b], probabilities: [1]}}\n", "parameters.o.probabilities: expected a list of 2 numbers"},
		{"probabilities sum", "method: random\nrun_cap: 2\nparameters: {o: {values: [a, b], probabilities: [0.5, 0.6]}}\n", "they sum to 1.1, expected 1"},
		{"empty values", "method: grid\nparameters: {o: {values: []}}\n", "parameters.o.values: expected a non-empty list"},
		{"unknown distribution", "method: random\nrun_cap: 2\nparameters: {o: {distribution: gaussian}}\n", `distribution "gaussian" is not valid`},
		{"sigma", "method: random\nrun_cap: 2\nparameters: {o: {distribution: normal, sigma: -1}}\n", "parameters.o.sigma: must be positive"},
		{"nested with extra key", "method: grid\nparameters: {loss: {parameters: {scale: {value: 1}}, value: 2}}\n", `parameters.loss: a parameter with nested "parameters" can have no other key (found value)`},
		{"random without run_cap", "method: random\nparameters: {a: {min: 0.0, max: 1.0}}\n", "method random needs run_cap"},
		{"grid over a range", "method: grid\nparameters: {a: {min: 0.0, max: 1.0}}\n", `parameter "a": grid search takes constant, categorical`},
		{"grid with probabilities", "method: grid\nparameters: {a: {values: [1, 2], probabilities: [0.5, 0.5]}}\n", "not categorical with probabilities"},
		{"bayes without metric", "method: bayes\nrun_cap: 3\nparameters: {a: {min: 0.0, max: 1.0}}\n", "method bayes needs a metric"},
		{"hyperband without metric", "method: grid\nparameters: {a: {value: 1}}\nearly_terminate: {type: hyperband, min_iter: 1}\n", "early_terminate needs a metric"},
		{"hyperband both", "method: grid\nmetric: {name: l}\nparameters: {a: {value: 1}}\nearly_terminate: {type: hyperband, min_iter: 1, max_iter: 9, s: 2}\n", "either min_iter or max_iter and s"},
		{"hyperband eta", "method: grid\nmetric: {name: l}\nparameters: {a: {value: 1}}\nearly_terminate: {type: hyperband, min_iter: 1, eta: 1}\n", "eta: must be a number greater than 1"},
		{"hyperband no band", "method: grid\nmetric: {name: l}\nparameters: {a: {value: 1}}\nearly_terminate: {type: hyperband, max_iter: 2, s: 2, eta: 3}\n", "give no band"},
		{"hyperband type", "method: grid\nmetric: {name: l}\nparameters: {a: {value: 1}}\nearly_terminate: {type: envelope, min_iter: 1}\n", "only hyperband exists"},
		{"metric key", "method: grid\nmetric: {name: l, gaol: maximize}\nparameters: {a: {value: 1}}\n", `metric: unknown key "gaol"`},
		{"metric goal", "method: grid\nmetric: {name: l, goal: max}\nparameters: {a: {value: 1}}\n", `metric.goal "max" is not valid; use one of "minimize", "maximize"`},
		{"impute while running", "method: bayes\nrun_cap: 3\nmetric: {name: l, impute_while_running: best}\nparameters: {a: {min: 0.0, max: 1.0}}\n", "impute_while_running best is not supported"},
		{"program and run", "method: grid\nprogram: run.yaml\nrun: {model: x}\nparameters: {a: {value: 1}}\n", "either as program"},
		{"run_cap", "method: grid\nrun_cap: 0\nparameters: {a: {value: 1}}\n", "run_cap: expected a whole number > 0"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("test.yaml", []byte(c.yaml))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want it to contain %q", err, c.want)
			}
			if !strings.HasPrefix(err.Error(), "test.yaml: ") {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

// distributionCases are parameter definitions of every W&B distribution.
var distributionCases = []map[string]any{
	{"value": 3},
	{"values": []any{"a", "b", "c"}},
	{"values": []any{8, 16, 32, 64}, "probabilities": []any{0.1, 0.2, 0.3, 0.4}},
	{"min": 8, "max": 64},
	{"min": 0.0, "max": 0.3},
	{"distribution": "q_uniform", "min": 0.0, "max": 1.0, "q": 0.25},
	{"distribution": "q_uniform", "min": 8, "max": 64, "q": 8},
	{"distribution": "log_uniform", "min": -9.2, "max": -4.6},
	{"distribution": "log_uniform_values", "min": 1e-6, "max": 1e-3},
	{"distribution": "q_log_uniform", "min": 2, "max": 6, "q": 4},
	{"distribution": "q_log_uniform_values", "min": 4, "max": 512, "q": 4},
	{"distribution": "inv_log_uniform", "min": 1, "max": 5},
	{"distribution": "inv_log_uniform_values", "min": 0.01, "max": 0.5},
	{"distribution": "normal", "mu": 20, "sigma": 5},
	{"distribution": "q_normal", "mu": 20, "sigma": 5, "q": 2},
	{"distribution": "log_normal", "mu": -7, "sigma": 1},
	{"distribution": "q_log_normal", "mu": 3, "sigma": 0.5, "q": 1.0},
	{"distribution": "beta", "a": 2, "b": 5},
	{"distribution": "q_beta", "a": 0.5, "b": 0.5, "q": 0.1},
}

// wandbTypes maps W&B's parameter types to the distributions.
var wandbTypes = map[string]Distribution{
	"param_single_value": Constant, "param_categorical": Categorical, "param_categorical_w_probabilities": CategoricalWProbabilities,
	"param_int_uniform": IntUniform, "param_uniform": Uniform, "param_quniform": QUniform, "param_loguniform": LogUniform,
	"param_loguniform_v2": LogUniformValues, "param_qloguniform": QLogUniform, "param_qloguniform_v2": QLogUniformValues,
	"param_inv_loguniform": InvLogUniform, "param_inv_loguniform_v2": InvLogUniformValues, "param_normal": Normal,
	"param_qnormal": QNormal, "param_lognormal": LogNormal, "param_qlognormal": QLogNormal, "param_beta": Beta, "param_qbeta": QBeta,
}

// TestDistributionsMatchWandB compares every distribution's inferred type and quantile function with
// W&B's sweep library (HyperParameter.type and .ppf).
func TestDistributionsMatchWandB(t *testing.T) {
	xs := []float64{0.013, 0.05, 0.2, 0.37, 0.5, 0.63, 0.81, 0.95, 0.993}
	var req []map[string]any
	for i, c := range distributionCases {
		req = append(req, map[string]any{"name": fmt.Sprintf("p%d", i), "config": c, "x": xs})
	}
	var resp struct {
		PPF []struct {
			Type   string `json:"type"`
			Values []any  `json:"values"`
		} `json:"ppf"`
	}
	testutil.PythonJSON(t, "tests/reference/wandb_sweeps_reference.py", map[string]any{"ppf": req}, &resp)
	for i, c := range distributionCases {
		p, err := parseParameter("p", "p", c)
		if err != nil {
			t.Fatalf("%v: %v", c, err)
		}
		ref := resp.PPF[i]
		if wandbTypes[ref.Type] != p.Distribution {
			t.Errorf("%v: distribution %s, W&B %s", c, p.Distribution, ref.Type)
		}
		for k, x := range xs {
			got, want := p.Sample(x), ref.Values[k]
			if p.Distribution == Constant {
				want = ref.Values[0]
			}
			gf, gok := num.Float(got)
			wf, wok := want.(float64)
			switch {
			case gok && wok:
				_, gotInt := got.(int)
				if math.Abs(gf-wf) > 1e-9*math.Max(1, math.Abs(wf)) || gotInt != (wf == math.Trunc(wf) && p.intValues) && p.Distribution != Categorical && p.Distribution != CategoricalWProbabilities && p.Distribution != Constant {
					t.Errorf("%v at %g: %v (%T), W&B %v", c, x, got, got, want)
				}
			case fmt.Sprint(got) != fmt.Sprint(want):
				t.Errorf("%v at %g: %v, W&B %v", c, x, got, want)
			}
		}
	}
}

// TestGridMatchesWandB compares grid order and values with W&B's grid search, suggesting one run at a
// time as its controller does.
func TestGridMatchesWandB(t *testing.T) {
	grids := []map[string]any{
		{"lr": map[string]any{"values": []any{1e-5, 3e-5}}, "bs": map[string]any{"values": []any{16, 32, 64}}, "c": map[string]any{"value": "x"}},
		{"n": map[string]any{"min": 2, "max": 5}, "s": map[string]any{"distribution": "q_uniform", "min": 0.0, "max": 1.0, "q": 0.25}},
		{"k": map[string]any{"distribution": "q_uniform", "min": 8, "max": 40, "q": 8}, "a": map[string]any{"values": []any{"x", "y"}}},
	}
	var req []map[string]any
	for _, g := range grids {
		req = append(req, map[string]any{"parameters": g, "n": 100})
	}
	var resp struct {
		Grid [][]map[string]any `json:"grid"`
	}
	testutil.PythonJSON(t, "tests/reference/wandb_sweeps_reference.py", map[string]any{"grid": req}, &resp)
	for gi, g := range grids {
		s := &Spec{Method: Grid}
		if err := parseParameters("parameters", "", g, &s.Parameters); err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(s.Parameters, func(a, b *Parameter) int { return strings.Compare(a.Name, b.Name) })
		want := resp.Grid[gi]
		if s.NumRuns() != len(want) {
			t.Fatalf("grid %d: %d runs, W&B %d", gi, s.NumRuns(), len(want))
		}
		for i := range want {
			got, _ := s.Suggest(i, nil)
			if fmt.Sprint(got) != fmt.Sprint(want[i]) {
				t.Errorf("grid %d run %d: %v, W&B %v", gi, i, got, want[i])
			}
		}
	}
}

func TestGridRunCapAndInference(t *testing.T) {
	s := mustParse(t, "method: grid\nrun_cap: 4\nparameters:\n  lr: {values: [1, 2, 3]}\n  loss: {parameters: {scale: {values: [10, 20]}}}\n")
	if s.NumRuns() != 4 {
		t.Fatalf("run_cap 4: %d runs", s.NumRuns())
	}
	if names := s.ParameterNames(); !slices.Equal(names, []string{"loss.scale", "lr"}) {
		t.Errorf("names %v", names)
	}
	p, _ := s.Suggest(1, nil)
	if p["loss.scale"] != 10 || p["lr"] != 2 {
		t.Errorf("run 1: %v", p)
	}
}

func TestRandomIsAPureFunctionOfSeedAndIndex(t *testing.T) {
	spec := "method: random\nrun_cap: 50\nseed: 7\nparameters:\n  lr: {distribution: log_uniform_values, min: 1.0e-6, max: 1.0e-3}\n  bs: {values: [16, 32, 64]}\n  wd: {distribution: q_uniform, min: 0, max: 0.1, q: 0.01}\n"
	a, b := mustParse(t, spec), mustParse(t, spec)
	seen := map[string]bool{}
	for i := 49; i >= 0; i-- { // in any order
		pa, _ := a.Suggest(i, nil)
		pb, _ := b.Suggest(i, nil)
		if fmt.Sprint(pa) != fmt.Sprint(pb) {
			t.Fatalf("run %d: %v vs %v", i, pa, pb)
		}
		seen[fmt.Sprint(pa)] = true
		lr := pa["lr"].(float64)
		if lr < 1e-6 || lr > 1e-3 {
			t.Errorf("run %d: lr %g out of range", i, lr)
		}
	}
	if len(seen) < 45 {
		t.Errorf("only %d distinct draws of 50", len(seen))
	}
	other := mustParse(t, strings.Replace(spec, "seed: 7", "seed: 8", 1))
	p7, _ := a.Suggest(0, nil)
	p8, _ := other.Suggest(0, nil)
	if fmt.Sprint(p7) == fmt.Sprint(p8) {
		t.Errorf("seeds 7 and 8 drew the same run 0: %v", p7)
	}
	if _, err := a.Suggest(50, nil); err == nil {
		t.Error("run 50 of 50 should not exist")
	}
}

// TestBayesBeatsRandom runs the Bayesian optimizer on a known function (minimum 0 at lr = 1e-4, x = 0.3,
// batch 32) and checks that it gets close to the minimum, and closer than random search with as many
// runs: a stub that draws at random would not.
func TestBayesBeatsRandom(t *testing.T) {
	f := func(p map[string]any) float64 {
		lr, x := p["lr"].(float64), p["x"].(float64)
		bs := 0.0
		if p["bs"] != 32 {
			bs = 0.5
		}
		return math.Pow(math.Log10(lr)+4, 2) + 4*math.Pow(x-0.3, 2) + bs
	}
	spec := "method: %s\nrun_cap: 25\nseed: 3\nmetric: {name: loss}\nparameters:\n  lr: {distribution: log_uniform_values, min: 1.0e-7, max: 1.0e-1}\n  x: {min: 0.0, max: 1.0}\n  bs: {values: [16, 32, 64]}\n"
	best := map[string]float64{}
	for _, m := range []string{"bayes", "random"} {
		s := mustParse(t, fmt.Sprintf(spec, m))
		var obs []Observation
		best[m] = math.Inf(1)
		for i := 0; i < 25; i++ {
			p, err := s.Suggest(i, obs)
			if err != nil {
				t.Fatal(err)
			}
			y := f(p)
			best[m] = math.Min(best[m], y)
			obs = append(obs, Observation{Params: p, Status: StatusFinished, History: []float64{y}})
		}
		// The same observations give the same suggestion (deterministic).
		again, _ := s.Suggest(24, obs[:24])
		first, _ := s.Suggest(24, obs[:24])
		if fmt.Sprint(again) != fmt.Sprint(first) {
			t.Errorf("%s: two suggestions for run 24: %v, %v", m, again, first)
		}
	}
	t.Logf("best after 25 runs: bayes %.4f, random %.4f", best["bayes"], best["random"])
	if best["bayes"] > 0.1 || best["bayes"] >= best["random"] {
		t.Errorf("bayes found %.4f (random %.4f): it should get within 0.1 of the minimum and beat random", best["bayes"], best["random"])
	}
}

// TestHyperbandMatchesWandB replays the cases of wandb/sweeps' tests/test_hyperband_stopping.py at its
// current revision (the rule with strict, which W&B's PyPI release 0.2.0 predates): the bands, and
// which of the running runs each configuration stops when every run is compared with all the others.
func TestHyperbandMatchesWandB(t *testing.T) {
	parse := func(et string) *Hyperband {
		s := mustParse(t, "method: grid\nmetric: {name: loss}\nparameters: {a: {values: [1, 2, 3]}}\nearly_terminate: "+et+"\n")
		return s.EarlyTerminate
	}
	for _, c := range []struct {
		et    string
		bands []int
	}{
		{"{type: hyperband, min_iter: 3, eta: 3}", []int{3, 9, 27}},
		{"{type: hyperband, max_iter: 81, eta: 3, s: 3}", []int{3, 9, 27}},
		{"{type: hyperband, max_iter: 18, eta: 3, s: 2}", []int{2, 6}},
		{"{type: hyperband, max_iter: 9, eta: 3, s: 2}", []int{1, 3}},
		{"{type: hyperband, max_iter: 5, eta: 2, s: 2}", []int{1, 2}},
	} {
		if got := parse(c.et).Bands(); !slices.Equal(got[:min(len(got), 3)], c.bands) {
			t.Errorf("%s: bands %v, W&B %v", c.et, got, c.bands)
		}
	}
	stops := func(h *Hyperband, goal Goal, runs [][]float64, running []bool) []int {
		var out []int
		for i, own := range runs {
			if !running[i] {
				continue
			}
			var others [][]float64
			for j, o := range runs {
				if j != i {
					others = append(others, o)
				}
			}
			if h.Decide(goal, own, others).Stop {
				out = append(out, i)
			}
		}
		return out
	}
	ramp := []float64{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}
	for _, c := range []struct {
		name, et string
		goal     Goal
		runs     [][]float64
		running  []bool
		want     []int
	}{
		{"test_hyperband_min_iter_bands", "{type: hyperband, min_iter: 3, eta: 3}", Minimize,
			[][]float64{{10, 10, 10, 10}, ramp}, []bool{true, true}, []int{0}},
		{"test_hyperband_max_iter_bands", "{type: hyperband, max_iter: 81, eta: 3, s: 3}", Minimize,
			[][]float64{{10, 10, 10, 10}, ramp}, []bool{true, true}, []int{0}},
		{"test_init_from_max_iter", "{type: hyperband, max_iter: 18, eta: 3, s: 2}", Minimize,
			[][]float64{{10, 10, 10, 10}, ramp}, []bool{true, true}, []int{0}},
		{"test_single_run", "{type: hyperband, max_iter: 18, eta: 3, s: 2, strict: false}", Minimize,
			[][]float64{ramp}, []bool{true}, nil},
		{"test_2runs_band1_pass", "{type: hyperband, max_iter: 18, eta: 3, s: 2, strict: false}", Minimize,
			[][]float64{{10, 10, 6}, ramp}, []bool{true, true}, nil},
		{"test_5runs_band1_stop_2", "{type: hyperband, max_iter: 5, eta: 2, s: 2}", Minimize,
			[][]float64{{10, 9}, {10, 10}, {10, 8, 8}, {10, 7, 7}, {10, 6, 6}}, []bool{false, true, true, true, false}, []int{1}},
		{"test_5runs_band1_stop_2_1stnoband", "{type: hyperband, max_iter: 5, eta: 2, s: 2}", Minimize,
			[][]float64{{10}, {11}, {10, 8, 8}, {10, 7, 7}, {10, 6, 6}}, []bool{false, true, true, true, false}, []int{1, 2}},
		{"test_eta_3", "{type: hyperband, max_iter: 9, eta: 3, s: 2, strict: false}", Minimize,
			[][]float64{{9, 8}, {11, 11}, {10, 8, 3}, {10, 7, 4}, {10, 6, 6}}, []bool{false, true, true, true, true}, []int{1, 4}},
		{"test_eta_3_max", "{type: hyperband, max_iter: 9, eta: 3, s: 2, strict: false}", Maximize,
			[][]float64{{-10, -9}, {-11, -11}, {-10, -8, -5, -3}, {-10, -6, -2}, {-10, -6, -6, -6}}, []bool{false, true, true, true, true}, []int{1, 4}},
	} {
		if got := stops(parse(c.et), c.goal, c.runs, c.running); !slices.Equal(got, c.want) {
			t.Errorf("%s: stopped %v, W&B %v", c.name, got, c.want)
		}
	}
	h := parse("{type: hyperband, max_iter: 9, eta: 3, s: 2}")
	if !h.Strict {
		t.Fatal("strict should default to true")
	}
	d := h.Decide(Minimize, []float64{10, 5, 5, 5}, [][]float64{{10, 9, 9, 9}, {10, 4, 4, 4}, {10, 3, 3, 3}})
	if !d.Stop || d.Band != 3 || d.Threshold != 4 || d.Compared != 4 {
		t.Errorf("decision %+v: want stop at band 3 against threshold 4 of 4 runs", d)
	}
	if h.Decide(Minimize, []float64{10}, nil).Stop {
		t.Error("a run alone at band 1 is never stopped")
	}
}
