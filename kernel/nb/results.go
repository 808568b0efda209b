package nb

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/embedtune/embedtune/charts"
	"github.com/embedtune/embedtune/kernel/display"
	"github.com/embedtune/embedtune/trainlib"
	"github.com/embedtune/embedtune/trainlib/evaluation"
)

// Examples returns queries for a side-by-side comparison: the given questions (no known answer), then
// the first n held-out questions with their relevant passages, ids "q1", "q2", ... in that order.
func Examples(h *HeldOut, questions []string, n int) (queries map[string]string, relevant map[string]map[string]bool) {
	queries, relevant = map[string]string{}, map[string]map[string]bool{}
	for i, q := range questions {
		queries[fmt.Sprintf("q%d", i+1)] = q
	}
	for i, id := range h.IR.QueryIDs[:min(n, len(h.IR.QueryIDs))] {
		k := fmt.Sprintf("q%d", len(questions)+i+1)
		queries[k] = h.IR.Queries[id]
		relevant[k] = h.IR.RelevantDocs[id]
	}
	return queries, relevant
}

// Moves is the per-question outcome of a base-vs-fine-tuned comparison: how many questions improved,
// worsened or stayed, the largest moves both ways, and the side-by-side top passages of the three
// biggest wins and losses.
type Moves struct {
	Cmp *evaluation.RetrievalComparison
	// N is how many of the largest wins and losses the table lists.
	N int
}

// LargestMoves wraps a comparison for display (n largest wins and losses).
func LargestMoves(cmp *evaluation.RetrievalComparison, n int) *Moves { return &Moves{Cmp: cmp, N: n} }

// HTML shows the counts, the table of largest moves and the details of the three biggest each way.
func (m *Moves) HTML() string {
	cmp := m.Cmp
	rank := func(r int) int { // "not found within RankDepth" (0) after every found rank
		if r == 0 {
			return cmp.RankDepth + 1
		}
		return r
	}
	rankText := func(r int) string {
		if r == 0 {
			return fmt.Sprintf(">%d", cmp.RankDepth)
		}
		return strconv.Itoa(r)
	}
	var judged []evaluation.QueryComparison
	for _, q := range cmp.Queries {
		if q.Outcome != evaluation.NotJudged {
			judged = append(judged, q)
		}
	}
	sort.SliceStable(judged, func(i, j int) bool { // largest improvement first
		return rank(judged[i].BaseRank)-rank(judged[i].TunedRank) > rank(judged[j].BaseRank)-rank(judged[j].TunedRank)
	})
	head := fmt.Sprintf(`<p style="font:13px sans-serif"><b>%d wins, %d losses, %d ties</b> over %d questions (rank of the relevant passage, searched to depth %d).</p>`,
		cmp.Wins, cmp.Losses, cmp.Ties, cmp.Wins+cmp.Losses+cmp.Ties, cmp.RankDepth)
	t := display.NewTable(fmt.Sprintf("Largest moves (%d best wins, %d worst losses)", m.N, m.N), "Query", "Question", "Base rank", "Fine-tuned rank", "Outcome")
	t.MaxCellRunes = 100
	var picked []evaluation.QueryComparison
	for i, q := range judged {
		fromEnd := len(judged) - 1 - i
		if (q.Outcome == evaluation.Win && i < m.N) || (q.Outcome == evaluation.Loss && fromEnd < m.N) {
			_ = t.AddRow(q.QueryID, q.Query, rankText(q.BaseRank), rankText(q.TunedRank), string(q.Outcome))
		}
		if (q.Outcome == evaluation.Win && i < 3) || (q.Outcome == evaluation.Loss && fromEnd < 3) {
			picked = append(picked, q)
		}
	}
	out := head + t.HTML()
	if len(picked) > 0 {
		details := *cmp // same settings and totals, only the picked queries
		details.Queries = picked
		out += details.HTML()
	}
	return out
}

// Folder lists a saved model folder's files, and how Python loads it.
type Folder string

// HTML shows the files with their sizes.
func (f Folder) HTML() string {
	dir := string(f)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return display.NewSummary("Folder "+dir).Add("Error", err.Error()).HTML()
	}
	t := display.NewTable("Contents of "+absPath(dir), "Name", "Size")
	for _, e := range entries {
		size := "folder"
		if info, err := e.Info(); err == nil && !e.IsDir() {
			size = humanBytes(info.Size())
		}
		_ = t.AddRow(e.Name(), size)
	}
	return t.HTML() + fmt.Sprintf(`<p style="font:13px sans-serif">In Python: <code>SentenceTransformer(%q)</code></p>`, absPath(dir))
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// Curves reads trainer_state.json (Hugging Face's format) of outputDir's newest checkpoint and returns
// its charts: training and validation loss, learning rate, and the evaluator's main metrics.
func Curves(outputDir string) ([]*charts.Chart, error) {
	ck, err := trainlib.LatestCheckpoint(outputDir)
	if err != nil {
		return nil, err
	}
	if ck == "" {
		return nil, fmt.Errorf("no checkpoint in %s (EMBEDTUNE_OUTPUT_DIR): run the training cell of 01_finetune_embedder.ipynb first", absPath(outputDir))
	}
	s, err := trainlib.ReadTrainerState(ck)
	if err != nil {
		return nil, err
	}
	h := charts.LogHistory(s.LogHistory)
	where := fmt.Sprintf(" (%s, step %d of %d)", filepath.Join(filepath.Base(ck), "trainer_state.json"), s.GlobalStep, s.MaxSteps)
	loss, err := charts.Loss(h, charts.WithTitle("Training and validation loss"+where))
	if err != nil {
		return nil, err
	}
	lr, err := charts.LearningRate(h, charts.WithSize("900px", "300px"))
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, k := range charts.MetricKeys(h) {
		for _, suffix := range []string{"_ndcg@10", "_mrr@10", "_accuracy@1", "_recall@10"} {
			if strings.HasSuffix(k, suffix) {
				keys = append(keys, k)
			}
		}
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%s: the log history has no evaluator metrics (was the run evaluated?)", ck)
	}
	metrics, err := charts.EvalMetrics(h, keys, charts.WithTitle("Held-out retrieval during training"))
	if err != nil {
		return nil, err
	}
	return []*charts.Chart{loss, lr, metrics}, nil
}

// MaxAbsDiff is the largest absolute difference between two lists of vectors of the same shape.
func MaxAbsDiff(a, b [][]float32) float64 {
	d := 0.0
	for i := range a {
		for j := range a[i] {
			d = math.Max(d, math.Abs(float64(a[i][j]-b[i][j])))
		}
	}
	return d
}
