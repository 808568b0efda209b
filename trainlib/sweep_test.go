package trainlib

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/embedtune/embedtune/internal/lockfile"
	"github.com/embedtune/embedtune/internal/synth"
	"github.com/embedtune/embedtune/internal/testutil"
	"github.com/embedtune/embedtune/trainlib/internal/perf"
	"github.com/embedtune/embedtune/trainlib/model"
	"github.com/embedtune/embedtune/trainlib/sweep"
)

// sweepGraphs is shared by the sweep tests of this process that do not count compilations: every
// fixture sweep has the same structure, so the process compiles its graphs once.
var sweepGraphs = NewGraphCache()

// sweepFixture writes a tiny model folder (max_seq_length 32, so that batches have few shapes) and
// (question, context) JSON Lines files: training pairs and held-out pairs for the evaluator.
func sweepFixture(t testing.TB) (modelDir, trainFile, heldOutFile string) {
	t.Helper()
	dir := t.TempDir()
	m, err := synth.TinyModel(filepath.Join(dir, "tok"), "mean", 1, model.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	m.MaxSeqLength = 32
	modelDir = filepath.Join(dir, "model")
	if err := m.Save(modelDir); err != nil {
		t.Fatal(err)
	}
	write := func(name string, pairs []synth.Pair) string {
		var b bytes.Buffer
		if err := pairsDataset(t, pairs).WriteJSONLines(&b); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return modelDir, write("train.jsonl", synth.Pairs(100, 2, 10)), write("heldout.jsonl", synth.Pairs(24, 2, 99))
}

// sweepSpec writes a sweep spec (the YAML extra: method, parameters, ...) whose inline run config trains
// the fixture for 12 steps of 16 pairs, evaluating and saving every 3 steps, into out.
func sweepSpec(t testing.TB, out, extra string) string {
	t.Helper()
	modelDir, train, heldOut := sweepFixture(t)
	spec := fmt.Sprintf(`run:
  model: %s
  train_dataset: {source: %s, columns: [question, context]}
  evaluator: {dataset: {source: %s, columns: [question, context]}, name: dev}
  args: {output_dir: %s, max_steps: 12, per_device_train_batch_size: 16, batch_sampler: no_duplicates,
         warmup_ratio: 0.1, eval_strategy: steps, eval_steps: 3, logging_steps: 3, save_steps: 3, save_total_limit: 1}
%s`, modelDir, train, heldOut, out, extra)
	p := filepath.Join(t.TempDir(), "sweep.yaml")
	if err := os.WriteFile(p, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// table renders results without wall times, the only column that differs between identical runs.
func table(t testing.TB, r *sweep.Results) string {
	t.Helper()
	c := *r
	c.Rows = append([]sweep.Row(nil), r.Rows...)
	for i := range c.Rows {
		c.Rows[i].WallSeconds = 0
	}
	var b bytes.Buffer
	if err := c.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// runSweep loads and runs a sweep on the shared graph cache, logging to the test.
func runSweep(t testing.TB, path string, opts ...SweepOption) (*Sweep, *sweep.Results) {
	t.Helper()
	var log bytes.Buffer
	s, err := LoadSweep(path, append([]SweepOption{WithSweepLog(&log), WithSweepGraphCache(sweepGraphs)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Run(context.Background())
	t.Logf("sweep log:\n%s", log.String())
	if err != nil {
		t.Fatal(err)
	}
	return s, res
}

// TestSweepFindsPlantedBest runs a grid over learning rates where only one learns in 12 steps (too small
// changes nothing, too large diverges), and checks that the sweep picks it, records the diverging run as
// failed with its reason, goes on, and keeps the best model.
func TestSweepFindsPlantedBest(t *testing.T) {
	out := filepath.Join(t.TempDir(), "sweep")
	_, res := runSweep(t, sweepSpec(t, out, `method: grid
metric: {name: eval_dev_cosine_ndcg@10, goal: maximize}
parameters:
  learning_rate: {values: [1.0e-30, 1.0e+30, 1.0e-3]}
`))
	if res.Best != "run-002" {
		t.Fatalf("best run %q, want run-002 (learning_rate 1e-3):\n%s", res.Best, table(t, res))
	}
	if st := res.Rows[1]; st.Status != sweep.StatusFailed || !strings.Contains(st.Reason, "training diverged") {
		t.Errorf("learning_rate 1e30: status %s (%s), want failed: training diverged", st.Status, st.Reason)
	}
	if r := res.Rows[0]; r.Status != sweep.StatusFinished || r.Steps != 12 || *r.FinalMetric >= *res.Rows[2].FinalMetric {
		t.Errorf("run-000: %+v", r)
	}
	for _, f := range []string{"best/model.safetensors", "best/modules.json", "best/1_Pooling/config.json", "results.csv", "results.json", "sweep.yaml", "runs/run-002/trainer_state.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	a, _ := os.ReadFile(filepath.Join(out, "best/model.safetensors"))
	b, _ := os.ReadFile(filepath.Join(out, "runs/run-002/model.safetensors"))
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Error("best/ does not hold run-002's model")
	}
	var st TrainerState
	data, _ := os.ReadFile(filepath.Join(out, "runs/run-002/trainer_state.json"))
	if err := json.Unmarshal(data, &st); err != nil || !st.IsHyperParamSearch || st.TrialName == nil || *st.TrialName != "run-002" || st.TrialParams["learning_rate"] != 1e-3 {
		t.Errorf("trainer_state.json: is_hyper_param_search %v, trial_name %v, trial_params %v (%v)", st.IsHyperParamSearch, st.TrialName, st.TrialParams, err)
	}
	csv, _ := os.ReadFile(filepath.Join(out, "results.csv"))
	if !strings.HasPrefix(string(csv), "run,learning_rate,status,final_eval_dev_cosine_ndcg@10,") || strings.Count(string(csv), "\n") != 4 {
		t.Errorf("results.csv:\n%s", csv)
	}
}

// compileSpy records the compilations counted after each run.
type compileSpy struct {
	BaseSweepCallback
	graphs   *GraphCache
	counter  *perf.CompileCounter
	cache    []int64
	compiled []int64
}

func (c *compileSpy) OnRunEnd(*Sweep, sweep.Row, []map[string]float64) {
	c.cache = append(c.cache, c.graphs.Compilations())
	c.compiled = append(c.compiled, c.counter.Count())
}

// TestSweepCompilesOnce checks that a sweep over scalars (learning rate, weight decay, the loss's
// scale) compiles its graphs during the first run only: GoMLX's own count of built graphs does not
// grow after it.
func TestSweepCompilesOnce(t *testing.T) {
	counter, err := perf.NewCompileCounter()
	if err != nil {
		t.Fatal(err)
	}
	spy := &compileSpy{graphs: NewGraphCache(), counter: counter}
	out := filepath.Join(t.TempDir(), "sweep")
	path := sweepSpec(t, out, `method: grid
metric: {name: eval_dev_cosine_ndcg@10, goal: maximize}
parameters:
  learning_rate: {values: [1.0e-4, 3.0e-4]}
  weight_decay: {values: [0.01, 0.1]}
  loss: {parameters: {scale: {values: [10, 30]}}}
`)
	s, err := LoadSweep(path, WithSweepLog(nil), WithSweepGraphCache(spy.graphs), WithSweepCallbacks(spy))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Logf("graphs compiled by the end of each run: %v (GoMLX's count: %v)", spy.cache, spy.compiled)
	if len(spy.cache) != 8 || spy.cache[0] == 0 || spy.cache[7] != spy.cache[0] || spy.compiled[7] != spy.compiled[0] {
		t.Errorf("compilations after each of the 8 runs %v (GoMLX: %v): want every graph compiled in the first run only", spy.cache, spy.compiled)
	}
}

// sweepChildEnv names the spec a TestSweepChild process runs; sweepIndexEnv its run index (optional).
const (
	sweepChildEnv = "EMBEDTUNE_SWEEP_CHILD"
	sweepIndexEnv = "EMBEDTUNE_SWEEP_CHILD_INDEX"
)

// stepReporter prints "<run> step N" after every optimizer step.
type stepReporter struct{ BaseSweepCallback }

func (stepReporter) OnRunLog(_ *Sweep, run SweepRunInfo, e map[string]float64) {
	fmt.Printf("%s step %d\n", run.ID, int(e["step"]))
}

// TestSweepChild is the sweep process of TestSweepKillAndResume and TestSweepShardedIndices.
func TestSweepChild(t *testing.T) {
	path := os.Getenv(sweepChildEnv)
	if path == "" {
		t.Skip("helper process of the sweep tests")
	}
	s, err := LoadSweep(path, WithSweepLog(os.Stderr), WithSweepCallbacks(stepReporter{}))
	if err != nil {
		t.Fatal(err)
	}
	var opts []SweepRunOption
	if i := os.Getenv(sweepIndexEnv); i != "" {
		var n int
		fmt.Sscan(i, &n)
		opts = append(opts, RunIndex(n))
	}
	if _, err := s.Run(context.Background(), opts...); err != nil {
		t.Fatal(err)
	}
}

// childSweep starts a TestSweepChild process on the spec (and run index, if ≥ 0).
func childSweep(t *testing.T, path string, index int) (*exec.Cmd, *bufio.Scanner, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestSweepChild$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), sweepChildEnv+"="+path)
	if index >= 0 {
		cmd.Env = append(cmd.Env, fmt.Sprintf("%s=%d", sweepIndexEnv, index))
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, bufio.NewScanner(stdout), &stderr
}

// stoppingSweep is a grid whose later runs are worse, so hyperband stops some of them.
const stoppingSweep = `method: grid
metric: {name: eval_dev_cosine_ndcg@10, goal: maximize}
parameters:
  learning_rate: {values: [2.0e-3, 1.0e-3, 1.0e-5, 1.0e-6]}
early_terminate: {type: hyperband, min_iter: 1, eta: 2}
`

// dependentSweep is a sweep whose runs depend on the earlier ones twice over: Bayesian suggestions
// and hyperband early termination.
const dependentSweep = `method: bayes
run_cap: 4
seed: 5
metric: {name: eval_dev_cosine_ndcg@10, goal: maximize}
parameters:
  learning_rate: {distribution: log_uniform_values, min: 1.0e-6, max: 3.0e-3}
  loss: {parameters: {scale: {values: [10, 20, 40]}}}
early_terminate: {type: hyperband, min_iter: 1, eta: 2}
`

// TestSweepKillAndResume kills a sweep process with SIGKILL at a random log line of a random run, runs
// the sweep again and expects the table (and best model) of an uninterrupted sweep: ended runs are
// skipped, the interrupted one resumes from its checkpoint, and the early-termination decisions are the
// same.
func TestSweepKillAndResume(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a sweep twice")
	}
	refOut := filepath.Join(t.TempDir(), "reference")
	refSweep, ref := runSweep(t, sweepSpec(t, refOut, stoppingSweep))
	stopped := 0
	for _, r := range ref.Rows {
		if r.Status == sweep.StatusEarlyTerminated {
			stopped++
		}
	}
	if stopped == 0 || ref.Best == "" {
		t.Fatalf("the reference sweep should stop some runs early and have a best run:\n%s", table(t, ref))
	}

	out := filepath.Join(t.TempDir(), "crashed")
	path := sweepSpec(t, out, stoppingSweep)
	total := 0 // log lines of the whole sweep
	for _, r := range ref.Rows {
		total += len(refSweep.RunLogHistory(r.Index))
	}
	killAt := 1 + rand.IntN(total-1) // a log line of any run
	cmd, sc, stderr := childSweep(t, path, -1)
	seen, killed := 0, false
	for sc.Scan() {
		var run string
		var step int
		if _, err := fmt.Sscanf(sc.Text(), "%s step %d", &run, &step); err == nil {
			if seen++; seen >= killAt {
				cmd.Process.Kill() // SIGKILL: no cleanup, maybe mid-checkpoint or mid-record.
				killed = true
				t.Logf("killed at %s step %d (log line %d)", run, step, seen)
				break
			}
		}
	}
	cmd.Wait()
	if !killed {
		t.Fatalf("the child ended before log line %d:\n%s", killAt, stderr.String())
	}
	_, res := runSweep(t, path)
	if got, want := table(t, res), table(t, ref); got != want {
		t.Fatalf("results after kill and resume differ from the uninterrupted sweep:\n%s\nwant\n%s", got, want)
	}
	a, _ := os.ReadFile(filepath.Join(refOut, "best/model.safetensors"))
	b, _ := os.ReadFile(filepath.Join(out, "best/model.safetensors"))
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Error("the best model differs between the resumed and the uninterrupted sweep")
	}
}

// TestSweepShardedIndices runs every run of a dependent sweep in its own process, all at once (as an
// Indexed Job's pods), and expects the table of one process running them all.
func TestSweepShardedIndices(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a sweep in several processes")
	}
	_, ref := runSweep(t, sweepSpec(t, filepath.Join(t.TempDir(), "reference"), dependentSweep))
	out := filepath.Join(t.TempDir(), "sharded")
	path := sweepSpec(t, out, dependentSweep)
	var wg sync.WaitGroup
	errs := make([]string, ref.Rows[len(ref.Rows)-1].Index+1)
	for i := len(errs) - 1; i >= 0; i-- { // highest index first: it must wait for the others
		cmd, sc, stderr := childSweep(t, path, i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for sc.Scan() {
			}
			if err := cmd.Wait(); err != nil {
				errs[i] = fmt.Sprintf("index %d: %v\n%s", i, err, stderr.String())
			}
		}()
	}
	wg.Wait()
	for _, e := range errs {
		if e != "" {
			t.Fatal(e)
		}
	}
	s, err := OpenSweep(out, WithSweepLog(nil))
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Report(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := table(t, res), table(t, ref); got != want {
		t.Fatalf("sharded results differ from one process's:\n%s\nwant\n%s", got, want)
	}
}

// TestSweepRebuildsCorruptFiles damages results.json and a run's record: the next run of the sweep
// rebuilds them from the runs' own state (re-deriving the damaged run from its last checkpoint) and
// gives the same table.
func TestSweepRebuildsCorruptFiles(t *testing.T) {
	out := filepath.Join(t.TempDir(), "sweep")
	path := sweepSpec(t, out, "method: grid\nmetric: {name: eval_dev_cosine_ndcg@10, goal: maximize}\nparameters:\n  learning_rate: {values: [1.0e-3, 1.0e-4]}\n")
	_, first := runSweep(t, path)
	for _, f := range []string{"results.json", "runs/run-001/" + runRecordFile} {
		if err := os.WriteFile(filepath.Join(out, f), []byte(`{"runs": [{"run": "run-0`), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, again := runSweep(t, path)
	if got, want := table(t, again), table(t, first); got != want {
		t.Fatalf("after damage:\n%s\nwant\n%s", got, want)
	}
	var onDisk sweep.Results
	data, _ := os.ReadFile(filepath.Join(out, "results.json"))
	if err := json.Unmarshal(data, &onDisk); err != nil || len(onDisk.Rows) != 2 {
		t.Fatalf("results.json not rebuilt: %v %s", err, data)
	}
}

// TestSweepLocksRuns holds run 1's lock as another process would: the sweep trains the other runs,
// then waits for run 1, and trains it once the holder lets go (as when it dies).
func TestSweepLocksRuns(t *testing.T) {
	out := filepath.Join(t.TempDir(), "sweep")
	path := sweepSpec(t, out, "method: grid\nmetric: {name: eval_dev_cosine_ndcg@10, goal: maximize}\nparameters:\n  learning_rate: {values: [1.0e-3, 2.0e-3, 3.0e-3]}\n")
	if err := os.MkdirAll(filepath.Join(out, "runs"), 0o755); err != nil {
		t.Fatal(err)
	}
	unlock, err := lockfile.TryLock(filepath.Join(out, "runs", ".run-001.lock"))
	if err != nil {
		t.Fatal(err)
	}
	var log testutil.SyncBuffer
	s, err := LoadSweep(path, WithSweepLog(&log), WithSweepGraphCache(sweepGraphs))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	var res *sweep.Results
	go func() {
		var err error
		res, err = s.Run(context.Background())
		done <- err
	}()
	deadline := time.Now().Add(5 * time.Minute)
	for s.readRecord(2) == nil && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if s.readRecord(0) == nil || s.readRecord(2) == nil || s.readRecord(1) != nil {
		t.Fatalf("runs 0 and 2 should end while run 1 is locked; log:\n%s", log.String())
	}
	if !strings.Contains(log.String(), "run-001 is being trained by process") {
		t.Errorf("the log does not say run-001 is held:\n%s", log.String())
	}
	unlock()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if res.Rows[1].Status != sweep.StatusFinished {
		t.Errorf("run 1 after the lock was released: %+v", res.Rows[1])
	}
}

// TestSweepRecordsFailures checks that runs that cannot train are failed rows with their reason, and
// that the others still run.
func TestSweepRecordsFailures(t *testing.T) {
	out := filepath.Join(t.TempDir(), "sweep")
	path := sweepSpec(t, out, "method: grid\nmetric: {name: eval_dev_cosine_ndcg@10, goal: maximize}\nparameters: {}\n")
	data, _ := os.ReadFile(path)
	good := regexp.MustCompile(`model: (\S+)`).FindSubmatch(data)[1]
	data = bytes.Replace(data, []byte("parameters: {}"), []byte(fmt.Sprintf("parameters:\n  model: {values: [%s, %s]}\n  train_dataset: {parameters: {split: {values: [train, nosuchsplit]}}}",
		filepath.Join(t.TempDir(), "no-such-model"), good)), 1)
	os.WriteFile(path, data, 0o644)
	_, res := runSweep(t, path)
	for i, want := range []string{"no-such-model", "nosuchsplit", "", "nosuchsplit"} {
		r := res.Rows[i]
		if want == "" {
			if r.Status != sweep.StatusFinished {
				t.Errorf("run %d: %+v", i, r)
			}
		} else if r.Status != sweep.StatusFailed || !strings.Contains(r.Reason, want) {
			t.Errorf("run %d: %s %q, want failed naming %s", i, r.Status, r.Reason, want)
		}
	}
}

func TestNewSweepErrors(t *testing.T) {
	for _, c := range []struct{ params, want string }{
		{"foo: {values: [1]}", `parameter "foo" is neither a training argument nor a path into the run config`},
		{"args: {parameters: {learning_rat: {values: [1.0e-5]}}}", `parameter "args.learning_rat": "learning_rat" is not a training argument`},
		{"output_dir: {values: [x]}", `the sweep sets output_dir for each run`},
		{"learning_rate: {values: [1.0e-3, 0.0]}", `sweep parameter "learning_rate" = 0: args: invalid training arguments: learning_rate must be a positive number`},
		{"per_device_train_batch_size: {values: [16, 16.5]}", `sweep parameter "per_device_train_batch_size" = 16.5`},
		{"loss: {parameters: {scael: {values: [1]}}}", `loss MultipleNegativesRankingLoss: unknown parameters [scael]`},
		{"lora: {parameters: {r: {values: [0, 8]}}}", `lora.r must be positive`},
		{"lr_scheduler_type: {values: [linear, cosine_anealing]}", `lr_scheduler_type "cosine_anealing" is not valid`},
		{"lora: {parameters: {alpha: {values: [16]}}}", `field alpha not found`},
		{"model: {parameters: {x: {values: [1]}}}", `model is a folder or Hub id, it has no sub-keys`},
	} {
		path := sweepSpec(t, filepath.Join(t.TempDir(), "o"), "method: grid\nparameters:\n  "+c.params+"\n")
		_, err := LoadSweep(path, WithSweepLog(nil))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to contain %q", c.params, err, c.want)
		}
	}
	path := sweepSpec(t, filepath.Join(t.TempDir(), "o"), "method: grid\nmetric: {name: eval_loss}\nparameters: {learning_rate: {values: [1.0e-3]}}\n")
	data, _ := os.ReadFile(path)
	os.WriteFile(path, bytes.Replace(data, []byte("eval_strategy: steps"), []byte("eval_strategy: \"no\""), 1), 0o644)
	if _, err := LoadSweep(path); err == nil || !strings.Contains(err.Error(), `metric "eval_loss" is logged by evaluations, but the run config does not evaluate`) {
		t.Errorf("metric without evaluation: %v", err)
	}
	// Another sweep in the same folder.
	out := filepath.Join(t.TempDir(), "o")
	a := sweepSpec(t, out, "method: grid\nparameters: {learning_rate: {values: [1.0e-3]}}\n")
	s, err := LoadSweep(a, WithSweepLog(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.claimFolder(); err != nil {
		t.Fatal(err)
	}
	b := sweepSpec(t, out, "method: grid\nparameters: {learning_rate: {values: [2.0e-3]}}\n")
	s2, err := LoadSweep(b, WithSweepLog(nil))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s2.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "holds another sweep") {
		t.Errorf("a second sweep in the folder: %v", err)
	}
	if _, err := s.Run(context.Background(), RunIndex(5)); err == nil || !strings.Contains(err.Error(), "run index 5 is out of range") {
		t.Errorf("index out of range: %v", err)
	}
	if !errors.Is(fmt.Errorf("x: %w", ErrSweepInterrupted), ErrSweepInterrupted) {
		t.Fatal("ErrSweepInterrupted")
	}
}
