package trainlib

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/embedtune/embedtune/internal/synth"
	"github.com/embedtune/embedtune/trainlib/model"
	"github.com/embedtune/embedtune/trainlib/sweep"
)

// sweepFixture writes a tiny model folder and (question, context) JSON Lines files for sweeps: a
// training set and a held-out set (the evaluator's). It returns their paths.
func sweepFixture(t testing.TB) (modelDir, trainFile, heldOutFile string) {
	t.Helper()
	dir := t.TempDir()
	m, err := synth.TinyModel(filepath.Join(dir, "tok"), "mean", 1, model.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
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
	return modelDir, write("train.jsonl", synth.Pairs(150, 2, 10)), write("heldout.jsonl", synth.Pairs(40, 2, 99))
}

// sweepSpec writes a sweep spec with an inline run config on the fixture; extra is YAML appended
// to the spec (method, parameters, ...), args more training arguments.
func sweepSpec(t testing.TB, out, extra, args string) string {
	t.Helper()
	modelDir, train, heldOut := sweepFixture(t)
	spec := fmt.Sprintf(`run:
  model: %s
  train_dataset: {source: %s, columns: [question, context]}
  evaluator: {dataset: {source: %s, columns: [question, context]}, name: dev}
  args: {output_dir: %s, max_steps: 24, per_device_train_batch_size: 16, batch_sampler: no_duplicates,
         warmup_ratio: 0.1, eval_strategy: steps, eval_steps: 6, logging_steps: 6, save_steps: 6, save_total_limit: 1%s}
%s`, modelDir, train, heldOut, out, args, extra)
	p := filepath.Join(t.TempDir(), "sweep.yaml")
	if err := os.WriteFile(p, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// table renders results without the wall times (the only column that differs between identical runs).
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

// TestSweepFindsPlantedBest runs a grid over learning rates where only one can learn in 24 steps (too
// small a rate changes nothing, too large diverges) and checks that the sweep picks it, records the
// diverging run as failed and keeps the best model.
func TestSweepFindsPlantedBest(t *testing.T) {
	out := filepath.Join(t.TempDir(), "sweep")
	path := sweepSpec(t, out, `method: grid
metric: {name: eval_dev_cosine_ndcg@10, goal: maximize}
parameters:
  learning_rate: {values: [1.0e-7, 5.0e-4, 1.0e+30]}
`, "")
	var log bytes.Buffer
	s, err := LoadSweep(path, WithSweepLog(&log))
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Run(context.Background())
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	t.Logf("\n%s", log.String())
	if res.Best != "run-001" {
		t.Fatalf("best run %q, want run-001 (learning_rate 5e-4):\n%s", res.Best, table(t, res))
	}
	if st := res.Rows[2].Status; st != sweep.StatusFailed || !strings.Contains(res.Rows[2].Reason, "diverged") {
		t.Errorf("learning_rate 1e4: status %s (%s), want failed: diverged", st, res.Rows[2].Reason)
	}
	if res.Rows[0].Status != sweep.StatusFinished || res.Rows[0].Steps != 24 {
		t.Errorf("run-000: %+v", res.Rows[0])
	}
	for _, f := range []string{"best/model.safetensors", "best/modules.json", "results.csv", "results.json", "runs/run-001/trainer_state.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	var st TrainerState
	data, _ := os.ReadFile(filepath.Join(out, "runs/run-001/trainer_state.json"))
	if err := json.Unmarshal(data, &st); err != nil || !st.IsHyperParamSearch || st.TrialName == nil || *st.TrialName != "run-001" || st.TrialParams["learning_rate"] != 5e-4 {
		t.Errorf("trainer_state.json: trial fields %v %v %v (%v)", st.IsHyperParamSearch, st.TrialName, st.TrialParams, err)
	}
}

type compileSpy struct {
	BaseSweepCallback
	after []int64
}

func (c *compileSpy) OnRunEnd(s *Sweep, _ sweep.Row, _ []map[string]float64) {
	c.after = append(c.after, s.graphs.Compilations())
}

func TestSweepCompilesOnce(t *testing.T) {
	out := filepath.Join(t.TempDir(), "sweep")
	path := sweepSpec(t, out, `method: grid
metric: {name: eval_dev_cosine_ndcg@10, goal: maximize}
parameters:
  learning_rate: {values: [1.0e-4, 2.0e-4, 3.0e-4, 4.0e-4]}
`, "")
	spy := &compileSpy{}
	s, err := LoadSweep(path, WithSweepLog(os.Stderr), WithSweepCallbacks(spy))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Logf("compilations after each run: %v", spy.after)
}
