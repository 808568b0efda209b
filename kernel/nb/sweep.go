package nb

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/embedtune/embedtune/internal/atomicio"
	"github.com/embedtune/embedtune/kernel/display"
	"github.com/embedtune/embedtune/trainlib"
	"github.com/embedtune/embedtune/trainlib/backend"
	"github.com/embedtune/embedtune/trainlib/sweep"
)

// SweepConfig holds the settings of the sweep notebook (notebooks/03_hyperparameter_sweep.ipynb), each
// overridable from the environment (see SweepSettings).
type SweepConfig struct {
	Model    string // EMBEDTUNE_MODEL: Hub id or sentence-transformers folder
	Dataset  string // EMBEDTUNE_DATASET: Hub id, a local file or folder with question and context columns, or a SQuAD JSON file
	MaxSteps int    // EMBEDTUNE_SWEEP_MAX_STEPS: optimizer steps per run
	Dir      string // EMBEDTUNE_SWEEP_DIR: the sweep's folder, absolute
}

// SweepSettings reads the sweep notebook's settings from the environment:
//
//	EMBEDTUNE_MODEL            all-MiniLM-L6-v2 fetched by scripts/fetch_weights.sh (ModelsDir)
//	EMBEDTUNE_DATASET          SQuAD v1.1 dev from the shared data folder (../shared/data beside the
//	                           checkout, $EMBEDTUNE_SHARED_DATA) when it is there, else dipanjanS/india_rag_wikidata
//	EMBEDTUNE_SWEEP_MAX_STEPS  30
//	EMBEDTUNE_SWEEP_DIR        sweep-minilm (relative to the notebook's folder)
//
// A setting that does not parse is shown as the cell's error (see Must) in every cell that uses it.
func SweepSettings() *SweepConfig { return Must(SweepSettingsFrom(os.Getenv)) }

// SweepSettingsFrom is SweepSettings with another source of environment variables.
func SweepSettingsFrom(getenv func(string) string) (*SweepConfig, error) {
	env := func(k, def string) string {
		if v := strings.TrimSpace(getenv(k)); v != "" {
			return v
		}
		return def
	}
	c := &SweepConfig{Model: env("EMBEDTUNE_MODEL", ""), Dataset: env("EMBEDTUNE_DATASET", "")}
	if c.Model == "" {
		c.Model = filepath.Join(ModelsDir(getenv), "all-MiniLM-L6-v2")
	}
	if c.Dataset == "" {
		c.Dataset = TutorialDataset
		if p, err := sharedSQuAD(getenv); err == nil {
			c.Dataset = p
		}
	}
	var err error
	if c.MaxSteps, err = positiveInt(getenv, "EMBEDTUNE_SWEEP_MAX_STEPS", 30); err != nil {
		return nil, err
	}
	c.Dir = absPath(env("EMBEDTUNE_SWEEP_DIR", "sweep-minilm"))
	return c, nil
}

// Path joins elem to the sweep's folder: cfg.Path("data", "train.jsonl").
func (c *SweepConfig) Path(elem ...string) string {
	return filepath.Join(append([]string{c.Dir}, elem...)...)
}

// HTML shows the settings, each with the variable that overrides it, and the compute backend.
func (c *SweepConfig) HTML() string {
	engine := "unavailable"
	if b, err := backend.Default(); err == nil {
		engine = backend.Describe(b)
	} else {
		engine = err.Error()
	}
	return display.NewSummary("Sweep settings").
		Add("Model (EMBEDTUNE_MODEL)", c.Model).
		Add("Dataset (EMBEDTUNE_DATASET)", c.Dataset).
		Add("Steps per run (EMBEDTUNE_SWEEP_MAX_STEPS)", c.MaxSteps).
		Add("Sweep folder (EMBEDTUNE_SWEEP_DIR)", c.Dir).
		Add("Compute backend", engine).HTML()
}

// Expand replaces $model, $dataset, $max_steps and $dir (or ${model}, ...) in a YAML text — a run
// config such as
//
//	model: $model
//	train_dataset: {source: $dir/data/train.jsonl, columns: [question, context]}
//	args: {output_dir: $dir, max_steps: $max_steps}
//
// with the settings. Other names, and settings YAML would read as something else (a path with a
// comma, a brace, a quote, ": " or " #"), are errors that say so.
func (c *SweepConfig) Expand(text string) (string, error) {
	vars := map[string]struct{ value, env string }{
		"model": {c.Model, "EMBEDTUNE_MODEL"}, "dataset": {c.Dataset, "EMBEDTUNE_DATASET"},
		"max_steps": {strconv.Itoa(c.MaxSteps), "EMBEDTUNE_SWEEP_MAX_STEPS"}, "dir": {c.Dir, "EMBEDTUNE_SWEEP_DIR"},
	}
	var errs []string
	out := os.Expand(text, func(name string) string {
		v, ok := vars[name]
		switch {
		case !ok:
			names := make([]string, 0, len(vars))
			for k := range vars {
				names = append(names, "$"+k)
			}
			sort.Strings(names)
			errs = append(errs, fmt.Sprintf("$%s is not a setting (expected one of %s)", name, strings.Join(names, ", ")))
		case !yamlPlain(v.value):
			errs = append(errs, fmt.Sprintf("%s=%q cannot be written unquoted in YAML: use a value without , [ ] { } quotes, backslashes, \": \" or \" #\"", v.env, v.value))
		}
		return v.value
	})
	if len(errs) > 0 {
		return "", errors.New("expanding the settings in a YAML text: " + strings.Join(errs, "; "))
	}
	return out, nil
}

// yamlPlain reports whether s reads back as itself in a YAML plain scalar, in block and flow context.
func yamlPlain(s string) bool {
	if s == "" || s != strings.TrimSpace(s) || strings.Contains(s, ": ") || strings.Contains(s, " #") || strings.HasSuffix(s, ":") {
		return false
	}
	if strings.ContainsRune("-?:!&*|>%@`~#", rune(s[0])) { // indicators at the start
		return false
	}
	for _, r := range s {
		if strings.ContainsRune(",[]{}'\"\\", r) || !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// WriteSweep writes a sweep's files into the sweep's folder, with the settings expanded (Expand):
// runYAML as run.yaml — the run config `embedtune train --config` reads, which the spec names with
// program: run.yaml — and specYAML as sweep-spec.yaml, the W&B sweep spec `embedtune sweep --config`
// and trainlib.LoadSweep read. It returns the spec's path.
func (c *SweepConfig) WriteSweep(runYAML, specYAML string) (string, error) {
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return "", fmt.Errorf("sweep folder (EMBEDTUNE_SWEEP_DIR): %w", err)
	}
	for _, f := range []struct{ name, text string }{{"run.yaml", runYAML}, {"sweep-spec.yaml", specYAML}} {
		text, err := c.Expand(f.text)
		if err != nil {
			return "", fmt.Errorf("%s: %w", f.name, err)
		}
		if err := atomicio.WriteFile(c.Path(f.name), []byte(text), 0o644); err != nil {
			return "", err
		}
	}
	return c.Path("sweep-spec.yaml"), nil
}

// RunSweep is s.Run for the sweep's cell: Jupyter's ■ (interrupt) stops it — the run in progress
// keeps its newest checkpoint — and the cell says how to continue: running it again skips the runs
// that ended and resumes the interrupted one. Errors stop the cell (see Must). It returns the results
// table (also in results.json and results.csv, with the best run's model in best/).
func RunSweep(s *trainlib.Sweep) *sweep.Results {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := s.Run(ctx)
	if errors.Is(err, trainlib.ErrSweepInterrupted) {
		notice("■ "+err.Error()+".", "Run this cell again to resume the sweep: the runs that ended are skipped, the interrupted one continues from its newest checkpoint.")
		os.Exit(1)
	}
	return Must(res, err)
}
