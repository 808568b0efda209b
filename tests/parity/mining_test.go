package parity

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/embedtune/embedtune/internal/testutil"
	"github.com/embedtune/embedtune/trainlib/datasets"
)

// miningResult is one model's hard-negative mining comparison.
type miningResult struct {
	Model     string         `json:"model"`
	Prompt    string         `json:"query_prompt,omitempty"`
	Pairs     int            `json:"pairs"`
	Corpus    int            `json:"extra_corpus"`
	Cases     []miningCaseRe `json:"cases"`
	GoSeconds float64        `json:"go_seconds"`
}

type miningCaseRe struct {
	Name          string `json:"name"`
	Rows          int    `json:"rows"`
	PythonRows    int    `json:"python_rows"`
	IdenticalRows int    `json:"identical_rows"`
}

// TestMineHardNegativesRealModels mines hard negatives for SQuAD questions (their contexts as positives,
// the contexts of other articles as the extra corpus) with real weights, once with our miner (Go
// encodes) and once with sentence-transformers' mine_hard_negatives (PyTorch encodes), and requires
// the same datasets, row for row, for the top and random strategies, a margin and a range window.
func TestMineHardNegativesRealModels(t *testing.T) {
	modelsDir(t)
	s := loadSQuAD(t)
	nq, corpusArticles := 80, 2 // the extra corpus: every context of that many more articles
	if currentSize().Name == "full" {
		nq, corpusArticles = 400, 5
	}
	var q, c []string
	for _, a := range s.articles[:3] {
		for _, p := range a.pairs {
			q, c = append(q, p[0]), append(c, p[1])
		}
	}
	idx := spread(func() []int {
		out := make([]int, len(q))
		for i := range out {
			out[i] = i
		}
		return out
	}(), nq)
	var qs, cs []string
	for _, i := range idx {
		qs, cs = append(qs, q[i]), append(cs, c[i])
	}
	var extra []string
	for _, a := range s.articles[3 : 3+corpusArticles] {
		extra = append(extra, a.contexts...)
	}
	pairs, err := datasets.FromColumns(datasets.Col("question", qs), datasets.Col("context", cs))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		seed int64
		opts datasets.MineOptions
		py   map[string]any
	}{
		{"top, triplet", 0, datasets.MineOptions{}, map[string]any{}},
		{"top, n-tuple, range_min 2, relative_margin 0.05, 5 negatives, scores", 0,
			datasets.MineOptions{RangeMin: 2, RelativeMargin: datasets.Ptr(0.05), NumNegatives: 5, OutputFormat: datasets.OutputNTuple, OutputScores: true},
			map[string]any{"range_min": 2, "relative_margin": 0.05, "num_negatives": 5, "output_format": "n-tuple", "output_scores": true}},
		{"random (seed 12), labeled-list, range_max 40, max_score 0.9", 12,
			datasets.MineOptions{RangeMax: 40, MaxScore: datasets.Ptr(0.9), SamplingStrategy: datasets.SamplingRandom, OutputFormat: datasets.OutputLabeledList},
			map[string]any{"range_max": 40, "max_score": 0.9, "sampling_strategy": "random", "output_format": "labeled-list"}},
	}
	for _, tc := range []struct{ model, prompt string }{{miniLM, ""}, {bgeSmall, bgeQueryPrompt}} {
		t.Run(tc.model, func(t *testing.T) {
			dir := modelDir(t, tc.model)
			m := loadModel(t, dir)
			res := miningResult{Model: tc.model, Prompt: tc.prompt, Pairs: pairs.Len(), Corpus: len(extra)}
			var pyCases []map[string]any
			var got []*datasets.Dataset
			start := time.Now()
			cache, pyCache := t.TempDir(), t.TempDir() // the cases share their texts: encoded once
			for _, c := range cases {
				o := c.opts
				o.Corpus, o.Seed, o.QueryPrompt, o.CacheFolder = extra, c.seed, tc.prompt, cache
				d, _, err := datasets.MineHardNegatives(pairs, m, o)
				if err != nil {
					t.Fatalf("%s: %v", c.name, err)
				}
				got = append(got, d)
				py := map[string]any{}
				for k, v := range c.py {
					py[k] = v
				}
				if tc.prompt != "" {
					py["query_prompt"] = tc.prompt
				}
				py["cache_folder"] = pyCache // sentence-transformers' own embedding cache: it encodes once too
				pyCases = append(pyCases, map[string]any{"seed": c.seed, "options": py})
			}
			res.GoSeconds = time.Since(start).Seconds()
			var rows [][]string
			for i := range qs {
				rows = append(rows, []string{qs[i], cs[i]})
			}
			var want struct {
				Responses []struct {
					Results []struct {
						Columns []string `json:"columns"`
						Rows    [][]any  `json:"rows"`
					} `json:"results"`
				} `json:"responses"`
			}
			req := map[string]any{"requests": []map[string]any{{"model": dir, "columns": []string{"question", "context"}, "rows": rows,
				"corpus": extra, "cases": pyCases}}}
			python(t, "mine_reference.py", req, &want)
			for i, c := range cases {
				w := want.Responses[0].Results[i]
				cr := miningCaseRe{Name: c.name, Rows: got[i].Len(), PythonRows: len(w.Rows)}
				var diffs []string
				for r, row := range got[i].All() {
					if r >= len(w.Rows) {
						break
					}
					same := true
					for j, col := range w.Columns {
						g, _ := json.Marshal(row[col])
						wj, _ := json.Marshal(w.Rows[r][j])
						if string(g) != string(wj) && !testutil.JSONClose(g, wj, 1e-4) {
							same = false
						}
					}
					if same {
						cr.IdenticalRows++
					} else if len(diffs) < 3 {
						diffs = append(diffs, fmt.Sprintf("row %d", r))
					}
				}
				res.Cases = append(res.Cases, cr)
				// A score bound with random sampling: a candidate whose similarity lies within float32 noise of
				// the bound (our embeddings and PyTorch's differ by ~1e-7) can enter one candidate pool and not
				// the other, which changes that anchor's random draw. One such row is tolerated, no more.
				tolerated := 0
				if strings.Contains(c.name, "random") && (strings.Contains(c.name, "score") || strings.Contains(c.name, "margin")) {
					tolerated = 1
				}
				if cr.Rows != cr.PythonRows || cr.IdenticalRows < cr.Rows-tolerated {
					t.Errorf("%s: %d rows (Python %d), %d identical; first differences: %s", c.name, cr.Rows, cr.PythonRows,
						cr.IdenticalRows, strings.Join(diffs, ", "))
				}
			}
			record(t, part{Kind: "mining", Mining: &res})
		})
	}
}

// renderMining writes the mining section of results.md.
func renderMining(b *strings.Builder, ps []part) {
	if len(ps) == 0 {
		return
	}
	b.WriteString("## Hard-negative mining: `datasets.MineHardNegatives` vs `mine_hard_negatives` (SQuAD questions, each side encoding with its own engine)\n\n")
	b.WriteString("| model | pairs + extra corpus | case | rows ours / Python | identical rows | Go time (all cases) |\n|---|---|---|---|---|---|\n")
	for _, p := range ps {
		m := p.Mining
		name := m.Model
		if m.Prompt != "" {
			name += " (query prompt)"
		}
		for _, c := range m.Cases {
			fmt.Fprintf(b, "| %s | %d + %d | %s | %d / %d | %d / %d | %.0f s |\n", name, m.Pairs, m.Corpus, c.Name, c.Rows, c.PythonRows, c.IdenticalRows, c.Rows, m.GoSeconds)
		}
	}
	b.WriteString("\n")
}
