package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/embedtune/embedtune/internal/testutil"
	"github.com/embedtune/embedtune/trainlib/evaluation"
	"github.com/embedtune/embedtune/trainlib/model"
)

// evalOutput is the JSON object printed by `embedtune evaluate`.
type evalOutput struct {
	Name          string             `json:"name"`
	Queries       int                `json:"queries"`
	Corpus        int                `json:"corpus"`
	PrimaryMetric string             `json:"primary_metric"`
	Metrics       map[string]float64 `json:"metrics"`
	DataCheck     evaluation.DataCheck
}

// runEval runs `embedtune evaluate args...` and returns the exit status, stdout and stderr.
func runEval(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(append([]string{"evaluate"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

// decodeOne decodes stdout, which must hold exactly one JSON object.
func decodeOne(t *testing.T, stdout string) evalOutput {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(stdout))
	var raw map[string]json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		t.Fatalf("stdout is not a JSON object: %v\n%s", err, stdout)
	}
	if dec.More() {
		t.Fatalf("stdout holds more than one JSON value:\n%s", stdout)
	}
	var o evalOutput
	if err := json.Unmarshal([]byte(stdout), &o); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw["data_check"], &o.DataCheck); err != nil {
		t.Fatal(err)
	}
	return o
}

// stFiles are the data of sentence-transformers' evaluator test (test_metrices) as embedding files:
// one-hot keyword embeddings (pokemon, car, vehicle, fruit, vegetable) and its relevance judgements.
var stFiles = map[string]string{
	"q.jsonl": `{"id": "0", "embedding": [1, 0, 0, 0, 0]}
{"id": "1", "embedding": [0, 0, 0, 0, 1]}
{"id": "2", "embedding": [0, 0, 0, 1, 0]}
{"id": "3", "embedding": [0, 0, 1, 0, 0]}
{"id": "4", "embedding": [0, 1, 0, 0, 0]}
`,
	"c.jsonl": `{"id": "0", "embedding": [1, 0, 0, 0, 0]}
{"id": "1", "embedding": [0, 0, 0, 0, 1]}
{"id": "2", "embedding": [0, 0, 0, 1, 0]}
{"id": "3", "embedding": [0, 0, 1, 0, 0]}
{"id": 4, "embedding": [0, 1, 1, 0, 0]}
`,
	"qrels.tsv": "query-id\tcorpus-id\tscore\n0\t0\t1\n1\t1\t1\n2\t2\t1\n3\t3\t1\n3\t4\t1\n4\t4\t1\n4\t2\t0\n",
}

// TestEvaluateEmbeddingFiles reproduces sentence-transformers' test_metrices expectations through the
// CLI, with the k flags named like the Python arguments, and checks the CSV it writes against the
// one sentence-transformers 6.2 writes for that test (from tests/reference/eval_parity.py's fixture).
func TestEvaluateEmbeddingFiles(t *testing.T) {
	dir := testutil.WriteFiles(t, stFiles)
	out := filepath.Join(t.TempDir(), "eval")
	code, stdout, stderr := runEval("--query-embeddings", filepath.Join(dir, "q.jsonl"), "--corpus-embeddings", filepath.Join(dir, "c.jsonl"),
		"--qrels", filepath.Join(dir, "qrels.tsv"), "--name", "test", "--accuracy-at-k", "1,3", "--precision-recall-at-k", "1,3",
		"--mrr-at-k", "3", "--ndcg-at-k", "3", "--map-at-k", "5", "--output-dir", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	o := decodeOne(t, stdout)
	want := map[string]float64{
		"test_cosine_accuracy@1": 1, "test_cosine_accuracy@3": 1, "test_cosine_precision@1": 1, "test_cosine_precision@3": 0.4,
		"test_cosine_recall@1": 0.9, "test_cosine_recall@3": 1, "test_cosine_ndcg@3": 1, "test_cosine_mrr@3": 1, "test_cosine_map@5": 1,
	}
	if len(o.Metrics) != len(want) {
		t.Errorf("metrics %v", o.Metrics)
	}
	for k, w := range want {
		if g, ok := o.Metrics[k]; !ok || g-w > 1e-9 || w-g > 1e-9 {
			t.Errorf("%s = %v, want %v", k, g, w)
		}
	}
	if o.PrimaryMetric != "test_cosine_ndcg@3" || o.Queries != 5 || o.Corpus != 5 || o.Name != "test" {
		t.Errorf("output %+v", o)
	}
	csv, err := os.ReadFile(filepath.Join(out, "Information-Retrieval_evaluation_test_results.csv"))
	if err != nil {
		t.Fatal(err)
	}
	const stCSV = "epoch,steps,cosine-Accuracy@1,cosine-Accuracy@3,cosine-Precision@1,cosine-Recall@1,cosine-Precision@3,cosine-Recall@3,cosine-MRR@3,cosine-NDCG@3,cosine-MAP@5\n" +
		"-1,-1,1.0,1.0,1.0,0.9,0.39999999999999997,1.0,1.0,1.0,1.0\n"
	if string(csv) != stCSV {
		t.Errorf("CSV:\n%s\nsentence-transformers:\n%s", csv, stCSV)
	}
}

// TestEvaluateBadInput checks that each invalid input or flag combination exits with status 1 and a
// message naming the problem, and that --unknown-ids skip reports what it dropped.
func TestEvaluateBadInput(t *testing.T) {
	base := testutil.WriteFiles(t, stFiles)
	q, c, qr := filepath.Join(base, "q.jsonl"), filepath.Join(base, "c.jsonl"), filepath.Join(base, "qrels.tsv")
	bad := testutil.WriteFiles(t, map[string]string{
		"dup.jsonl":       "{\"id\": \"0\", \"embedding\": [1, 0, 0, 0, 0]}\n{\"id\": \"1\", \"embedding\": [0, 1, 0, 0, 0]}\n{\"id\": \"0\", \"embedding\": [0, 0, 1, 0, 0]}\n",
		"dim.jsonl":       "{\"id\": \"0\", \"embedding\": [1, 0, 0, 0, 0]}\n{\"id\": \"1\", \"embedding\": [0, 1]}\n",
		"dim3.jsonl":      "{\"id\": \"0\", \"embedding\": [1, 0, 0]}\n{\"id\": \"1\", \"embedding\": [0, 1, 0]}\n",
		"nan.jsonl":       "{\"id\": \"0\", \"embedding\": [1, 0, 0, 0, 0]}\n{\"id\": \"1\", \"embedding\": [NaN, 1, 0, 0, 0]}\n",
		"inf.jsonl":       "{\"id\": \"0\", \"embedding\": [1, -Infinity, 0, 0, 0]}\n",
		"empty.jsonl":     "\n\n",
		"badjson.jsonl":   "{\"id\": \"0\", \"embedding\": [1, 0, 0, 0, 0]}\n{\"id\": \"1\", \"embedding\": [0, 1,\n",
		"noemb.jsonl":     "{\"id\": \"0\", \"vector\": [1]}\n",
		"emptyemb.jsonl":  "{\"id\": \"0\", \"embedding\": []}\n",
		"floatid.jsonl":   "{\"id\": 1.5, \"embedding\": [1]}\n",
		"unknown.tsv":     "query-id\tcorpus-id\tscore\n0\t0\t1\n0\tzz\t1\n9\t1\t1\n",
		"dupq.tsv":        "query-id\tcorpus-id\tscore\n0\t0\t1\n1\t1\t1\n0\t0\t2\n",
		"noheader.tsv":    "0\t0\t1\n",
		"badscore.tsv":    "query-id\tcorpus-id\tscore\n0\t0\thigh\n",
		"fields.tsv":      "query-id\tcorpus-id\tscore\n0\t0\n",
		"onlyheader.tsv":  "query-id\tcorpus-id\tscore\n",
		"norelevant.tsv":  "query-id\tcorpus-id\tscore\n0\t0\t0\n",
		"emptycorpus.tsv": "",
	})
	b := func(name string) string { return filepath.Join(bad, name) }
	emb := func(qf, cf, rf string, extra ...string) []string {
		return append([]string{"--query-embeddings", qf, "--corpus-embeddings", cf, "--qrels", rf}, extra...)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"qrels name unknown ids", emb(q, c, b("unknown.tsv")), 1, "1 judgement(s) name a query id that is not among the 5 queries (e.g. \"9\"); 1 judgement(s) name a corpus id that is not among the 5 corpus entries (e.g. \"zz\")"},
		{"duplicate id", emb(b("dup.jsonl"), c, qr), 1, `dup.jsonl: line 3: duplicate id "0" (first at line 1)`},
		{"duplicate judgement", emb(q, c, b("dupq.tsv")), 1, `dupq.tsv: line 4: query "0" and document "0" are already judged at line 2`},
		{"dimension differs within a file", emb(q, b("dim.jsonl"), qr), 1, `dim.jsonl: line 2: embedding of "1" has dimension 2, but line 1 has 5`},
		{"qrels without judgements", emb(q, c, b("onlyheader.tsv")), 1, "onlyheader.tsv: no judgements after the header"},
		{"query and corpus dimensions differ", emb(b("dim3.jsonl"), c, qr, "--unknown-ids", "keep"), 1, "has dimension 5, expected 3"},
		{"NaN", emb(q, b("nan.jsonl"), qr), 1, "nan.jsonl: line 2: the embedding has a non-finite value (NaN or Infinity)"},
		{"Infinity", emb(b("inf.jsonl"), c, qr), 1, "inf.jsonl: line 1: the embedding has a non-finite value"},
		{"empty corpus", emb(q, b("empty.jsonl"), qr), 1, "empty.jsonl: no embeddings"},
		{"invalid JSON", emb(q, b("badjson.jsonl"), qr), 1, "badjson.jsonl: line 2: invalid JSON"},
		{"missing embedding", emb(q, b("noemb.jsonl"), qr), 1, `noemb.jsonl: line 1: record "0" has no "embedding"`},
		{"empty embedding", emb(q, b("emptyemb.jsonl"), qr), 1, `the embedding of "0" is empty`},
		{"non-integer id", emb(q, b("floatid.jsonl"), qr), 1, `"id" must be a string or an integer, got 1.5`},
		{"qrels without header", emb(q, c, b("noheader.tsv")), 1, "noheader.tsv: line 1: want the header query-id<TAB>corpus-id<TAB>score"},
		{"qrels score not an integer", emb(q, c, b("badscore.tsv")), 1, `badscore.tsv: line 2: score "high" is not an integer`},
		{"qrels field count", emb(q, c, b("fields.tsv")), 1, "fields.tsv: line 2: 2 tab-separated fields"},
		{"empty qrels", emb(q, c, b("emptycorpus.tsv")), 1, "empty qrels file"},
		{"no relevant judgement", emb(q, c, b("norelevant.tsv")), 1, "none of the 5 queries has a relevant document"},
		{"k zero", emb(q, c, qr, "--ndcg-at-k", "0"), 1, `invalid value "0" for flag -ndcg-at-k: "0" is not a positive integer`},
		{"k negative", emb(q, c, qr, "--map-at-k", "10,-1"), 1, `"-1" is not a positive integer`},
		{"k duplicated", emb(q, c, qr, "--accuracy-at-k", "1,3,1"), 1, "k=1 is listed twice"},
		{"k not a number", emb(q, c, qr, "--mrr-at-k", "ten"), 1, `"ten" is not a positive integer`},
		{"bad unknown-ids policy", emb(q, c, qr, "--unknown-ids", "ignore"), 1, `--unknown-ids: unknown-ids policy "ignore": expected error, skip or keep`},
		{"bad score function", emb(q, c, qr, "--score-functions", "cosine,l2"), 1, `--score-functions: unknown score function "l2"`},
		{"missing qrels", []string{"--query-embeddings", q, "--corpus-embeddings", c}, 1, "--qrels is missing"},
		{"missing file", emb(q, c, b("nope.tsv")), 1, "nope.tsv: no such file"},
		{"both modes", emb(q, c, qr, "--model", "m"), 1, "not both"},
		{"nothing", nil, 1, "nothing to evaluate"},
		{"beir without model", []string{"--beir", bad}, 1, "--beir and --dataset need --model"},
		{"model without data", []string{"--model", "m"}, 1, "--model needs --beir DIR or --dataset SOURCE"},
		{"beir and dataset", []string{"--model", "m", "--beir", bad, "--dataset", "x"}, 1, "give --beir or --dataset, not both"},
		{"predictions without output", emb(q, c, qr, "--write-predictions"), 1, "--write-predictions needs --output-dir"},
		{"split with embeddings", emb(q, c, qr, "--split", "dev"), 1, "apply to --model evaluations only"},
		{"positional argument", []string{"stray"}, 1, `unexpected argument "stray"`},
		{"batch size", emb(q, c, qr, "--batch-size", "0"), 1, "--batch-size (0) and --corpus-chunk-size (50000) must be > 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runEval(tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d (want %d), stderr %q; want it to contain %q", code, tc.code, stderr, tc.want)
			}
			if stdout != "" {
				t.Errorf("stdout on error: %q", stdout)
			}
		})
	}

	// Skipping unknown ids: the evaluation runs and reports what it dropped.
	code, stdout, stderr := runEval(emb(q, c, b("unknown.tsv"), "--unknown-ids", "skip")...)
	if code != 0 {
		t.Fatalf("--unknown-ids skip: exit %d: %s", code, stderr)
	}
	o := decodeOne(t, stdout)
	if o.DataCheck.UnknownQueryJudgements != 1 || o.DataCheck.UnknownCorpusJudgements != 1 || o.DataCheck.Policy != "skip" || o.Queries != 1 {
		t.Errorf("data check %+v, %d queries", o.DataCheck, o.Queries)
	}
}

// TestEvaluateModel runs the model path on a small BEIR folder and on a (question, context) JSON
// Lines dataset with a tiny random model, and checks that the CLI reports what the library's
// evaluator computes with the same model and data.
func TestEvaluateModel(t *testing.T) {
	tokDir := sharedData(t, "models/all-MiniLM-L6-v2-config")
	m, err := model.New(model.InitConfig{HiddenSize: 32, NumLayers: 2, NumHeads: 4, IntermediateSize: 64,
		MaxPositionEmbeddings: 128, TokenizerDir: tokDir, Seed: 5}, model.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	modelDir := filepath.Join(t.TempDir(), "tiny")
	if err := m.Save(modelDir); err != nil {
		t.Fatal(err)
	}
	docs := []string{"New Delhi is the capital of India.", "Paris is the capital of France.", "Berlin is the capital of Germany.",
		"Mumbai is the largest city in India.", "The Nile is a river in Africa.", "Mount Everest is the highest mountain."}
	questions := []string{"What is the capital of India?", "What is the capital of France?", "Which river flows in Africa?", "What is the highest mountain?"}
	answers := []int{0, 1, 4, 5}
	var corpus, queries, pairs strings.Builder
	qrels := "query-id\tcorpus-id\tscore\n"
	for i, d := range docs {
		fmt.Fprintf(&corpus, "{\"_id\": \"d%d\", \"title\": \"\", \"text\": %q}\n", i, d)
	}
	for i, q := range questions {
		fmt.Fprintf(&queries, "{\"_id\": \"q%d\", \"text\": %q}\n", i, q)
		qrels += fmt.Sprintf("q%d\td%d\t1\n", i, answers[i])
		fmt.Fprintf(&pairs, "{\"question\": %q, \"context\": %q}\n", q, docs[answers[i]])
	}
	dir := testutil.WriteFiles(t, map[string]string{"beir/corpus.jsonl": corpus.String(), "beir/queries.jsonl": queries.String(),
		"beir/qrels/test.tsv": qrels, "pairs.jsonl": pairs.String()})

	loaded, err := model.Load(modelDir, model.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"beir", []string{"--beir", filepath.Join(dir, "beir")}},
		{"dataset", []string{"--dataset", filepath.Join(dir, "pairs.jsonl")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runEval(append([]string{"--model", modelDir, "--ndcg-at-k", "3,5", "--map-at-k", "10"}, tc.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			o := decodeOne(t, stdout)
			if o.Queries != 4 || o.PrimaryMetric != "cosine_ndcg@5" || len(o.Metrics) != 16 {
				t.Fatalf("output %+v", o)
			}
			qs, cs, rel := map[string]string{}, map[string]string{}, map[string]map[string]bool{}
			if tc.name == "beir" {
				for i, d := range docs {
					cs[fmt.Sprintf("d%d", i)] = d
				}
				for i, q := range questions {
					qs[fmt.Sprintf("q%d", i)] = q
					rel[fmt.Sprintf("q%d", i)] = map[string]bool{fmt.Sprintf("d%d", answers[i]): true}
				}
				if o.Corpus != 6 {
					t.Errorf("corpus %d, want 6", o.Corpus)
				}
			} else { // IRFromPairs: documents d0.. and queries q0.. in order of first appearance.
				for i, q := range questions {
					qs[fmt.Sprintf("q%d", i)] = q
					cs[fmt.Sprintf("d%d", i)] = docs[answers[i]]
					rel[fmt.Sprintf("q%d", i)] = map[string]bool{fmt.Sprintf("d%d", i): true}
				}
				if o.Corpus != 4 {
					t.Errorf("corpus %d, want 4", o.Corpus)
				}
			}
			ev, err := evaluation.NewInformationRetrievalEvaluator(qs, cs, rel, evaluation.IROptions{
				KValues: evaluation.KValues{NDCGAtK: []int{3, 5}, MAPAtK: []int{10}}})
			if err != nil {
				t.Fatal(err)
			}
			want, err := ev.Evaluate(context.Background(), loaded)
			if err != nil {
				t.Fatal(err)
			}
			for k, w := range want {
				if o.Metrics[k] != w {
					t.Errorf("%s: CLI %v, library %v", k, o.Metrics[k], w)
				}
			}
		})
	}
}

// sharedData returns ../shared/data/<rel> next to the repository root (the folder holding go.mod),
// skipping the test when it is absent, or failing it when $EMBEDTUNE_REQUIRE_SHARED=1.
func sharedData(t *testing.T, rel string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		if filepath.Dir(dir) == dir {
			t.Fatal("go.mod not found above the test's folder")
		}
		dir = filepath.Dir(dir)
	}
	p := filepath.Join(filepath.Dir(dir), "shared", "data", rel)
	if _, err := os.Stat(p); err != nil {
		msg := "shared data " + p + " is absent (it lives in ../shared/data next to the repository)"
		if os.Getenv("EMBEDTUNE_REQUIRE_SHARED") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return p
}
