package sweep

import (
	"bytes"
	"fmt"
	"maps"
	"math"
	"os"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/embedtune/embedtune/internal/num"
)

//go:generate go run github.com/embedtune/embedtune/internal/enumgen -type Method -setting method -unsupported custom
//go:generate go run github.com/embedtune/embedtune/internal/enumgen -type Goal -setting metric.goal

// Method is the search strategy (W&B's "method").
type Method string

// The search methods.
const (
	// Grid runs every combination of the parameters' grid values, names in sorted order with the last
	// name varying fastest (W&B's itertools.product over sorted names).
	Grid Method = "grid"
	// Random draws every parameter independently from its distribution; run i draws from a random
	// stream seeded by (seed, i).
	Random Method = "random"
	// Bayes is Bayesian optimization with a Gaussian process (see Spec.Suggest).
	Bayes Method = "bayes"
)

// Goal says whether the metric is to be minimized or maximized (W&B's metric.goal).
type Goal string

// The goals.
const (
	Minimize Goal = "minimize"
	Maximize Goal = "maximize"
)

// Metric is the metric the sweep optimizes (W&B's "metric").
type Metric struct {
	// Name is a key of the runs' log history, e.g. "eval_loss" or "eval_dev_cosine_ndcg@10" (a name
	// without the "eval_" prefix also matches the evaluation metric, as metric_for_best_model does).
	Name string `json:"name"`
	Goal Goal   `json:"goal"` // default minimize
	// Target, when set, ends the sweep early: runs after one whose final metric reaches the target
	// are skipped.
	Target *float64 `json:"target,omitempty"`
	// Impute is the value Bayes uses for failed runs: "worst" (default), "best" or "latest".
	Impute string `json:"impute"`
}

// Better reports whether metric value a is better than b under the goal.
func (m Metric) Better(a, b float64) bool {
	if m.Goal == Maximize {
		return a > b
	}
	return a < b
}

// Reached reports whether v reaches the target (false without one).
func (m Metric) Reached(v float64) bool {
	if m.Target == nil {
		return false
	}
	if m.Goal == Maximize {
		return v >= *m.Target
	}
	return v <= *m.Target
}

// Spec is a hyperparameter sweep in the Weights & Biases sweep configuration schema
// (https://docs.wandb.ai/guides/sweeps/sweep-config-keys), read by Parse:
//
//	program: run.yaml            # the run config every run starts from (embedtune train --config)
//	method: grid                 # grid | random | bayes
//	metric: {name: eval_dev_cosine_ndcg@10, goal: maximize}
//	parameters:
//	  learning_rate: {values: [1.0e-5, 3.0e-5, 1.0e-4]}
//	  per_device_train_batch_size: {values: [16, 32]}
//	  loss: {parameters: {scale: {min: 10, max: 40}}}      # nested: the run config's loss.scale
//	early_terminate: {type: hyperband, min_iter: 2, eta: 3}
//	run_cap: 12
//
// Parameter names are paths into the run config (see the package documentation). The keys W&B
// uses to reach its servers or launch programs (command, controller, job, scheduler, ...) are
// refused with the reason; entity and project are kept as labels.
type Spec struct {
	Name, Description string
	Entity, Project   string
	Method            Method
	Metric            Metric
	// MetricSet tells whether the file had a metric section (without one, the caller picks a default).
	MetricSet  bool
	Parameters []*Parameter // sorted by name
	// EarlyTerminate, when set, stops bad runs early (see Hyperband).
	EarlyTerminate *Hyperband
	// RunCap is the maximum number of runs (0: every grid point; required by random and bayes).
	RunCap int
	// Seed seeds random and Bayesian suggestions (embedtune's "seed" key; default 0).
	Seed uint64
	// Program is the path of the run config every run starts from (W&B's program, relative to the
	// spec file's folder), and Run an inline run config instead (embedtune's "run" key).
	Program string
	Run     map[string]any
	// Source is the decoded file the spec was parsed from.
	Source map[string]any
}

// ParseFile reads a sweep spec from a YAML or JSON file.
func ParseFile(path string) (*Spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse reads a sweep spec from YAML or JSON; name labels errors (e.g. the file name). Unknown keys
// and impossible ranges are errors naming the key.
func Parse(name string, data []byte) (*Spec, error) {
	var raw map[string]any
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("%s: not a YAML or JSON mapping: %w", name, err)
	}
	if raw == nil {
		return nil, fmt.Errorf("%s: empty sweep spec", name)
	}
	s, err := fromMap(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return s, nil
}

// refusedKeys are W&B keys that have no meaning here, with the reason.
var refusedKeys = map[string]string{
	"command":    "it is W&B's command line for launching program; embedtune runs the run config named by program itself",
	"controller": "there is no W&B controller: the sweep runs locally or as indexed jobs (embedtune sweep --index)",
	"job":        "W&B Launch jobs are not used: name the run config with program",
	"image_uri":  "W&B Launch is not used: name the run config with program",
	"scheduler":  "external W&B schedulers (Optuna, Ax) are not supported: use method grid, random or bayes",
	"metrics":    "multi-objective sweeps are not supported: give one metric",
	"kind":       "it belongs to W&B's Kubernetes operator; remove it",
	"apiVersion": "it belongs to W&B's Kubernetes operator; remove it",
}

// topKeys are the accepted top-level keys.
var topKeys = []string{"name", "description", "entity", "project", "method", "metric", "parameters", "early_terminate", "run_cap", "program", "run", "seed"}

func fromMap(raw map[string]any) (*Spec, error) {
	s := &Spec{Metric: Metric{Goal: Minimize, Impute: "worst"}, Source: raw}
	for _, k := range slices.Sorted(maps.Keys(raw)) {
		if why, ok := refusedKeys[k]; ok {
			return nil, fmt.Errorf("%q is not supported: %s", k, why)
		}
		if !slices.Contains(topKeys, k) {
			return nil, fmt.Errorf("unknown key %q (a sweep spec has %s)", k, strings.Join(topKeys, ", "))
		}
	}
	str := func(k string) (string, error) {
		v, ok := raw[k]
		if !ok {
			return "", nil
		}
		x, ok := v.(string)
		if !ok {
			return "", fmt.Errorf("%s: expected a string, got %s", k, describe(v))
		}
		return x, nil
	}
	var err error
	for _, f := range []struct {
		key string
		dst *string
	}{{"name", &s.Name}, {"description", &s.Description}, {"entity", &s.Entity}, {"project", &s.Project}, {"program", &s.Program}} {
		if *f.dst, err = str(f.key); err != nil {
			return nil, err
		}
	}
	m, err := str("method")
	if err != nil {
		return nil, err
	}
	if m == "" {
		return nil, fmt.Errorf("method is required: grid, random or bayes")
	}
	if s.Method, err = ParseMethod(m); err != nil {
		return nil, err
	}
	if r, ok := raw["run"]; ok {
		rm, ok := r.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("run: expected a run config mapping (model, train_dataset, args, ...), got %s", describe(r))
		}
		s.Run = rm
	}
	if s.Program != "" && s.Run != nil {
		return nil, fmt.Errorf("give the run config either as program (a file) or as run (inline), not both")
	}
	if v, ok := raw["seed"]; ok {
		n, ok := v.(int)
		if !ok || n < 0 {
			return nil, fmt.Errorf("seed: expected a whole number ≥ 0, got %s", describe(v))
		}
		s.Seed = uint64(n)
	}
	if v, ok := raw["run_cap"]; ok {
		n, ok := v.(int)
		if !ok || n <= 0 {
			return nil, fmt.Errorf("run_cap: expected a whole number > 0, got %s", describe(v))
		}
		s.RunCap = n
	}
	if v, ok := raw["metric"]; ok {
		if err := s.parseMetric(v); err != nil {
			return nil, err
		}
	}
	p, ok := raw["parameters"]
	if !ok {
		return nil, fmt.Errorf("parameters is required: the settings to sweep, e.g. parameters: {learning_rate: {values: [1.0e-5, 1.0e-4]}}")
	}
	if err := parseParameters("parameters", "", p, &s.Parameters); err != nil {
		return nil, err
	}
	slices.SortFunc(s.Parameters, func(a, b *Parameter) int { return strings.Compare(a.Name, b.Name) })
	for i := 1; i < len(s.Parameters); i++ {
		if s.Parameters[i].Name == s.Parameters[i-1].Name {
			return nil, fmt.Errorf("parameters: %q is given twice (as a dotted name and nested)", s.Parameters[i].Name)
		}
	}
	if v, ok := raw["early_terminate"]; ok {
		if s.EarlyTerminate, err = parseHyperband(v); err != nil {
			return nil, err
		}
	}
	return s, s.check()
}

func (s *Spec) parseMetric(v any) error {
	m, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("metric: expected a mapping {name, goal}, got %s", describe(v))
	}
	known := []string{"name", "goal", "target", "impute", "impute_while_running"}
	if extra := otherKeys(m, known...); len(extra) > 0 {
		return fmt.Errorf("metric: unknown key %q (metric has %s)", extra[0], strings.Join(known, ", "))
	}
	s.MetricSet = true
	name, ok := m["name"].(string)
	if !ok || name == "" {
		return fmt.Errorf("metric.name: expected the name of a logged metric (e.g. eval_loss), got %s", describe(m["name"]))
	}
	s.Metric.Name = name
	if g, ok := m["goal"]; ok {
		gs, ok := g.(string)
		if !ok {
			return fmt.Errorf("metric.goal: expected minimize or maximize, got %s", describe(g))
		}
		goal, err := ParseGoal(gs)
		if err != nil {
			return err
		}
		s.Metric.Goal = goal
	}
	if t, ok := m["target"]; ok {
		f, ok := num.Float(t)
		if !ok || math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("metric.target: expected a number, got %s", describe(t))
		}
		s.Metric.Target = &f
	}
	if im, ok := m["impute"]; ok {
		is, _ := im.(string)
		if is != "worst" && is != "best" && is != "latest" {
			return fmt.Errorf("metric.impute: expected worst, best or latest, got %s", describe(im))
		}
		s.Metric.Impute = is
	}
	if iw, ok := m["impute_while_running"]; ok && iw != "false" && iw != false {
		return fmt.Errorf("metric.impute_while_running %v is not supported: a Bayesian suggestion waits for the earlier runs to end, so no run is ever in flight (remove the key or set it to \"false\")", iw)
	}
	return nil
}

// check validates the combination of settings.
func (s *Spec) check() error {
	searchable := 0
	for _, p := range s.Parameters {
		if p.Searchable() {
			searchable++
		}
	}
	switch s.Method {
	case Grid:
		for _, p := range s.Parameters {
			if _, err := p.GridValues(); err != nil {
				return fmt.Errorf("method grid: %w", err)
			}
		}
	case Random, Bayes:
		if s.RunCap == 0 {
			return fmt.Errorf("method %s needs run_cap, the number of runs (W&B keeps drawing until stopped; embedtune runs exactly run_cap)", s.Method)
		}
	}
	if s.Method == Bayes {
		if !s.MetricSet {
			return fmt.Errorf("method bayes needs a metric to optimize (metric: {name: ..., goal: ...})")
		}
		if searchable == 0 {
			return fmt.Errorf("method bayes needs at least one parameter that is not a constant")
		}
	}
	if s.EarlyTerminate != nil && !s.MetricSet {
		return fmt.Errorf("early_terminate needs a metric (metric: {name: ..., goal: ...}) to compare runs on")
	}
	if s.Metric.Target != nil && !s.MetricSet {
		return fmt.Errorf("metric.target needs metric.name")
	}
	return nil
}

// Parameter returns the parameter of that name, or nil.
func (s *Spec) Parameter(name string) *Parameter {
	for _, p := range s.Parameters {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// ParameterNames returns the parameters' names, sorted.
func (s *Spec) ParameterNames() []string {
	out := make([]string, len(s.Parameters))
	for i, p := range s.Parameters {
		out[i] = p.Name
	}
	return out
}

// ProbeValues returns, per parameter, values to check against the run config before running:
// every categorical choice, the ends of bounded ranges, the mean of unbounded ones.
func (s *Spec) ProbeValues() map[string][]any {
	out := map[string][]any{}
	for _, p := range s.Parameters {
		out[p.Name] = p.probeValues()
	}
	return out
}
