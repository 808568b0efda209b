package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"

	"github.com/embedtune/embedtune/charts"
	"github.com/embedtune/embedtune/kernel/display"
	"github.com/embedtune/embedtune/trainlib"
	"github.com/embedtune/embedtune/trainlib/sweep"
)

// indexEnv are the environment variables that give a process its run of a sharded sweep, in order of
// precedence after --index: Kubernetes Indexed Jobs and Slurm job arrays.
var indexEnv = []string{"JOB_COMPLETION_INDEX", "SLURM_ARRAY_TASK_ID"}

// runSweep: embedtune sweep --config S.yaml [--index I] [--print-k8s-job | --print-slurm], or
// embedtune sweep report DIR.
func runSweep(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "report" {
		return runSweepReport(args[1:], stdout, stderr)
	}
	fs := newFlagSet("sweep", "--config sweep.yaml [--index I] [--print-k8s-job | --print-slurm]   |   embedtune sweep report DIR", stderr)
	cfgPath := fs.String("config", "", "sweep spec in the W&B sweep schema (YAML or JSON) whose program names the run config (required)")
	index := fs.Int("index", -1, "train only run I (0-based); default: $JOB_COMPLETION_INDEX (Kubernetes Indexed Job) or $SLURM_ARRAY_TASK_ID (Slurm array), else every run")
	outDir := fs.String("output-dir", "", "the sweep's folder (default: the run config's args.output_dir)")
	noProgress := fs.Bool("no-progress", false, "do not draw each run's progress bar")
	printK8s := fs.Bool("print-k8s-job", false, "print a Kubernetes Indexed Job running the sweep, one pod per run, and exit")
	printSlurm := fs.Bool("print-slurm", false, "print an sbatch script running the sweep as a Slurm job array, and exit")
	image := fs.String("image", "", "container image for --print-k8s-job (default embedtune:latest, embedtune:cuda with --gpus)")
	pvc := fs.String("pvc", "embedtune-sweep", "persistent volume claim holding the shared folder, for --print-k8s-job")
	shared := fs.String("shared-dir", "", "folder shared by every process (mounted at the same path in every pod), holding the spec, run config, model, data and output (default: the spec's folder)")
	parallelism := fs.Int("parallelism", 0, "runs at a time for --print-k8s-job / --print-slurm (default: all)")
	gpus := fs.Int("gpus", 0, "GPUs per run for --print-k8s-job / --print-slurm")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cfgPath == "" {
		return errors.New("--config is required (a sweep spec; see embedtune sweep --help)")
	}
	var opts []trainlib.SweepOption
	opts = append(opts, trainlib.WithSweepLog(stderr))
	if *outDir != "" {
		opts = append(opts, trainlib.WithSweepOutputDir(*outDir))
	}
	s, err := trainlib.LoadSweep(*cfgPath, opts...)
	if err != nil {
		return err
	}
	if *printK8s || *printSlurm {
		if *printK8s && *printSlurm {
			return errors.New("--print-k8s-job and --print-slurm are exclusive")
		}
		m, err := newManifest(s, *cfgPath, *shared, *image, *pvc, *parallelism, *gpus)
		if err != nil {
			return err
		}
		if *printK8s {
			_, err = io.WriteString(stdout, m.k8sJob())
		} else {
			_, err = io.WriteString(stdout, m.slurm())
		}
		return err
	}
	var runOpts []trainlib.SweepRunOption
	i, from, err := sweepIndex(*index, fs)
	if err != nil {
		return err
	}
	if i >= 0 {
		if i >= s.NumRuns() {
			return fmt.Errorf("%s = %d, but the sweep has %d runs (0..%d)", from, i, s.NumRuns(), s.NumRuns()-1)
		}
		fmt.Fprintf(stderr, "embedtune sweep: run %d (%s) only, from %s\n", i, s.RunID(i), from)
		runOpts = append(runOpts, trainlib.RunIndex(i))
	}
	if !*noProgress {
		display.AttachSweepProgress(s, display.WithWriter(stderr))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := s.Run(ctx, runOpts...)
	if err != nil {
		return err
	}
	return finishReport(s, res, stdout, stderr)
}

// sweepIndex returns the run index from --index, or the environment; -1 for every run. from names the
// source for messages.
func sweepIndex(flagValue int, fs *flag.FlagSet) (int, string, error) {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == "index" })
	if set {
		if flagValue < 0 {
			return 0, "", fmt.Errorf("--index must be ≥ 0 (got %d)", flagValue)
		}
		return flagValue, "--index", nil
	}
	for _, k := range indexEnv {
		v := strings.TrimSpace(os.Getenv(k))
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, "", fmt.Errorf("$%s = %q: expected a run index (a whole number ≥ 0)", k, v)
		}
		return n, "$" + k, nil
	}
	return -1, "", nil
}

// runSweepReport: embedtune sweep report DIR.
func runSweepReport(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("sweep report", "DIR", stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("give the sweep's folder: embedtune sweep report DIR")
	}
	s, err := trainlib.OpenSweep(fs.Arg(0), trainlib.WithSweepLog(stderr))
	if err != nil {
		return err
	}
	res, err := s.Report(context.Background())
	if err != nil {
		return err
	}
	return finishReport(s, res, stdout, stderr)
}

// finishReport prints the table and writes sweep.html.
func finishReport(s *trainlib.Sweep, res *sweep.Results, stdout, stderr io.Writer) error {
	if _, err := io.WriteString(stdout, display.SweepTable(res).Text()); err != nil {
		return err
	}
	cs, err := display.SweepCharts(s, res)
	if err != nil {
		return err
	}
	page := filepath.Join(s.OutputDir, "sweep.html")
	if len(cs) > 0 {
		if err := charts.WriteHTML(page, "Sweep "+filepath.Base(s.OutputDir), cs...); err != nil {
			fmt.Fprintf(stderr, "embedtune sweep: %v\n", err)
		}
	}
	fmt.Fprintf(stderr, "embedtune sweep: %s, %s, %s", filepath.Join(s.OutputDir, "results.csv"), filepath.Join(s.OutputDir, "results.json"), page)
	if res.Best != "" {
		fmt.Fprintf(stderr, "; best model (%s) in %s", res.Best, filepath.Join(s.OutputDir, "best"))
	}
	fmt.Fprintln(stderr)
	return nil
}

// manifest holds what the printed job definitions need.
type manifest struct {
	name, spec, shared, outDir, image, pvc string
	runs, parallelism, gpus                int
	dependent                              bool
}

func newManifest(s *trainlib.Sweep, specPath, shared, image, pvc string, parallelism, gpus int) (*manifest, error) {
	spec, err := filepath.Abs(specPath)
	if err != nil {
		return nil, err
	}
	if shared == "" {
		shared = filepath.Dir(spec)
	}
	if shared, err = filepath.Abs(shared); err != nil {
		return nil, err
	}
	out, err := filepath.Abs(s.OutputDir)
	if err != nil {
		return nil, err
	}
	for what, p := range map[string]string{"the spec": spec, "the output folder": out} {
		if rel, err := filepath.Rel(shared, p); err != nil || strings.HasPrefix(rel, "..") {
			return nil, fmt.Errorf("%s (%s) is not inside the shared folder %s: every process must see it at the same path (set --shared-dir)", what, p, shared)
		}
	}
	if image == "" {
		image = "embedtune:latest"
		if gpus > 0 {
			image = "embedtune:cuda"
		}
	}
	if parallelism <= 0 || parallelism > s.NumRuns() {
		parallelism = s.NumRuns()
	}
	name := s.Spec.Name
	if name == "" {
		name = filepath.Base(out)
	}
	name = "embedtune-sweep-" + strings.Trim(regexp.MustCompile(`[^a-z0-9-]+`).ReplaceAllString(strings.ToLower(name), "-"), "-")
	if len(name) > 52 {
		name = strings.TrimRight(name[:52], "-")
	}
	return &manifest{name: name, spec: spec, shared: shared, outDir: out, image: image, pvc: pvc, runs: s.NumRuns(),
		parallelism: parallelism, gpus: gpus, dependent: s.Spec.DependsOnEarlierRuns()}, nil
}

// note explains the sharing assumptions in the printed file's comments.
func (m *manifest) note(prefix string) string {
	lines := []string{
		fmt.Sprintf("%d runs of %s, one per task; every task trains its run (its index), then merges the", m.runs, m.spec),
		fmt.Sprintf("finished runs into %s/results.{csv,json}, sweep.html and best/.", m.outDir),
		fmt.Sprintf("%s must be the same folder, at the same path, for every task: the spec, the run config,", m.shared),
		"the model and data it names, and the output folder. Re-run a failed task as is: it resumes from its checkpoint.",
		"Merge at any time with: embedtune sweep report " + m.outDir,
	}
	if m.dependent {
		lines = append(lines, "This sweep compares runs with the ones before them (bayes, early_terminate or metric.target):",
			"a task waits for the lower indices it depends on, so start tasks in index order (both schedulers do).")
	}
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n") + "\n"
}

// k8sJob renders a Kubernetes Indexed Job.
func (m *manifest) k8sJob() string {
	var b strings.Builder
	b.WriteString(m.note("# "))
	gpu := ""
	if m.gpus > 0 {
		gpu = fmt.Sprintf("\n          resources:\n            limits:\n              nvidia.com/gpu: %d", m.gpus)
	}
	fmt.Fprintf(&b, `apiVersion: batch/v1
kind: Job
metadata:
  name: %s
spec:
  completionMode: Indexed
  completions: %d
  parallelism: %d
  backoffLimitPerIndex: 2
  maxFailedIndexes: %d
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: sweep
          image: %s
          workingDir: %s
          command: ["embedtune", "sweep", "--config", %s, "--no-progress"]%s
          volumeMounts:
            - name: shared
              mountPath: %s
      volumes:
        - name: shared
          persistentVolumeClaim:
            claimName: %s
`, m.name, m.runs, m.parallelism, m.runs, m.image, quoteYAML(filepath.Dir(m.spec)), quoteYAML(m.spec), gpu, quoteYAML(m.shared), m.pvc)
	return b.String()
}

// slurm renders an sbatch script for a Slurm job array.
func (m *manifest) slurm() string {
	var b strings.Builder
	b.WriteString("#!/bin/bash\n")
	b.WriteString(m.note("# "))
	fmt.Fprintf(&b, "#SBATCH --job-name=%s\n#SBATCH --array=0-%d%%%d\n#SBATCH --output=%s/%s-%%A_%%a.out\n", m.name, m.runs-1, m.parallelism, filepath.Dir(m.spec), m.name)
	if m.gpus > 0 {
		fmt.Fprintf(&b, "#SBATCH --gres=gpu:%d\n", m.gpus)
	}
	fmt.Fprintf(&b, "set -euo pipefail\ncd %s\nexec embedtune sweep --config %s --no-progress  # trains run $SLURM_ARRAY_TASK_ID\n",
		shellQuote(filepath.Dir(m.spec)), shellQuote(m.spec))
	return b.String()
}

// quoteYAML writes a string as a double-quoted YAML (and JSON) scalar.
func quoteYAML(s string) string { return strconv.Quote(s) }

// shellQuote quotes a word for bash.
func shellQuote(s string) string {
	if regexp.MustCompile(`^[A-Za-z0-9_./:=@%+-]+$`).MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
