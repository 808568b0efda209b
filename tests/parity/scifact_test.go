package parity

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/embedtune/embedtune/trainlib/datasets"
	"github.com/embedtune/embedtune/trainlib/evaluation"
)

// publishedBGESmallSciFact is BAAI/bge-small-en-v1.5 on MTEB SciFact (test), from
// ../shared/data/reference-scores.md (embeddings-benchmark/results, mteb 1.20.0).
var publishedBGESmallSciFact = map[string]float64{"ndcg@10": 0.71273, "mrr@10": 0.68229, "recall@10": 0.83622}

const (
	// sciFactPythonTolerance bounds |ours − Python| of nDCG@10, MRR@10 and Recall@10 on the same set:
	// embeddings agree to 1e-5, so only near-tied rankings can differ.
	sciFactPythonTolerance = 2e-3
	// sciFactPublishedTolerance bounds |ours − published| of nDCG@10 on the full test set (Python
	// sentence-transformers on the same folder: 0.71271).
	sciFactPublishedTolerance = 2e-3
)

// sciFactSubset restricts a BEIR set to nq queries (in file order), their relevant documents and
// nOthers other documents spread evenly over the corpus (datasets.IRData.Subset); nq == 0 keeps
// everything.
func sciFactSubset(ir *datasets.IRData, nq, nOthers int) (queries, corpus map[string]string, relevant map[string]map[string]bool, desc string) {
	if nq == 0 {
		sub := ir.Subset(0, -1)
		return sub.Queries, sub.Corpus, sub.RelevantDocs, fmt.Sprintf("test, all %d queries × %d documents", len(sub.QueryIDs), len(sub.Corpus))
	}
	sub := ir.Subset(nq, nOthers)
	nRel := len(sub.Corpus) - min(nOthers, len(ir.Corpus))
	return sub.Queries, sub.Corpus, sub.RelevantDocs, fmt.Sprintf("test subset: first %d queries, their %d relevant + %d other documents", nq, nRel, len(sub.Corpus)-nRel)
}

// TestSciFact evaluates real models on BEIR SciFact with our evaluator and encoder, and compares
// with Python sentence-transformers on exactly the same set and, for bge-small-en-v1.5 on the full
// test set, with the published MTEB score.
func TestSciFact(t *testing.T) {
	modelsDir(t)
	sz := currentSize()
	data := sharedData(t, "beir-scifact")
	ir, err := datasets.LoadBEIR(data, "test")
	if err != nil {
		t.Fatal(err)
	}
	queries, corpus, relevant, desc := sciFactSubset(ir, sz.SciQueries, sz.SciOthers)
	evalFile := filepath.Join(t.TempDir(), "scifact.json")
	writeJSON(t, evalFile, newIRFile(queries, corpus, relevant))
	for _, tc := range []struct {
		model, prompt string
		published     map[string]float64
	}{{bgeSmall, bgeQueryPrompt, publishedBGESmallSciFact}, {miniLM, "", nil}} {
		t.Run(tc.model, func(t *testing.T) {
			dir := modelDir(t, tc.model)
			m := loadModel(t, dir)
			ev, err := evaluation.NewInformationRetrievalEvaluator(queries, corpus, relevant,
				evaluation.IROptions{Name: "scifact", QueryPrompt: tc.prompt})
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			ours, err := ev.Evaluate(context.Background(), m)
			if err != nil {
				t.Fatal(err)
			}
			goSecs := time.Since(start).Seconds()

			var py struct {
				Metrics map[string]float64 `json:"metrics"`
				Seconds float64            `json:"seconds"`
				Queries int                `json:"queries"`
				Corpus  int                `json:"corpus"`
			}
			req := map[string]any{"model": dir, "eval_file": evalFile, "name": "scifact", "query_prompt": nilIfEmpty(tc.prompt),
				"batch_size": 32, "threads": 2}
			key := map[string]any{"model": tc.model, "name": "scifact", "query_prompt": tc.prompt, "batch_size": 32}
			cached := pythonCached(t, "parity_ir_eval.py", req, key, &py, evalFile,
				filepath.Join(dir, "model.safetensors"), filepath.Join(dir, "tokenizer.json"), filepath.Join(dir, "config.json"),
				filepath.Join(dir, "tokenizer_config.json"), filepath.Join(dir, "sentence_bert_config.json"), filepath.Join(dir, "modules.json"), filepath.Join(dir, "1_Pooling", "config.json"))
			if py.Queries != ev.NumQueries() || py.Corpus != ev.NumCorpus() {
				t.Fatalf("Python evaluated %d queries × %d documents, ours %d × %d", py.Queries, py.Corpus, ev.NumQueries(), ev.NumCorpus())
			}
			published := map[string]float64{}
			full := sz.SciQueries == 0
			if full {
				published = tc.published
			}
			res := &sciFactResult{Model: tc.model, Prompt: tc.prompt, Set: desc, Queries: ev.NumQueries(), Corpus: ev.NumCorpus(),
				Ours: ours, Python: py.Metrics, PythonCached: cached, Published: published, GoSeconds: goSecs, PythonSeconds: py.Seconds}
			record(t, part{Kind: "scifact", SciFact: res})
			t.Logf("%s on SciFact (%s): nDCG@10 ours %.5f, Python %.5f%s; MRR@10 %.5f / %.5f; Recall@10 %.5f / %.5f; Go %.0f s, Python %.0f s",
				tc.model, desc, ours["scifact_cosine_ndcg@10"], py.Metrics["scifact_cosine_ndcg@10"], publishedNote(published),
				ours["scifact_cosine_mrr@10"], py.Metrics["scifact_cosine_mrr@10"], ours["scifact_cosine_recall@10"], py.Metrics["scifact_cosine_recall@10"],
				goSecs, py.Seconds)
			for _, k := range []string{"ndcg@10", "mrr@10", "recall@10"} {
				key := "scifact_cosine_" + k
				p, ok := py.Metrics[key]
				if !ok {
					t.Fatalf("Python metrics lack %q (have %v)", key, mapKeys(py.Metrics))
				}
				if d := math.Abs(ours[key] - p); d > sciFactPythonTolerance {
					t.Errorf("%s: ours %.5f, Python %.5f (|Δ| %.5f > %g)", k, ours[key], p, d, sciFactPythonTolerance)
				}
			}
			if v, ok := published["ndcg@10"]; ok {
				if d := math.Abs(ours["scifact_cosine_ndcg@10"] - v); d > sciFactPublishedTolerance {
					t.Errorf("nDCG@10 ours %.5f vs published %.5f: |Δ| %.5f > %g", ours["scifact_cosine_ndcg@10"], v, d, sciFactPublishedTolerance)
				}
			}
		})
	}
}

func publishedNote(p map[string]float64) string {
	if v, ok := p["ndcg@10"]; ok {
		return fmt.Sprintf(", published %.5f", v)
	}
	return ""
}
