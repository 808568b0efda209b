package parity

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/embedtune/embedtune/internal/atomicio"
	"github.com/embedtune/embedtune/trainlib/backend"
)

// part is one recorded result; tests write each to build/parity/parts/<kind>-<test>.json and
// TestMain renders them all into results.md.
type part struct {
	Kind     string          `json:"kind"`
	Encode   *encodeResult   `json:"encode,omitempty"`
	FineTune *fineTuneResult `json:"finetune,omitempty"`
	Saved    *savedResult    `json:"saved,omitempty"`
	SciFact  *sciFactResult  `json:"scifact,omitempty"`
	Bench    *benchResult    `json:"bench,omitempty"`
	Mining   *miningResult   `json:"mining,omitempty"`
}

type encodeResult struct {
	Model        string  `json:"model"`
	Prompt       string  `json:"question_prompt,omitempty"`
	MaxSeqLength int     `json:"max_seq_length"`
	Questions    int     `json:"questions"`
	Contexts     int     `json:"contexts"`
	Long         int     `json:"long"`
	Truncated    int     `json:"truncated"`
	IDsIdentical int     `json:"ids_identical"`
	MaxAbsDiff   float64 `json:"max_abs_diff"`
	MinCosine    float64 `json:"min_cosine"`
}

type sideResult struct {
	Before      map[string]float64 `json:"before"`
	After       map[string]float64 `json:"after"`
	Losses      []float64          `json:"losses"`
	StepSeconds []float64          `json:"step_seconds"`
	Runtime     float64            `json:"train_runtime_seconds"`
}

type fineTuneResult struct {
	Run           fineTune   `json:"run"`
	MaxSeqLength  int        `json:"max_seq_length"`
	TrainPairs    int        `json:"train_pairs"`
	TrainArticles int        `json:"train_articles"`
	HeldArticles  int        `json:"held_out_articles"`
	Queries       int        `json:"queries"`
	Corpus        int        `json:"corpus"`
	WarmupSteps   int        `json:"warmup_steps"`
	PyWarmup      int        `json:"python_warmup_steps"`
	PyOptim       string     `json:"python_optim"`
	Ours          sideResult `json:"ours"`
	Python        sideResult `json:"python"`
	LossMaxDiff   float64    `json:"loss_max_abs_diff"`
}

type savedResult struct {
	Model        string  `json:"model"`
	Texts        int     `json:"texts"`
	MaxAbsDiff   float64 `json:"max_abs_diff"`
	MinCosine    float64 `json:"min_cosine"`
	ChangeVsBase float64 `json:"change_vs_base"`
}

type sciFactResult struct {
	Model         string             `json:"model"`
	Prompt        string             `json:"query_prompt,omitempty"`
	Set           string             `json:"set"`
	Queries       int                `json:"queries"`
	Corpus        int                `json:"corpus"`
	Ours          map[string]float64 `json:"ours"`
	Python        map[string]float64 `json:"python"`
	PythonCached  bool               `json:"python_cached"`
	Published     map[string]float64 `json:"published,omitempty"`
	GoSeconds     float64            `json:"go_seconds"`
	PythonSeconds float64            `json:"python_seconds"`
}

type benchResult struct {
	Workload string  `json:"workload"`
	Shapes   string  `json:"shapes"`
	Unit     string  `json:"unit"`
	Ours     float64 `json:"ours"`
	Torch    float64 `json:"torch"`
	// Ratio is ours/torch for times and torch/ours for throughputs: how many times slower we are.
	Ratio float64 `json:"slowdown"`
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// record writes a result part for results.md.
func record(t testing.TB, p part) {
	t.Helper()
	out, err := outputDir()
	if err != nil {
		t.Fatal(err)
	}
	name := p.Kind + "-" + unsafeName.ReplaceAllString(t.Name(), "_") + ".json"
	if err := os.MkdirAll(filepath.Join(out, "parts"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeJSON(t, filepath.Join(out, "parts", name), p)
}

// runEnv describes the machine and the run.
type runEnv struct {
	Size       string `json:"size"`
	Started    string `json:"started"`
	Finished   string `json:"finished"`
	CPU        string `json:"cpu"`
	NumCPU     int    `json:"num_cpu"`
	LoadStart  string `json:"loadavg_start"`
	LoadEnd    string `json:"loadavg_end"`
	GoVersion  string `json:"go"`
	Experiment string `json:"goexperiment"`
	Backend    string `json:"backend"`
}

func captureEnv() runEnv {
	e := runEnv{Size: currentSize().Name, Started: time.Now().Format(time.RFC3339), NumCPU: runtime.NumCPU(),
		LoadStart: loadAvg(), GoVersion: runtime.Version(), Experiment: os.Getenv("GOEXPERIMENT")}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				e.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := backend.Default(); err == nil {
		e.Backend = b.Description()
	} else {
		e.Backend = "unavailable: " + err.Error()
	}
	return e
}

// loadAvg returns the 1, 5 and 15 minute load averages ("" when unknown).
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// writeResults renders the recorded parts into results.md and results.json; it returns the
// markdown ("" when nothing was recorded).
func writeResults(out string, env runEnv) (string, error) {
	env.Finished = time.Now().Format(time.RFC3339)
	env.LoadEnd = loadAvg()
	files, err := filepath.Glob(filepath.Join(out, "parts", "*.json"))
	if err != nil {
		return "", err
	}
	if len(files) == 0 {
		return "", nil
	}
	sort.Strings(files)
	var parts []part
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		var p part
		if err := json.Unmarshal(b, &p); err != nil {
			return "", fmt.Errorf("%s: %w", f, err)
		}
		parts = append(parts, p)
	}
	md := renderMarkdown(env, parts)
	if err := atomicio.WriteFile(filepath.Join(out, "results.md"), []byte(md), 0o644); err != nil {
		return "", err
	}
	js, err := json.MarshalIndent(map[string]any{"env": env, "results": parts}, "", " ")
	if err != nil {
		return "", err
	}
	return md, atomicio.WriteFile(filepath.Join(out, "results.json"), js, 0o644)
}

func renderMarkdown(env runEnv, parts []part) string {
	var b strings.Builder
	cmd := "scripts/parity.sh"
	if env.Size == "full" {
		cmd += " --full"
	}
	fmt.Fprintf(&b, "# embedtune vs Python sentence-transformers on real weights (%s size)\n\n", env.Size)
	fmt.Fprintf(&b, "Regenerate with `%s` (writes build/parity/results.md). Machine: %d× %s, load average %s at the start and %s at the end (shared machine); "+
		"Go %s, GOEXPERIMENT=%s, backend %s; %s → %s.\n\n",
		cmd, env.NumCPU, env.CPU, env.LoadStart, env.LoadEnd, env.GoVersion, env.Experiment, env.Backend, env.Started, env.Finished)
	byKind := map[string][]part{}
	for _, p := range parts {
		byKind[p.Kind] = append(byKind[p.Kind], p)
	}
	renderSummary(&b, byKind)
	if ps := byKind["encode"]; len(ps) > 0 {
		b.WriteString("## Embeddings: `model.Encode` vs `SentenceTransformer.encode` (SQuAD v1.1 dev texts)\n\n")
		b.WriteString("| model | texts: questions / contexts / longer than max_seq_length | truncated | token ids identical | max abs diff | 1 − min cosine |\n|---|---|---|---|---|---|\n")
		for _, p := range ps {
			e := p.Encode
			name := e.Model
			if e.Prompt != "" {
				name += " (query prompt on questions)"
			}
			n := e.Questions + e.Contexts + e.Long
			fmt.Fprintf(&b, "| %s | %d: %d / %d / %d | %d (max_seq_length %d) | %d / %d | %.2e | %.1e |\n",
				name, n, e.Questions, e.Contexts, e.Long, e.Truncated, e.MaxSeqLength, e.IDsIdentical, n, e.MaxAbsDiff, 1-e.MinCosine)
		}
		b.WriteString("\nThresholds: identical ids, max abs diff ≤ 1e-5, 1 − cosine ≤ 1e-5 (cosine ≥ 0.99999).\n\n")
	}
	if ps := byKind["finetune"]; len(ps) > 0 {
		b.WriteString("## Fine-tuning: our Trainer vs `SentenceTransformerTrainer` (SQuAD v1.1 dev, split by article)\n\n")
		b.WriteString("MultipleNegativesRankingLoss (scale 20, cosine), batch 16, NO_DUPLICATES, lr 2e-5, linear schedule with warmup ratio 0.1, AdamW, fp32, seed 42, CPU; " +
			"metrics on held-out articles (sampled questions as queries, all the articles' contexts as the corpus).\n\n")
		b.WriteString("| model, run | nDCG@10 before → after, ours | nDCG@10 before → after, Python | gain ours − Python | MRR@10 after, ours / Python | Recall@10 after, ours / Python | per-step loss max abs diff | s/step ours / Python (median; first) |\n|---|---|---|---|---|---|---|---|\n")
		for _, p := range ps {
			f := p.FineTune
			const nd, mrr, rec = "squad_cosine_ndcg@10", "squad_cosine_mrr@10", "squad_cosine_recall@10"
			fmt.Fprintf(&b, "| %s, %s, %d steps | %s | %s | %+.4f | %.4f / %.4f | %.4f / %.4f | %.1e | %.2f / %.2f (%.2f / %.2f) |\n",
				f.Run.Model, f.Run.Variant, f.Run.Steps, beforeAfter(f.Ours, nd, true), beforeAfter(f.Python, nd, true),
				gain(f.Ours, nd)-gain(f.Python, nd), f.Ours.After[mrr], f.Python.After[mrr], f.Ours.After[rec], f.Python.After[rec],
				f.LossMaxDiff, median(tail(f.Ours.StepSeconds)), median(tail(f.Python.StepSeconds)), first(f.Ours.StepSeconds), first(f.Python.StepSeconds))
		}
		b.WriteString("\n")
		for _, p := range ps {
			f := p.FineTune
			fmt.Fprintf(&b, "- %s, %s: max_seq_length %d, %d training pairs (the questions of %d articles), %d held-out queries × %d documents (%d articles), warmup %d steps (Python %d), Python optimizer %s.\n",
				f.Run.Model, f.Run.Variant, f.MaxSeqLength, f.TrainPairs, f.TrainArticles, f.Queries, f.Corpus, f.HeldArticles, f.WarmupSteps, f.PyWarmup, f.PyOptim)
		}
		b.WriteString("\nGoal (issue 7): gain within ±0.01 nDCG@10 of Python's. Loss curves of both: build/parity/loss_curves.html. " +
			"\"same batches, no dropout\" feeds Python the Go sampler's batches and sets dropout to 0 in both, so both trainers must follow the same trajectory " +
			"(only float32 rounding differs). \"own samplers\" is the plain setting: each trainer draws its own NO_DUPLICATES batches (Go's PCG vs torch's generator) " +
			"and its own dropout masks, so curves and gains differ by training noise. A step is measured from one step end to the next: tokenization, forward, " +
			"backward, clipping, AdamW; the first Go step also compiles the graphs (each new padded shape compiles once).\n\n")
	}
	if ps := byKind["saved"]; len(ps) > 0 {
		b.WriteString("## A folder saved by our trainer, loaded by Python `SentenceTransformer(dir)`\n\n")
		b.WriteString("| model | texts | max abs diff vs our trained model | 1 − min cosine | change vs the base model (max abs) |\n|---|---|---|---|---|\n")
		for _, p := range ps {
			s := p.Saved
			fmt.Fprintf(&b, "| %s | %d | %.2e | %.1e | %.2e |\n", s.Model, s.Texts, s.MaxAbsDiff, 1-s.MinCosine, s.ChangeVsBase)
		}
		b.WriteString("\n")
	}
	if ps := byKind["scifact"]; len(ps) > 0 {
		b.WriteString("## BEIR SciFact (test): our evaluator + encoder vs Python vs published\n\n")
		b.WriteString("Documents: title + \" \" + text; cosine; the model's pooling (CLS for bge, mean for MiniLM) and normalization.\n\n")
		b.WriteString("| model | set | nDCG@10 ours | nDCG@10 Python | nDCG@10 published | MRR@10 ours / Python | Recall@10 ours / Python | encode+search time ours / Python |\n|---|---|---|---|---|---|---|---|\n")
		for _, p := range ps {
			s := p.SciFact
			name := s.Model
			if s.Prompt != "" {
				name += fmt.Sprintf(" (query prompt %q)", s.Prompt)
			}
			pub := "—"
			if v, ok := s.Published["ndcg@10"]; ok {
				pub = fmt.Sprintf("%.5f (MTEB)", v)
			}
			pyTime := fmt.Sprintf("%.0f s", s.PythonSeconds)
			if s.PythonCached {
				pyTime += " (cached)"
			}
			fmt.Fprintf(&b, "| %s | %s | %.5f | %.5f | %s | %.5f / %.5f | %.5f / %.5f | %.0f s / %s |\n", name, s.Set,
				s.Ours["scifact_cosine_ndcg@10"], s.Python["scifact_cosine_ndcg@10"], pub,
				s.Ours["scifact_cosine_mrr@10"], s.Python["scifact_cosine_mrr@10"],
				s.Ours["scifact_cosine_recall@10"], s.Python["scifact_cosine_recall@10"], s.GoSeconds, pyTime)
		}
		b.WriteString("\n")
	}
	renderMining(&b, byKind["mining"])
	if ps := byKind["bench"]; len(ps) > 0 {
		b.WriteString("## Performance: ours vs PyTorch CPU, same model (all-MiniLM-L6-v2), same batch shapes, same machine\n\n")
		b.WriteString("| workload | shapes | embedtune (Go) | PyTorch | Go slower by |\n|---|---|---|---|---|\n")
		for _, p := range ps {
			r := p.Bench
			fmt.Fprintf(&b, "| %s | %s | %.3g %s | %.3g %s | %.1f× |\n", r.Workload, r.Shapes, r.Ours, r.Unit, r.Torch, r.Unit, r.Ratio)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// renderSummary writes the one-table overview: ours vs Python vs the published or required value.
func renderSummary(b *strings.Builder, byKind map[string][]part) {
	var rows []string
	for _, p := range byKind["scifact"] {
		s := p.SciFact
		ref := "— (no published number on this set)"
		if v, ok := s.Published["ndcg@10"]; ok {
			ref = fmt.Sprintf("%.5f (published, MTEB)", v)
		}
		rows = append(rows, fmt.Sprintf("| BEIR SciFact nDCG@10, %s (%s) | %.5f | %.5f | %s |", s.Model, s.Set,
			s.Ours["scifact_cosine_ndcg@10"], s.Python["scifact_cosine_ndcg@10"], ref))
	}
	for _, p := range byKind["finetune"] {
		f := p.FineTune
		const nd = "squad_cosine_ndcg@10"
		rows = append(rows, fmt.Sprintf("| SQuAD held-out nDCG@10 gain from fine-tuning, %s, %s, %d steps | %s | %s | gains within ±0.01 (Δ %+.4f) |",
			f.Run.Model, f.Run.Variant, f.Run.Steps, beforeAfter(f.Ours, nd, true), beforeAfter(f.Python, nd, true), gain(f.Ours, nd)-gain(f.Python, nd)))
	}
	for _, p := range byKind["encode"] {
		e := p.Encode
		rows = append(rows, fmt.Sprintf("| embeddings of %d SQuAD texts, %s: max abs diff, 1 − min cosine; token ids | %.1e, %.1e; %d/%d ids identical | (reference) | ≤ 1e-5, ≤ 1e-5; identical |",
			e.Questions+e.Contexts+e.Long, e.Model, e.MaxAbsDiff, 1-e.MinCosine, e.IDsIdentical, e.Questions+e.Contexts+e.Long))
	}
	for _, p := range byKind["saved"] {
		s := p.Saved
		rows = append(rows, fmt.Sprintf("| folder saved by our trainer, loaded by Python, %s: max abs diff | %.1e | (reference) | ≤ 1e-5 |", s.Model, s.MaxAbsDiff))
	}
	for _, p := range byKind["bench"] {
		r := p.Bench
		rows = append(rows, fmt.Sprintf("| %s, %s | %.3g %s | %.3g %s | Go %.1f× slower |", r.Workload, r.Shapes, r.Ours, r.Unit, r.Torch, r.Unit, r.Ratio))
	}
	if len(rows) == 0 {
		return
	}
	b.WriteString("## Summary\n\n| check | embedtune (Go) | sentence-transformers (Python) | published / required |\n|---|---|---|---|\n")
	b.WriteString(strings.Join(rows, "\n"))
	b.WriteString("\n\n")
}

func beforeAfter(r sideResult, key string, withGain bool) string {
	s := fmt.Sprintf("%.4f → %.4f", r.Before[key], r.After[key])
	if withGain {
		s += fmt.Sprintf(" (%+.4f)", r.After[key]-r.Before[key])
	}
	return s
}

func gain(r sideResult, key string) float64 { return r.After[key] - r.Before[key] }

// tail drops the first step (graph compilation on our side, warm-up on PyTorch's).
func tail(xs []float64) []float64 {
	if len(xs) <= 1 {
		return xs
	}
	return xs[1:]
}

func first(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	return xs[0]
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
