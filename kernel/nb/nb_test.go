package nb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/embedtune/embedtune/internal/synth"
	"github.com/embedtune/embedtune/trainlib"
	"github.com/embedtune/embedtune/trainlib/cache"
	"github.com/embedtune/embedtune/trainlib/datasets"
	"github.com/embedtune/embedtune/trainlib/evaluation"
	"github.com/embedtune/embedtune/trainlib/hub"
	"github.com/embedtune/embedtune/trainlib/losses"
	"github.com/embedtune/embedtune/trainlib/model"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestSettings(t *testing.T) {
	t.Setenv("HF_HUB_OFFLINE", "")
	c, err := SettingsFrom(envOf(map[string]string{"HF_HOME": t.TempDir()}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Model != TutorialModel || c.Dataset != TutorialDataset || c.MaxSteps != 332 || c.LearningRate != 3e-6 ||
		c.OutputDir != "bge-base-finetuned" || c.EvalSteps != 20 || c.LoRA != nil || c.Offline != "" || len(c.Examples) != 4 {
		t.Errorf("defaults: %+v", c)
	}
	c, err = SettingsFrom(envOf(map[string]string{"EMBEDTUNE_MODEL": "/m/tiny", "EMBEDTUNE_DATASET": "/d/squad-pairs.jsonl",
		"EMBEDTUNE_MAX_STEPS": "40", "EMBEDTUNE_LEARNING_RATE": "1e-3", "EMBEDTUNE_LORA": "1", "EMBEDTUNE_LORA_R": "4"}))
	if err != nil {
		t.Fatal(err)
	}
	want := trainlib.LoRAConfig{R: 4, Alpha: 32, Dropout: 0.1, TargetModules: []string{"query", "value"}}
	if c.MaxSteps != 40 || c.LearningRate != 1e-3 || c.OutputDir != "tiny-finetuned" || c.LoRA == nil ||
		fmt.Sprint(*c.LoRA) != fmt.Sprint(want) || c.Examples[0] != squadExamples[0] {
		t.Errorf("overrides: %+v, LoRA %+v", c, c.LoRA)
	}
	c, _ = SettingsFrom(envOf(map[string]string{"EMBEDTUNE_LORA_ALPHA": "16", "EMBEDTUNE_LORA_DROPOUT": "0", "EMBEDTUNE_LORA_TARGET_MODULES": "query, key ,value"}))
	if c.LoRA == nil || c.LoRA.Alpha != 16 || c.LoRA.Dropout != 0 || c.LoRA.R != 8 || strings.Join(c.LoRA.TargetModules, ",") != "query,key,value" {
		t.Errorf("a LoRA override alone turns LoRA on with the tutorial's other values: %+v", c.LoRA)
	}
	for k, v := range map[string]string{"EMBEDTUNE_MAX_STEPS": "ten", "EMBEDTUNE_LEARNING_RATE": "-1", "EMBEDTUNE_EVAL_STEPS": "0",
		"EMBEDTUNE_LORA_DROPOUT": "1.5", "EMBEDTUNE_LORA_R": "x", "EMBEDTUNE_LORA": "maybe", "EMBEDTUNE_LORA_TARGET_MODULES": " , "} {
		if _, err := SettingsFrom(envOf(map[string]string{k: v})); err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%q: %v", k, v, err)
		}
	}
}

func TestOfflineDefaults(t *testing.T) {
	models := t.TempDir()
	os.MkdirAll(filepath.Join(models, "all-MiniLM-L6-v2"), 0o755)
	os.WriteFile(filepath.Join(models, "all-MiniLM-L6-v2", "model.safetensors"), []byte("x"), 0o644)
	shared := t.TempDir()
	squad := filepath.Join(shared, "squad-v1.1", "dev-v1.1.json")
	os.MkdirAll(filepath.Dir(squad), 0o755)
	var paras []string
	for i := 0; i < 670; i++ {
		paras = append(paras, fmt.Sprintf(`{"context":"passage %d","qas":[{"id":"%d-a","question":"q%d a","answers":[]},{"id":"%d-b","question":"q%d b","answers":[]}]}`, i, i, i, i, i))
	}
	os.WriteFile(squad, []byte(`{"version":"1.1","data":[{"title":"T","paragraphs":[`+strings.Join(paras, ",")+`]}]}`), 0o644)
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv("HF_HUB_OFFLINE", "")
	env := map[string]string{"EMBEDTUNE_OFFLINE": "1", "EMBEDTUNE_MODELS": models, "EMBEDTUNE_SHARED_DATA": shared, "HF_HOME": t.TempDir()}
	c, err := SettingsFrom(envOf(env))
	if err != nil {
		t.Fatal(err)
	}
	if c.Model != filepath.Join(models, "all-MiniLM-L6-v2") || !strings.HasSuffix(c.Dataset, "squad-v1.1-dev-pairs-670x2.jsonl") ||
		c.LearningRate != 2e-5 || c.Offline == "" || c.Examples[0] != squadExamples[0] || os.Getenv("HF_HUB_OFFLINE") != "1" {
		t.Fatalf("offline defaults: %+v", c)
	}
	ds, err := trainlib.LoadDataset(c.Dataset)
	if err != nil || ds.Len() != 1340 {
		t.Fatalf("offline dataset: %v rows, %v", ds, err)
	}
	// A tutorial model in the Hugging Face cache is used even offline.
	hf := env["HF_HOME"]
	c2, _ := hub.NewClient(hub.WithCacheDir(filepath.Join(hf, "hub")), hub.WithOffline(true))
	f := filepath.Join(t.TempDir(), "config.json")
	os.WriteFile(f, []byte("{}"), 0o644)
	if err := c2.Import(hub.Model, TutorialModel, strings.Repeat("b", 40), "main", []hub.LocalFile{{RepoPath: "config.json", LocalPath: f}}); err != nil {
		t.Fatal(err)
	}
	if c, _ := SettingsFrom(envOf(env)); c.Model != TutorialModel {
		t.Errorf("the cached tutorial model was replaced offline: %s", c.Model)
	}
}

// TestMustStopsTheCell runs Must in a child process: the error and its fix are printed, the exit status is 1.
func TestMustStopsTheCell(t *testing.T) {
	if os.Getenv("EMBEDTUNE_NB_MUST_CHILD") == "1" {
		Must(0, fmt.Errorf("loading: %w", hub.ErrNotCached))
		fmt.Println("not reached")
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestMustStopsTheCell$", "-test.count=1")
	cmd.Env = append(os.Environ(), "EMBEDTUNE_NB_MUST_CHILD=1")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("exit: %v\n%s", err, out)
	}
	s := string(out)
	if !strings.Contains(s, "Error: loading: not in the local cache") || !strings.Contains(s, "How to fix:") ||
		!strings.Contains(s, "EMBEDTUNE_OFFLINE=1") || strings.Contains(s, "not reached") {
		t.Errorf("output:\n%s", s)
	}
	if Must(3, nil) != 3 {
		t.Error("Must without an error")
	}
}

func pairsFile(t *testing.T, n int) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "squad-pairs.jsonl")
	var b strings.Builder
	for i, pr := range synth.Pairs(n, 2, 4) {
		line, _ := json.Marshal(map[string]string{"question": pr.Question, "context": pr.Context, "id": fmt.Sprint(i)})
		b.Write(append(line, '\n'))
	}
	os.WriteFile(p, []byte(b.String()), 0o644)
	return p
}

func TestSplitHeldOut(t *testing.T) {
	ds, err := LoadDataset(pairsFile(t, 120), "train")
	if err != nil {
		t.Fatal(err)
	}
	pairs, _ := ds.Select("question", "context")
	h, err := SplitHeldOut(pairs, 30, 42)
	if err != nil {
		t.Fatal(err)
	}
	all, _ := datasets.IRFromPairs(pairs, datasets.PairsOptions{})
	if len(h.IR.Corpus) != len(all.Corpus) {
		t.Errorf("the corpus has %d passages, the dataset %d", len(h.IR.Corpus), len(all.Corpus))
	}
	held := map[string]bool{}
	for _, q := range h.IR.QueryIDs {
		for d := range h.IR.RelevantDocs[q] {
			held[h.IR.Corpus[d]] = true
		}
	}
	for _, r := range h.Train.All() {
		if held[r["context"].(string)] {
			t.Fatalf("a training row has a held-out passage: %v", r)
		}
	}
	if len(h.IR.Queries) == 0 || len(h.IR.Queries) > 30 || h.Train.Len()+h.Eval.Len() > pairs.Len() {
		t.Errorf("%d queries, %d train, %d eval of %d", len(h.IR.Queries), h.Train.Len(), h.Eval.Len(), pairs.Len())
	}
	if !strings.Contains(h.HTML(), "every passage of the dataset") {
		t.Error("HTML")
	}
	if _, err := SplitHeldOut(pairs, pairs.Len(), 1); err == nil {
		t.Error("a split that leaves no training row was accepted")
	}
}

// TestModelCachesAndTraining: a lazy model evaluates through the caches (a second evaluation loads no
// weights), a re-saved folder is fingerprinted again, and Train stops on an interrupted run and continues it.
func TestModelCachesAndTraining(t *testing.T) {
	t.Setenv(cache.DirEnv, t.TempDir())
	tm, err := synth.TinyModel(filepath.Join(t.TempDir(), "tok"), "mean", 3, model.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "tiny")
	if err := tm.Save(dir); err != nil {
		t.Fatal(err)
	}
	ds, _ := LoadDataset(pairsFile(t, 60), "train")
	pairs, _ := ds.Select("question", "context")
	h, _ := SplitHeldOut(pairs, 20, 42)
	ev, err := evaluation.NewInformationRetrievalEvaluator(h.IR.Queries, h.IR.Corpus, h.IR.RelevantDocs, evaluation.IROptions{Name: "heldout"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := LoadModel(dir)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := tm.Fingerprint()
	if m.Fingerprint() != want {
		t.Fatal("the folder's fingerprint is not the model's")
	}
	first, err := Evaluate(ev, m)
	if err != nil {
		t.Fatal(err)
	}
	direct, _ := ev.Evaluate(context.Background(), tm)
	if first.Values[first.Primary] != direct[first.Primary] || first.Primary == "" {
		t.Errorf("remembered evaluation %v vs direct %v", first.Values[first.Primary], direct[first.Primary])
	}
	again, err := LoadModel(dir) // a later cell
	if err != nil {
		t.Fatal(err)
	}
	second, err := Evaluate(ev, again)
	if err != nil || second.Values[second.Primary] != first.Values[first.Primary] {
		t.Fatalf("second evaluation: %v, %v", second, err)
	}
	if again.loaded != nil {
		t.Error("the second evaluation loaded the weights")
	}
	// Embeddings too: a comparison needs no weights once both sides were encoded.
	if _, err := evaluation.CompareRetrieval(context.Background(), again, again, h.IR.Queries, h.IR.Corpus, h.IR.RelevantDocs, evaluation.CompareOptions{}); err != nil {
		t.Fatal(err)
	}
	third, _ := LoadModel(dir)
	if _, err := evaluation.CompareRetrieval(context.Background(), third, third, h.IR.Queries, h.IR.Corpus, h.IR.RelevantDocs, evaluation.CompareOptions{}); err != nil || third.loaded != nil {
		t.Errorf("a repeated comparison loaded the weights (%v)", err)
	}

	// Training: an interrupted run is offered, not restarted; resume "yes" finishes it.
	out := filepath.Join(t.TempDir(), "run")
	args := trainlib.TrainingArguments{OutputDir: out, MaxSteps: 6, PerDeviceTrainBatchSize: 8, LearningRate: 1e-3,
		BatchSampler: "no_duplicates", SaveSteps: 3, LoggingSteps: 3}
	newTrainer := func() *trainlib.Trainer {
		w := Must(LoadModel(dir)).Load()
		tr, err := trainlib.NewTrainer(w, args, h.Train, nil, losses.MultipleNegativesRankingLoss(w), trainlib.WithoutProgress())
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	ctx, cancel := context.WithCancel(context.Background())
	tr := newTrainer()
	tr.Callbacks = append(tr.Callbacks, cancelAt{step: 3, cancel: cancel})
	if _, err := tr.Train(trainlib.WithContext(ctx)); !errors.Is(err, trainlib.ErrInterrupted) {
		t.Fatalf("interrupted training: %v", err)
	}
	stopped, err := interruptedRun(out)
	if err != nil || stopped == nil || stopped.GlobalStep != 3 || stopped.MaxSteps != 6 {
		t.Fatalf("interruptedRun = %+v, %v", stopped, err)
	}
	if _, err := LoadTrainedModel(out); err == nil {
		t.Error("an interrupted run's folder loaded as a trained model")
	}
	done := Train(newTrainer(), Yes)
	if done.GlobalStep != 6 {
		t.Fatalf("resumed to step %d", done.GlobalStep)
	}
	if s, _ := interruptedRun(out); s != nil {
		t.Errorf("a finished run is still reported interrupted: %+v", s)
	}
	tuned, err := LoadTrainedModel(out)
	if err != nil || tuned.Fingerprint() == m.Fingerprint() {
		t.Fatalf("trained model: %v (fingerprint changed: %v)", err, tuned != nil && tuned.Fingerprint() != m.Fingerprint())
	}
	// Re-running a finished run's cell starts over (as in Python) and gives a new folder version.
	before := tuned.Fingerprint()
	time.Sleep(10 * time.Millisecond)
	Train(newTrainer(), Ask)
	retrained, _ := LoadTrainedModel(out)
	if retrained.Fingerprint() != before { // same seed and data: the same weights again
		t.Errorf("retraining with the same seed gave other weights")
	}
}

type cancelAt struct {
	trainlib.BaseCallback
	step   int
	cancel func()
}

func (c cancelAt) OnStepEnd(s *trainlib.TrainerState, _ *trainlib.TrainingArguments) {
	if s.GlobalStep == c.step {
		c.cancel()
	}
}
