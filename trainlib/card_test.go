package trainlib

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/embedtune/embedtune/internal/synth"
	"github.com/embedtune/embedtune/internal/testutil"
	"github.com/embedtune/embedtune/trainlib/losses"
	"github.com/embedtune/embedtune/trainlib/model"
)

// TestModelCard trains a small model and checks the README.md it saves against sentence-transformers:
// huggingface_hub reads its metadata (tags, pipeline_tag, library_name, datasets, metrics, model-index
// with our evaluation results), Python's SentenceTransformer(dir) still loads the folder, the card has
// the sections of a card sentence-transformers writes for the same kind of training, and it holds no
// local path or token.
func TestModelCard(t *testing.T) {
	t.Setenv("HF_TOKEN", "hf_secretTOKENshouldNOTleak")
	m := tiny(t, "mean")
	m.CardData = &model.ModelCardData{Language: []string{"en"}, License: "apache-2.0",
		TrainDatasets: []model.CardDataset{{Name: "squad-pairs", ID: "rajpurkar/squad"}}}
	out := filepath.Join(t.TempDir(), "run")
	pairs := synth.Pairs(40, 2, 2)
	train := pairsDataset(t, pairs)
	ev := irEvaluator(t, pairsDataset(t, synth.Pairs(20, 1, 77)), "dev")
	args := TrainingArguments{OutputDir: out, MaxSteps: 4, PerDeviceTrainBatchSize: 8, LearningRate: 1e-3, EvalStrategy: "steps",
		EvalSteps: 2, SaveSteps: 2, LoggingSteps: 2, LoadBestModelAtEnd: true, MetricForBestModel: "dev_cosine_ndcg@10",
		BatchSampler: "no_duplicates"}
	tr, err := NewTrainer(m, args, train, pairsDataset(t, synth.Pairs(10, 1, 5)), losses.MultipleNegativesRankingLoss(m),
		WithEvaluator(ev), WithoutProgress())
	if err != nil {
		t.Fatal(err)
	}
	tr.logf = func(string, ...any) {}
	if _, err := tr.Train(); err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(out, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	card := string(readme)
	if os.Getenv("EMBEDTUNE_DUMP_CARD") != "" {
		os.WriteFile(os.Getenv("EMBEDTUNE_DUMP_CARD"), readme, 0o644)
	}
	home, _ := os.UserHomeDir()
	for _, bad := range []string{out, filepath.Dir(out), os.TempDir() + "/", home + "/", "hf_secretTOKEN"} {
		if bad != "/" && strings.Contains(card, bad) {
			t.Errorf("the card contains %q", bad)
		}
	}
	for _, want := range []string{"| Training Loss | Validation Loss | dev_cosine_ndcg@10 |\n|:----", "**cosine_ndcg@10**",
		"* Size: 80 training samples", "* Columns: <code>question</code> and <code>context</code>",
		"[<code>MultipleNegativesRankingLoss</code>]", "\"scale\": 20.0,\n      \"similarity_fct\": \"cos_sim\",\n      \"gather_across_devices\": false,\n      \"directions\": [\n          \"query_to_doc\"\n      ],", "#### MultipleNegativesRankingLoss", "- `learning_rate`: 0.001",
		"- `batch_sampler`: no_duplicates", "- `num_train_epochs`: 3.0", "- `warmup_ratio`: 0.0", "trainlib.LoadModel", "| <code>",
		"\ntags:\n- sentence-transformers\n", "\nmodel-index:\n- name: SentenceTransformer\n  results:\n  - task:\n      type: information-retrieval\n", "model.encode_query(queries)", "* The bold row denotes the saved checkpoint."} {
		if !strings.Contains(card, want) {
			t.Errorf("the card lacks %q", want)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "checkpoint-4", "README.md")); err != nil {
		t.Errorf("checkpoint card: %v", err)
	}

	// The same training with sentence-transformers writes its own card; both are read by huggingface_hub.
	var qc [][2]string
	for _, p := range pairs {
		qc = append(qc, [2]string{p.Question, p.Context})
	}
	base := filepath.Join(t.TempDir(), "base-model")
	if err := tiny(t, "mean").Save(base); err != nil {
		t.Fatal(err)
	}
	type parsed struct {
		Data        map[string]any `json:"data"`
		EvalResults [][]any        `json:"eval_results"`
		Headings    []string       `json:"headings"`
	}
	var res struct {
		Readme string   `json:"readme"`
		Cards  []parsed `json:"cards"`
		Loaded bool     `json:"loaded"`
		Dim    int      `json:"dim"`
	}
	testutil.PythonJSON(t, "tests/reference/st_model_card.py", map[string]any{
		"train": map[string]any{"model": base, "pairs": qc, "output_dir": filepath.Join(t.TempDir(), "st"), "max_steps": 4},
		"read":  []string{filepath.Join(out, "README.md")}, "load": out}, &res)
	if len(res.Cards) != 2 {
		t.Fatalf("%d cards parsed", len(res.Cards))
	}
	ours, theirs := res.Cards[0], res.Cards[1]
	if os.Getenv("EMBEDTUNE_DUMP_CARD") != "" {
		os.WriteFile(os.Getenv("EMBEDTUNE_DUMP_CARD")+".st", []byte(res.Readme), 0o644)
	}
	if !res.Loaded || res.Dim != m.Dim() {
		t.Errorf("Python loaded the folder: %v, dimension %d", res.Loaded, res.Dim)
	}
	for _, k := range []string{"pipeline_tag", "library_name"} {
		if ours.Data[k] != theirs.Data[k] {
			t.Errorf("%s = %v, sentence-transformers %v", k, ours.Data[k], theirs.Data[k])
		}
	}
	tags := func(p parsed) []string {
		var out []string
		for _, x := range p.Data["tags"].([]any) {
			out = append(out, x.(string))
		}
		return out
	}
	for _, tag := range tags(theirs) {
		if !slices.Contains(tags(ours), tag) {
			t.Errorf("tag %q of sentence-transformers' card is missing from ours %v", tag, tags(ours))
		}
	}
	if d, _ := ours.Data["datasets"].([]any); len(d) != 1 || d[0] != "rajpurkar/squad" {
		t.Errorf("datasets %v", ours.Data["datasets"])
	}
	if ours.Data["language"] == nil || ours.Data["license"] != "apache-2.0" {
		t.Errorf("language %v, license %v", ours.Data["language"], ours.Data["license"])
	}
	if len(ours.EvalResults) != len(theirs.EvalResults) || len(ours.EvalResults) == 0 {
		t.Fatalf("model-index: %d results, sentence-transformers %d", len(ours.EvalResults), len(theirs.EvalResults))
	}
	last := tr.State.LogHistory
	var lastEval map[string]float64
	for _, e := range last {
		if _, ok := e["eval_dev_cosine_ndcg@10"]; ok {
			lastEval = e
		}
	}
	for i, r := range ours.EvalResults {
		w := theirs.EvalResults[i]
		if r[0] != w[0] || r[1] != w[1] || r[2] != w[2] {
			t.Errorf("model-index result %d: %v, sentence-transformers %v", i, r[:3], w[:3])
		}
		if v := r[3].(float64); v != lastEval["eval_dev_"+r[2].(string)] {
			t.Errorf("model-index %s = %v, the last evaluation %v", r[2], v, lastEval["eval_dev_"+r[2].(string)])
		}
	}
	for _, h := range theirs.Headings {
		if !slices.Contains(ours.Headings, h) && !strings.HasPrefix(h, "# ") {
			t.Errorf("sentence-transformers' card has the section %q, ours not (ours: %q)", h, ours.Headings)
		}
	}
}
