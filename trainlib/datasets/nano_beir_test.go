package datasets_test

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/embedtune/embedtune/internal/testutil"
	"github.com/embedtune/embedtune/trainlib/datasets"
	"github.com/embedtune/embedtune/trainlib/evaluation"
	"github.com/embedtune/embedtune/trainlib/hub"
	"github.com/embedtune/embedtune/trainlib/hub/hubtest"
)

// nanoBEIRFolder writes a folder laid out like the Hub's sentence-transformers/NanoBEIR-en (README.md
// configs corpus, queries and qrels, one parquet file per split Nano{Name}) holding two small sets cut
// from BEIR SciFact (its test and train judgements) under the names of NanoSciFact and NanoNFCorpus.
func nanoBEIRFolder(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	beir := testutil.SharedData(t, "beir-scifact")
	readme := "---\nconfigs:\n"
	files := map[string][]string{}
	for _, s := range []struct{ split, name string }{{"test", "NanoSciFact"}, {"train", "NanoNFCorpus"}} {
		ir, err := datasets.LoadBEIR(beir, s.split)
		if err != nil {
			t.Fatal(err)
		}
		sub := ir.Subset(20, 150)
		var cid, ctext, qid, qtext, rq, rc []string
		for _, d := range sub.CorpusIDs {
			cid, ctext = append(cid, d), append(ctext, sub.Corpus[d])
		}
		for _, q := range sub.QueryIDs {
			qid, qtext = append(qid, q), append(qtext, sub.Queries[q])
			for _, d := range sub.RelevantIDs(q) {
				rq, rc = append(rq, q), append(rc, d)
			}
		}
		qid, qtext = append(qid, "empty"), append(qtext, "") // left out, as sentence-transformers does
		for subset, cols := range map[string][]datasets.NamedValues{
			"corpus":  {datasets.Col("_id", cid), datasets.Col("text", ctext)},
			"queries": {datasets.Col("_id", qid), datasets.Col("text", qtext)},
			"qrels":   {datasets.Col("query-id", rq), datasets.Col("corpus-id", rc)},
		} {
			d, err := datasets.FromColumns(cols...)
			if err != nil {
				t.Fatal(err)
			}
			rel := filepath.Join(subset, s.name+"-00000-of-00001.parquet")
			if err := d.Save(filepath.Join(dir, rel)); err != nil {
				t.Fatal(err)
			}
			files[subset] = append(files[subset], "  - split: "+s.name+"\n    path: "+rel+"\n")
		}
	}
	for _, subset := range []string{"corpus", "queries", "qrels"} {
		readme += "- config_name: " + subset + "\n  data_files:\n" + strings.Join(files[subset], "")
	}
	readme += "---\n# NanoBEIR-shaped test data\n"
	if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte(readme), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestNanoBEIRMatchesSentenceTransformers loads NanoBEIR-shaped data from a local folder and from a
// Hub server, evaluates a model with our NanoBEIREvaluator and with sentence-transformers' on the same
// data, and compares every metric, the primary metric and the aggregated CSV.
func TestNanoBEIRMatchesSentenceTransformers(t *testing.T) {
	folder := nanoBEIRFolder(t)
	ctx := context.Background()
	names := []string{"scifact", "nfcorpus"}
	sets, err := datasets.LoadNanoBEIR(ctx, names, folder)
	if err != nil {
		t.Fatal(err)
	}
	if len(sets) != 2 || sets[0].Name != "NanoSciFact" || sets[1].Name != "NanoNFCorpus" || len(sets[0].Queries) != 20 {
		t.Fatalf("sets %q / %q with %d queries", sets[0].Name, sets[1].Name, len(sets[0].Queries))
	}
	// The same repository served by a Hub.
	srv := hubtest.NewServer(t)
	srv.AddFolder(hub.Dataset, datasets.DefaultNanoBEIRDatasetID, folder)
	client, err := hub.NewClient(hub.WithEndpoint(srv.URL), hub.WithCacheDir(t.TempDir()), hub.WithRetry(1, 0))
	if err != nil {
		t.Fatal(err)
	}
	fromHub, err := datasets.LoadNanoBEIR(ctx, names, "", datasets.WithHubClient(client))
	if err != nil {
		t.Fatal(err)
	}
	for i := range sets {
		if len(fromHub[i].Corpus) != len(sets[i].Corpus) || len(fromHub[i].RelevantDocs) != len(sets[i].RelevantDocs) {
			t.Fatalf("%s from the Hub differs from the folder", sets[i].Name)
		}
	}

	m := tinyMineModel(t)
	dir := filepath.Join(t.TempDir(), "model")
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	ev, err := evaluation.NewNanoBEIREvaluator(sets, evaluation.NanoBEIROptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	got, err := ev.Evaluate(evaluation.WithRunInfo(ctx, evaluation.RunInfo{OutputPath: out, Epoch: -1, Steps: -1}), m)
	if err != nil {
		t.Fatal(err)
	}
	var want struct {
		Metrics       map[string]float64 `json:"metrics"`
		PrimaryMetric string             `json:"primary_metric"`
		Name          string             `json:"name"`
		CSV           string             `json:"csv"`
	}
	pyOut := t.TempDir()
	testutil.PythonJSON(t, "tests/reference/nanobeir_reference.py", map[string]any{"model": dir, "dataset_id": folder,
		"dataset_names": names, "output_path": pyOut}, &want)
	if ev.Name() != want.Name || ev.PrimaryMetric() != want.PrimaryMetric {
		t.Errorf("name %q, primary %q; sentence-transformers %q, %q", ev.Name(), ev.PrimaryMetric(), want.Name, want.PrimaryMetric)
	}
	gk, wk := sortedKeys(got), sortedKeys(want.Metrics)
	if !slices.Equal(gk, wk) {
		t.Fatalf("metric keys\n got %v\nwant %v", gk, wk)
	}
	for _, k := range wk {
		if math.Abs(got[k]-want.Metrics[k]) > 1e-9 {
			t.Errorf("%s = %.10f, sentence-transformers %.10f", k, got[k], want.Metrics[k])
		}
	}
	csv, err := os.ReadFile(filepath.Join(out, ev.CSVFileName()))
	if err != nil {
		t.Fatal(err)
	}
	gl, wl := strings.Split(string(csv), "\n"), strings.Split(want.CSV, "\n")
	if gl[0] != wl[0] || len(gl) != len(wl) {
		t.Errorf("CSV\n%s\nsentence-transformers\n%s", csv, want.CSV)
	}
	for _, f := range []string{"Information-Retrieval_evaluation_NanoSciFact_results.csv", "Information-Retrieval_evaluation_NanoNFCorpus_results.csv"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("per-dataset CSV: %v", err)
		}
	}
}

func sortedKeys(m map[string]float64) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func TestNanoBEIRBadInput(t *testing.T) {
	ctx := context.Background()
	if _, err := datasets.LoadNanoBEIR(ctx, []string{"scifacts"}, t.TempDir()); err == nil || !strings.Contains(err.Error(), `"scifacts" is not a NanoBEIR dataset; the datasets are climatefever`) {
		t.Errorf("unknown name: %v", err)
	}
	if _, err := datasets.LoadNanoBEIR(ctx, []string{"scifact"}, t.TempDir()); err == nil || !strings.Contains(err.Error(), `could not load subset "corpus" split "NanoSciFact"`) {
		t.Errorf("empty folder: %v", err)
	}
	if _, err := evaluation.NewNanoBEIREvaluator(nil, evaluation.NanoBEIROptions{}); err == nil || !strings.Contains(err.Error(), "no datasets") {
		t.Errorf("no sets: %v", err)
	}
	s := evaluation.IRSet{Name: "A", Queries: map[string]string{"q": "x"}, Corpus: map[string]string{"d": "y"}, RelevantDocs: map[string]map[string]bool{"q": {"d": true}}}
	if _, err := evaluation.NewNanoBEIREvaluator([]evaluation.IRSet{s, s}, evaluation.NanoBEIROptions{}); err == nil || !strings.Contains(err.Error(), `dataset "A" is given twice`) {
		t.Errorf("duplicate: %v", err)
	}
}
