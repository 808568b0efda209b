package trainlib

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/embedtune/embedtune/internal/atomicio"
	"github.com/embedtune/embedtune/trainlib/datasets"
	"github.com/embedtune/embedtune/trainlib/model"
	"github.com/embedtune/embedtune/trainlib/sweep"
	"gopkg.in/yaml.v3"
)

// Sweep is a hyperparameter sweep: runs of one run config (the base, what `embedtune train --config`
// reads) with parameters chosen by a Weights & Biases sweep spec (package sweep), trained one after the
// other — or by several processes sharing the output folder (RunIndex, `embedtune sweep --index`).
//
// Folder layout, under output_dir (the base run config's args.output_dir):
//
//	sweep.yaml                  the spec and the base run config (a different sweep here is an error)
//	runs/<run-id>/              each run's output_dir: checkpoints, trainer_state.json, the final model
//	runs/<run-id>/sweep_run.json    the run's record once it ended (the row of the results table)
//	results.json, results.csv   the results table (rebuilt from the runs' records by every report)
//	best/                       the best run's model, a sentence-transformers folder
//
// Run i of the sweep is a pure function of the spec, its seed and i: its parameters come from
// sweep.Spec.Suggest, its training is deterministic and resumes bit-identically from checkpoints, and
// early termination compares it only with runs 0..i-1 (see sweep.Hyperband). So a sweep killed at any
// moment and started again skips the runs that ended, resumes the interrupted one from its newest
// checkpoint, and ends with the same results table; and runs executed by different processes give
// the table one process gives. Each run is locked (internal/lockfile) while a process trains it, so
// no run is trained twice at once. A run that fails — diverges, runs out of memory, errors — is
// recorded as failed with its reason, and the sweep goes on.
//
// Runs share compiled graphs (GraphCache): a sweep over learning rates compiles its training graph
// once; scalars such as weight decay, the loss's scale and lora_alpha are graph inputs too.
type Sweep struct {
	Spec *sweep.Spec
	// Base is the run config every run starts from; OutputDir holds the sweep (see Sweep).
	Base      *RunConfig
	OutputDir string

	base      map[string]any // Base as a mapping, output_dir removed
	paths     map[string][]string
	graphs    *GraphCache
	progress  SweepCallback
	cbs       []SweepCallback
	modelOpts []model.Option
	logw      io.Writer
	poll      time.Duration

	dataMu sync.Mutex
	data   map[string]*datasets.Dataset
}

// SweepOption configures NewSweep.
type SweepOption func(*Sweep)

// WithSweepCallbacks adds observers of the sweep (called after the progress display, if any).
func WithSweepCallbacks(cbs ...SweepCallback) SweepOption {
	return func(s *Sweep) { s.cbs = append(s.cbs, cbs...) }
}

// WithSweepOutputDir puts the sweep in dir instead of the base run config's output_dir.
func WithSweepOutputDir(dir string) SweepOption { return func(s *Sweep) { s.OutputDir = dir } }

// WithSweepLog sends the sweep's messages (a line per run, waits, resumptions) and the model loader's
// to w instead of os.Stderr; nil silences them.
func WithSweepLog(w io.Writer) SweepOption { return func(s *Sweep) { s.logw = w } }

// WithSweepGraphCache makes the sweep's runs share c (default: a cache of the sweep's own).
func WithSweepGraphCache(c *GraphCache) SweepOption { return func(s *Sweep) { s.graphs = c } }

// SweepCallback observes a sweep, as Callback observes a Trainer: the notebook's live view attaches
// through it (display.AttachSweepProgress). Embed BaseSweepCallback to implement only some methods.
type SweepCallback interface {
	// OnSweepBegin receives the indices of the runs this Run call may train.
	OnSweepBegin(s *Sweep, runs []int)
	// OnRunBegin runs when a run starts or resumes training; OnRunLog receives its log entries (its
	// earlier ones first, when resumed).
	OnRunBegin(s *Sweep, run SweepRunInfo)
	OnRunLog(s *Sweep, run SweepRunInfo, entry map[string]float64)
	// OnRunEnd receives a run's row and log history when it ends, or when Run finds it already ended.
	OnRunEnd(s *Sweep, row sweep.Row, history []map[string]float64)
	OnSweepEnd(s *Sweep, res *sweep.Results)
}

// BaseSweepCallback implements SweepCallback with methods that do nothing.
type BaseSweepCallback struct{}

func (BaseSweepCallback) OnSweepBegin(*Sweep, []int)                        {}
func (BaseSweepCallback) OnRunBegin(*Sweep, SweepRunInfo)                   {}
func (BaseSweepCallback) OnRunLog(*Sweep, SweepRunInfo, map[string]float64) {}
func (BaseSweepCallback) OnRunEnd(*Sweep, sweep.Row, []map[string]float64)  {}
func (BaseSweepCallback) OnSweepEnd(*Sweep, *sweep.Results)                 {}

// SweepRunInfo identifies a run of a sweep.
type SweepRunInfo struct {
	ID       string         // run id: its folder name under output_dir/runs/
	Index    int            // 0-based
	Params   map[string]any // the swept parameters' values
	MaxSteps int
	Label    string // the id and the parameters, for legends
}

// SetLog sends the sweep's messages to w (nil silences them), like WithSweepLog; a notebook's progress
// display (display.AttachSweepProgress) shows the same information and silences them.
func (s *Sweep) SetLog(w io.Writer) { s.logw = w }

// SetProgress installs cb as the sweep's progress display, called before the other callbacks
// (display.AttachSweepProgress uses it); a second call replaces the first.
func (s *Sweep) SetProgress(cb SweepCallback) { s.progress = cb }

// callbacks returns the progress display followed by the other callbacks.
func (s *Sweep) callbacks() []SweepCallback {
	var out []SweepCallback
	if s.progress != nil {
		out = append(out, s.progress)
	}
	return append(out, s.cbs...)
}

// runConfigKeys are the top-level keys of a run config, the roots of parameter paths.
var runConfigKeys = []string{"model", "train_dataset", "eval_dataset", "loss", "evaluator", "lora", "args"}

// sweepOwnedArgs are the training arguments a sweep sets for each run.
var sweepOwnedArgs = []string{"output_dir", "overwrite_output_dir", "run_name"}

// parameterPath maps a sweep parameter name to its path in the run config: "model", a dotted path
// under one of the run config's keys ("loss.scale", "lora.r", "train_dataset.source",
// "args.learning_rate"), or the bare name of a training argument ("learning_rate").
func parameterPath(name string) ([]string, error) {
	parts := strings.Split(name, ".")
	switch {
	case parts[0] == "model" && len(parts) > 1:
		return nil, fmt.Errorf("parameter %q: model is a folder or Hub id, it has no sub-keys", name)
	case slices.Contains(runConfigKeys, parts[0]):
		if parts[0] == "args" && len(parts) == 2 && !IsTrainingArgument(parts[1]) {
			return nil, fmt.Errorf("parameter %q: %q is not a training argument", name, parts[1])
		}
	case len(parts) == 1 && IsTrainingArgument(name):
		parts = []string{"args", name}
	default:
		return nil, fmt.Errorf("parameter %q is neither a training argument nor a path into the run config (%s, e.g. loss.scale, lora.r, train_dataset.source, args.learning_rate)",
			name, strings.Join(runConfigKeys, ", "))
	}
	if parts[0] == "args" && len(parts) == 2 && slices.Contains(sweepOwnedArgs, parts[1]) {
		return nil, fmt.Errorf("parameter %q: the sweep sets %s for each run (output_dir/runs/<run-id>)", name, parts[1])
	}
	if parts[0] == "args" && len(parts) > 2 {
		return nil, fmt.Errorf("parameter %q: training arguments have no sub-keys", name)
	}
	return parts, nil
}

// LoadSweep reads a sweep spec file and its base run config: the file named by its program key
// (relative to the spec's folder), or its inline run key.
func LoadSweep(path string, opts ...SweepOption) (*Sweep, error) {
	spec, err := sweep.ParseFile(path)
	if err != nil {
		return nil, err
	}
	var base *RunConfig
	switch {
	case spec.Run != nil:
		if base, err = RunConfigFromMap(path+": run", spec.Run); err != nil {
			return nil, err
		}
	case spec.Program != "":
		p := spec.Program
		if !filepath.IsAbs(p) {
			p = filepath.Join(filepath.Dir(path), p)
		}
		if base, err = LoadRunConfig(p); err != nil {
			return nil, fmt.Errorf("%s: program: %w", path, err)
		}
	default:
		return nil, fmt.Errorf("%s: name the run config every run starts from with program: run.yaml (a file, as embedtune train --config reads) or give it inline under run:", path)
	}
	return NewSweep(base, spec, opts...)
}

// sweepFile is the record of the sweep in its output folder.
const sweepFile = "sweep.yaml"

// OpenSweep reopens the sweep stored in dir (its sweep.yaml), e.g. to report on it.
func OpenSweep(dir string, opts ...SweepOption) (*Sweep, error) {
	path := filepath.Join(dir, sweepFile)
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s holds no sweep (no %s): give the folder a sweep ran in", dir, sweepFile)
		}
		return nil, err
	}
	var stored struct {
		Spec map[string]any `yaml:"spec"`
		Run  map[string]any `yaml:"run"`
	}
	if err := yaml.Unmarshal(data, &stored); err != nil || stored.Spec == nil || stored.Run == nil {
		return nil, fmt.Errorf("%s: not a sweep record (expected spec and run; %v)", path, err)
	}
	specData, err := yaml.Marshal(stored.Spec)
	if err != nil {
		return nil, err
	}
	spec, err := sweep.Parse(path+": spec", specData)
	if err != nil {
		return nil, err
	}
	args, _ := stored.Run["args"].(map[string]any)
	if args == nil {
		args = map[string]any{}
		stored.Run["args"] = args
	}
	args["output_dir"] = dir
	base, err := RunConfigFromMap(path+": run", stored.Run)
	if err != nil {
		return nil, err
	}
	return NewSweep(base, spec, opts...)
}

// NewSweep checks a sweep before anything runs: every parameter must name a setting of the run
// config, and its values (every categorical choice, the ends of every range) must make a valid run
// config; errors name the parameter and the value.
func NewSweep(base *RunConfig, spec *sweep.Spec, opts ...SweepOption) (*Sweep, error) {
	if base == nil || spec == nil {
		return nil, errors.New("NewSweep: the base run config and the spec are required")
	}
	s := &Sweep{Spec: spec, Base: base, graphs: nil, logw: os.Stderr, poll: time.Second, paths: map[string][]string{},
		data: map[string]*datasets.Dataset{}}
	if out, ok := base.Args["output_dir"].(string); ok {
		s.OutputDir = out
	}
	for _, o := range opts {
		o(s)
	}
	if s.OutputDir == "" {
		return nil, errors.New("NewSweep: the base run config has no args.output_dir (the sweep's folder); set it or use WithSweepOutputDir")
	}
	if s.graphs == nil {
		s.graphs = NewGraphCache()
	}
	m, err := base.Map()
	if err != nil {
		return nil, fmt.Errorf("NewSweep: %w", err)
	}
	args, _ := m["args"].(map[string]any)
	for _, k := range sweepOwnedArgs {
		delete(args, k)
	}
	s.base = m
	for _, p := range spec.Parameters {
		path, err := parameterPath(p.Name)
		if err != nil {
			return nil, err
		}
		s.paths[p.Name] = path
	}
	if err := s.checkParameters(); err != nil {
		return nil, err
	}
	return s, nil
}

// checkParameters builds the run config with each parameter's probe values (the others at their
// first probe value) and checks it.
func (s *Sweep) checkParameters() error {
	probes := s.Spec.ProbeValues()
	first := map[string]any{}
	for name, vs := range probes {
		first[name] = vs[0]
	}
	rc, err := s.runConfig("probe", first)
	if err == nil {
		err = rc.Check()
	}
	if err != nil {
		return fmt.Errorf("sweep parameters at their first values (%s): %w", sweep.Label(first, s.Spec.ParameterNames()), err)
	}
	for _, name := range s.Spec.ParameterNames() {
		for _, v := range probes[name] {
			params := maps.Clone(first)
			params[name] = v
			rc, err := s.runConfig("probe", params)
			if err == nil {
				err = rc.Check()
			}
			if err != nil {
				return fmt.Errorf("sweep parameter %q = %s: %w", name, sweep.FormatValue(v), err)
			}
		}
	}
	if s.Spec.MetricSet {
		a, _ := TrainingArgumentsFromMap("args", s.Base.Args)
		_, swept := s.paths["eval_strategy"]
		name := s.Spec.Metric.Name
		if !swept && (a.EvalStrategy == "" || a.EvalStrategy == IntervalStrategyNo) && name != "loss" && name != "train_loss" {
			return fmt.Errorf("metric %q is logged by evaluations, but the run config does not evaluate: set args.eval_strategy (and eval_steps) and an evaluator or eval_dataset", name)
		}
	}
	return nil
}

// runConfig applies params to the base run config; id names the run (its folder under runs/).
func (s *Sweep) runConfig(id string, params map[string]any) (*RunConfig, error) {
	m, err := deepCopy(s.base)
	if err != nil {
		return nil, err
	}
	for _, name := range slices.Sorted(maps.Keys(params)) {
		if err := setPath(m, s.paths[name], params[name]); err != nil {
			return nil, fmt.Errorf("sweep parameter %q: %w", name, err)
		}
	}
	args, _ := m["args"].(map[string]any)
	if args == nil {
		args = map[string]any{}
		m["args"] = args
	}
	args["output_dir"] = filepath.Join(s.OutputDir, "runs", id)
	args["run_name"] = id
	rc, err := RunConfigFromMap("run "+id, m)
	if err != nil {
		return nil, err
	}
	return rc, nil
}

// setPath sets m[path[0]][path[1]]… = v, creating mappings on the way.
func setPath(m map[string]any, path []string, v any) error {
	for i, k := range path[:len(path)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			if m[k] != nil {
				return fmt.Errorf("%s is %v, not a mapping", strings.Join(path[:i+1], "."), m[k])
			}
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	m[path[len(path)-1]] = v
	return nil
}

// deepCopy copies a decoded YAML mapping.
func deepCopy(m map[string]any) (map[string]any, error) {
	data, err := yaml.Marshal(m)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	return out, yaml.Unmarshal(data, &out)
}

// record returns the sweep's record (sweep.yaml): the spec as parsed from its source and the base run
// config without its output folder.
func (s *Sweep) record() ([]byte, error) {
	var spec map[string]any
	if s.Spec.Source == nil {
		return nil, errors.New("the sweep spec was not read from a file (sweep.Parse keeps the source)")
	}
	spec = s.Spec.Source
	return yaml.Marshal(map[string]any{"spec": spec, "run": s.base})
}

// claimFolder writes sweep.yaml, or checks that the one there describes this sweep.
func (s *Sweep) claimFolder() error {
	rec, err := s.record()
	if err != nil {
		return err
	}
	path := filepath.Join(s.OutputDir, sweepFile)
	old, err := os.ReadFile(path)
	switch {
	case err == nil:
		if string(old) != string(rec) {
			return fmt.Errorf("%s holds another sweep (its %s differs from this spec and run config): use another output_dir, or delete the folder to start over", s.OutputDir, sweepFile)
		}
		return nil
	case !errors.Is(err, os.ErrNotExist):
		return err
	}
	if err := os.MkdirAll(filepath.Join(s.OutputDir, "runs"), 0o755); err != nil {
		return err
	}
	return atomicio.WriteFile(path, rec, 0o644)
}

// NumRuns returns the number of runs.
func (s *Sweep) NumRuns() int { return s.Spec.NumRuns() }

// RunID returns the id of run i: "run-007" (zero-padded to the sweep's size, at least 3 digits).
func (s *Sweep) RunID(i int) string {
	w := max(3, len(fmt.Sprint(max(s.NumRuns()-1, 0))))
	return fmt.Sprintf("run-%0*d", w, i)
}

// runDir is run i's output folder.
func (s *Sweep) runDir(i int) string { return filepath.Join(s.OutputDir, "runs", s.RunID(i)) }

// logf writes a message of the sweep.
func (s *Sweep) logf(format string, a ...any) {
	if s.logw != nil {
		fmt.Fprintf(s.logw, "embedtune sweep: "+format+"\n", a...)
	}
}

// SweepRunOption configures Run.
type SweepRunOption func(*sweepCall)

type sweepCall struct{ only int }

// RunIndex makes Run train only run i (0-based), as `embedtune sweep --index i`, a Kubernetes Indexed
// Job's pod or a Slurm array task does; runs 0..i-1 must end first when run i depends on them (bayes,
// early_terminate, metric.target), and the call waits for them.
func RunIndex(i int) SweepRunOption { return func(c *sweepCall) { c.only = i } }

// ErrSweepInterrupted is returned (wrapped) by Run when its context is cancelled: the run in progress
// wrote a checkpoint, and running the sweep again resumes it.
var ErrSweepInterrupted = errors.New("sweep interrupted")

// Run trains the sweep's runs that have not ended, in order, and returns the results table (also
// written as results.json and results.csv, with the best model in best/). Runs that another process
// is training are skipped and, at the end, waited for (and taken over if that process died). With
// RunIndex, only that run is trained.
func (s *Sweep) Run(ctx context.Context, opts ...SweepRunOption) (*sweep.Results, error) {
	call := sweepCall{only: -1}
	for _, o := range opts {
		o(&call)
	}
	n := s.NumRuns()
	if call.only >= n {
		return nil, fmt.Errorf("sweep: run index %d is out of range: the sweep has %d runs (0..%d)", call.only, n, n-1)
	}
	if err := s.claimFolder(); err != nil {
		return nil, err
	}
	indices := make([]int, 0, n)
	if call.only >= 0 {
		indices = append(indices, call.only)
	} else {
		for i := 0; i < n; i++ {
			indices = append(indices, i)
		}
	}
	for _, cb := range s.callbacks() {
		cb.OnSweepBegin(s, indices)
	}
	var held []int
	for _, i := range indices {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("%w before %s: %v", ErrSweepInterrupted, s.RunID(i), err)
		}
		done, err := s.runOne(ctx, i, call.only >= 0)
		if err != nil {
			return nil, err
		}
		if !done {
			held = append(held, i)
		}
	}
	for _, i := range held { // Runs another process held: wait for them, take them over if it died.
		if _, err := s.runOne(ctx, i, true); err != nil {
			return nil, err
		}
	}
	res, err := s.Report(ctx)
	if err != nil {
		return nil, err
	}
	for _, cb := range s.callbacks() {
		cb.OnSweepEnd(s, res)
	}
	return res, nil
}
