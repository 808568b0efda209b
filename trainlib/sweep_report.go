package trainlib

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/embedtune/embedtune/internal/atomicio"
	"github.com/embedtune/embedtune/internal/lockfile"
	"github.com/embedtune/embedtune/trainlib/sweep"
)

// Files of the sweep's folder written by Report.
const (
	resultsJSONFile = "results.json"
	resultsCSVFile  = "results.csv"
	bestDir         = "best"
	bestMarkerFile  = "sweep_best_run.txt" // in best/: the run it was copied from
)

// Report builds the results table from the runs' own records — never from an earlier results file,
// so a damaged one is simply rebuilt — writes results.json and results.csv, and copies the best run's
// model to best/. Runs without a record are listed as pending, or running when they have started (a
// run whose process died stays "running" until the sweep runs again and resumes it). Several
// processes may report at once (they take turns).
func (s *Sweep) Report(ctx context.Context) (*sweep.Results, error) {
	if err := os.MkdirAll(s.OutputDir, 0o755); err != nil {
		return nil, err
	}
	unlock, err := lockfile.Lock(ctx, filepath.Join(s.OutputDir, ".report.lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()
	res := s.Results()
	if err := atomicio.WriteStream(filepath.Join(s.OutputDir, resultsJSONFile), 0o644, res.WriteJSON); err != nil {
		return nil, err
	}
	if err := atomicio.WriteStream(filepath.Join(s.OutputDir, resultsCSVFile), 0o644, res.WriteCSV); err != nil {
		return nil, err
	}
	if best := res.BestRow(); best != nil {
		if err := s.keepBest(best.Index); err != nil {
			return nil, fmt.Errorf("copying the best model (%s) to %s: %w", best.Run, filepath.Join(s.OutputDir, bestDir), err)
		}
	}
	return res, nil
}

// Results returns the results table as the runs' records on disk describe it now (Report also writes
// it).
func (s *Sweep) Results() *sweep.Results {
	n := s.NumRuns()
	res := &sweep.Results{Name: s.Spec.Name, Method: s.Spec.Method, Parameters: s.Spec.ParameterNames()}
	res.Metric, res.Goal = s.metric("")
	for i := 0; i < n; i++ {
		if rec := s.readRecord(i); rec != nil {
			if rec.Metric != "" {
				res.Metric, res.Goal = rec.Metric, rec.Goal
			}
			res.Rows = append(res.Rows, rec.Row)
			continue
		}
		row := sweep.Row{Run: s.RunID(i), Index: i, Status: sweep.StatusPending}
		if p := s.readProgress(i); p != nil {
			row.Status, row.Params = sweep.StatusRunning, p.Params
			row.Reason = "started, not ended: training in some process, or interrupted (running the sweep again resumes it)"
			row.History = p.History
		} else if s.Spec.Method != sweep.Bayes {
			row.Params, _ = s.Spec.Suggest(i, nil)
		}
		res.Rows = append(res.Rows, row)
	}
	res.PickBest()
	return res
}

// keepBest copies run i's final model (its folder without checkpoints and the sweep's files) to
// best/, unless best/ already holds it.
func (s *Sweep) keepBest(i int) error {
	dst := filepath.Join(s.OutputDir, bestDir)
	id := s.RunID(i)
	if b, err := os.ReadFile(filepath.Join(dst, bestMarkerFile)); err == nil && strings.TrimSpace(string(b)) == id {
		return nil
	}
	src := s.runDir(i)
	if !fileExists(filepath.Join(src, "modules.json")) && !fileExists(filepath.Join(src, "adapter_config.json")) {
		return fmt.Errorf("%s has no final model", src)
	}
	return atomicio.ReplaceDir(dst, func(tmp string) error {
		if err := copyTree(src, tmp, func(name string) bool {
			return !strings.HasPrefix(name, checkpointPrefix) && !strings.HasPrefix(name, ".") &&
				name != runRecordFile && name != runProgressFile
		}); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(tmp, bestMarkerFile), []byte(id+"\n"), 0o644)
	})
}

// copyTree copies the entries of src that keep (by name, at the top level) accepts into dst.
func copyTree(src, dst string, keep func(name string) bool) error {
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if keep != nil && !keep(e.Name()) {
			continue
		}
		from, to := filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())
		if e.IsDir() {
			if err := os.MkdirAll(to, 0o755); err != nil {
				return err
			}
			if err := copyTree(from, to, nil); err != nil {
				return err
			}
			continue
		}
		if err := copyFile(from, to); err != nil {
			return err
		}
	}
	return nil
}

// copyFile copies one file.
func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
