package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// sweepFiles writes a run config on a tiny model and a 2-run learning-rate grid over it; it returns the
// spec's path and the sweep's folder.
func sweepFiles(t *testing.T) (spec, out string) {
	t.Helper()
	m := tinyModelDir(t, "mean")
	dir := t.TempDir()
	data := pairsFile(t, dir, 40)
	out = filepath.Join(dir, "sweep")
	os.WriteFile(filepath.Join(dir, "run.yaml"), []byte(fmt.Sprintf(`model: %s
train_dataset: {source: %s, columns: [question, context]}
evaluator: {dataset: {source: %s, columns: [question, context], sample: 20}, name: dev}
args: {output_dir: %s, max_steps: 4, per_device_train_batch_size: 8, batch_sampler: no_duplicates,
       eval_strategy: steps, eval_steps: 2, logging_steps: 2, save_steps: 2}
`, m, data, data, out)), 0o644)
	spec = filepath.Join(dir, "sweep.yaml")
	os.WriteFile(spec, []byte("name: lr test\nprogram: run.yaml\nmethod: grid\nmetric: {name: eval_dev_cosine_ndcg@10, goal: maximize}\nparameters:\n  learning_rate: {values: [1.0e-5, 1.0e-3]}\n"), 0o644)
	return spec, out
}

func TestSweepCommand(t *testing.T) {
	spec, out := sweepFiles(t)
	for _, k := range indexEnv {
		t.Setenv(k, "")
	}
	code, stdout, stderr := cli("sweep", "--config", spec, "--no-progress")
	if code != 0 {
		t.Fatalf("sweep: %s", stderr)
	}
	for _, want := range []string{"[1/2] run-000 learning_rate=1e-05: finished", "[2/2] run-001 learning_rate=0.001: finished", "results.csv", "best model (run-"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if !strings.Contains(stdout, "Sweep results: 2 runs, maximize eval_dev_cosine_ndcg@10") || !strings.Contains(stdout, "run-001") {
		t.Errorf("stdout:\n%s", stdout)
	}
	for _, f := range []string{"results.csv", "results.json", "sweep.html", "best/model.safetensors", "runs/run-000/trainer_state.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	// report rebuilds a damaged results file from the runs, and prints the same table.
	os.WriteFile(filepath.Join(out, "results.json"), []byte("{garbage"), 0o644)
	code, again, stderr := cli("sweep", "report", out)
	if code != 0 || again != stdout {
		t.Errorf("sweep report (%d, %s):\n%s\nwant\n%s", code, stderr, again, stdout)
	}
	var res struct {
		Runs []any `json:"runs"`
	}
	b, _ := os.ReadFile(filepath.Join(out, "results.json"))
	if err := json.Unmarshal(b, &res); err != nil || len(res.Runs) != 2 {
		t.Errorf("results.json after report: %v %s", err, b)
	}
	// A run index from the environment: the run has ended, so it is only reported.
	t.Setenv("SLURM_ARRAY_TASK_ID", "1")
	if code, _, stderr := cli("sweep", "--config", spec, "--no-progress"); code != 0 || !strings.Contains(stderr, "run 1 (run-001) only, from $SLURM_ARRAY_TASK_ID") {
		t.Errorf("SLURM_ARRAY_TASK_ID=1 (%d):\n%s", code, stderr)
	}
	t.Setenv("JOB_COMPLETION_INDEX", "x")
	if code, _, stderr := cli("sweep", "--config", spec); code == 0 || !strings.Contains(stderr, `$JOB_COMPLETION_INDEX = "x": expected a run index`) {
		t.Errorf("bad JOB_COMPLETION_INDEX (%d): %s", code, stderr)
	}
	if code, _, stderr := cli("sweep", "--config", spec, "--index", "2"); code == 0 || !strings.Contains(stderr, "--index = 2, but the sweep has 2 runs (0..1)") {
		t.Errorf("--index 2 (%d): %s", code, stderr)
	}
	if code, _, stderr := cli("sweep", "report", t.TempDir()); code == 0 || !strings.Contains(stderr, "holds no sweep (no sweep.yaml)") {
		t.Errorf("report of an empty folder (%d): %s", code, stderr)
	}
}

func TestSweepManifests(t *testing.T) {
	spec, out := sweepFiles(t)
	code, stdout, stderr := cli("sweep", "--config", spec, "--print-k8s-job", "--parallelism", "1", "--gpus", "1", "--pvc", "shared")
	if code != 0 {
		t.Fatalf("--print-k8s-job: %s", stderr)
	}
	var job struct {
		Kind string `yaml:"kind"`
		Meta struct {
			Name string `yaml:"name"`
		} `yaml:"metadata"`
		Spec struct {
			CompletionMode string `yaml:"completionMode"`
			Completions    int    `yaml:"completions"`
			Parallelism    int    `yaml:"parallelism"`
			Template       struct {
				Spec struct {
					Containers []struct {
						Image     string         `yaml:"image"`
						Command   []string       `yaml:"command"`
						Resources map[string]any `yaml:"resources"`
						Mounts    []struct {
							MountPath string `yaml:"mountPath"`
						} `yaml:"volumeMounts"`
					} `yaml:"containers"`
					Volumes []struct {
						PVC struct {
							ClaimName string `yaml:"claimName"`
						} `yaml:"persistentVolumeClaim"`
					} `yaml:"volumes"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	if err := yaml.Unmarshal([]byte(stdout), &job); err != nil {
		t.Fatalf("the manifest is not YAML: %v\n%s", err, stdout)
	}
	c := job.Spec.Template.Spec.Containers[0]
	if job.Kind != "Job" || job.Spec.CompletionMode != "Indexed" || job.Spec.Completions != 2 || job.Spec.Parallelism != 1 ||
		job.Meta.Name != "embedtune-sweep-lr-test" || c.Image != "embedtune:cuda" || strings.Join(c.Command, " ") != "embedtune sweep --config "+spec+" --no-progress" ||
		c.Mounts[0].MountPath != filepath.Dir(spec) || job.Spec.Template.Spec.Volumes[0].PVC.ClaimName != "shared" || c.Resources == nil {
		t.Errorf("manifest:\n%s", stdout)
	}
	code, stdout, stderr = cli("sweep", "--config", spec, "--print-slurm")
	if code != 0 {
		t.Fatalf("--print-slurm: %s", stderr)
	}
	for _, want := range []string{"#!/bin/bash\n", "#SBATCH --array=0-1%2\n", "exec embedtune sweep --config " + spec + " --no-progress", "cd " + filepath.Dir(spec), out + "/results.{csv,json}"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("sbatch script lacks %q:\n%s", want, stdout)
		}
	}
	if code, _, stderr := cli("sweep", "--config", spec, "--print-slurm", "--shared-dir", t.TempDir()); code == 0 || !strings.Contains(stderr, "is not inside the shared folder") {
		t.Errorf("spec outside the shared folder (%d): %s", code, stderr)
	}
}
