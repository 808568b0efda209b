package nb

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/embedtune/embedtune/kernel/display"
	"github.com/embedtune/embedtune/trainlib"
	"github.com/embedtune/embedtune/trainlib/backend"
	"github.com/embedtune/embedtune/trainlib/cache"
	"github.com/embedtune/embedtune/trainlib/hub"
)

// The tutorial's inputs (sentence-transformers' "fine-tune an embedding model for RAG").
const (
	TutorialModel   = "BAAI/bge-base-en-v1.5"
	TutorialDataset = "dipanjanS/india_rag_wikidata"
	TutorialSteps   = 332
	TutorialLR      = 3e-6
)

// Config holds a notebook run's settings: the tutorial's values, each overridable from the
// environment, with offline defaults when the Hub is out of reach (see Settings).
type Config struct {
	Model        string  // EMBEDTUNE_MODEL: Hub id or sentence-transformers folder
	Dataset      string  // EMBEDTUNE_DATASET: Hub id, or a local file or folder with question and context columns
	Split        string  // EMBEDTUNE_DATASET_SPLIT
	MaxSteps     int     // EMBEDTUNE_MAX_STEPS
	LearningRate float64 // EMBEDTUNE_LEARNING_RATE
	EvalSteps    int     // EMBEDTUNE_EVAL_STEPS: evaluation and logging interval
	OutputDir    string  // EMBEDTUNE_OUTPUT_DIR
	// LoRA is the adapter to train instead of every weight (EMBEDTUNE_LORA and EMBEDTUNE_LORA_*), nil for
	// full fine-tuning: the tutorial's r=8, lora_alpha=32, lora_dropout=0.1 on query and value (PEFT's
	// targets for BERT), each overridable.
	LoRA *trainlib.LoRAConfig
	// Examples are questions to compare the base and fine-tuned models on: the tutorial's ("What is the
	// capital of India?" and a few like it) with its dataset, questions about SQuAD's articles with SQuAD
	// pairs (a file or folder named *squad*), none with other data.
	Examples []string
	// Offline explains the offline defaults in use ("" when none).
	Offline string
}

var (
	tutorialExamples = []string{"What is the capital of India?", "Who was the first Prime Minister of India?",
		"Which is the longest river in India?", "When did India become independent?"}
	squadExamples = []string{"Which team won Super Bowl 50?", "Which river flows through Warsaw?",
		"Who developed the alternating current induction motor?", "What is the largest rainforest in the world?"}
)

// Settings reads the notebook settings from the environment:
//
//	EMBEDTUNE_MODEL           BAAI/bge-base-en-v1.5        EMBEDTUNE_DATASET        dipanjanS/india_rag_wikidata
//	EMBEDTUNE_DATASET_SPLIT   train                        EMBEDTUNE_MAX_STEPS      332
//	EMBEDTUNE_LEARNING_RATE   3e-6                         EMBEDTUNE_EVAL_STEPS     20
//	EMBEDTUNE_OUTPUT_DIR      bge-base-finetuned
//	EMBEDTUNE_LORA=1          train a LoRA adapter: EMBEDTUNE_LORA_R (8), EMBEDTUNE_LORA_ALPHA (32),
//	                          EMBEDTUNE_LORA_DROPOUT (0.1), EMBEDTUNE_LORA_TARGET_MODULES (query,value)
//
// Offline defaults. With EMBEDTUNE_OFFLINE=1 (which also sets HF_HUB_OFFLINE=1) or HF_HUB_OFFLINE=1, a
// tutorial model or dataset that is not in the Hugging Face cache is replaced by real local data: the
// model by bge-small-en-v1.5 (bge-base's small sibling, CLS pooling) or all-MiniLM-L6-v2, fetched by
// scripts/fetch_weights.sh into ~/.cache/embedtune/models ($EMBEDTUNE_MODELS), and the dataset by
// question/passage pairs of SQuAD v1.1 dev (../shared/data, $EMBEDTUNE_SHARED_DATA: 670 passages with
// two questions each, built once into the embedtune cache); the learning rate then defaults to 2e-5 (a
// short run of a small model needs a larger step than the tutorial's 3e-6).
//
// A setting that does not parse is shown as the cell's error (see Must) in every cell that uses it.
func Settings() *Config {
	return Must(SettingsFrom(os.Getenv))
}

// SettingsFrom is Settings with another source of environment variables.
func SettingsFrom(getenv func(string) string) (*Config, error) {
	env := func(k, def string) string {
		if v := strings.TrimSpace(getenv(k)); v != "" {
			return v
		}
		return def
	}
	c := &Config{Model: env("EMBEDTUNE_MODEL", ""), Dataset: env("EMBEDTUNE_DATASET", ""),
		Split: env("EMBEDTUNE_DATASET_SPLIT", "train"), OutputDir: env("EMBEDTUNE_OUTPUT_DIR", "")}
	var err error
	if c.MaxSteps, err = positiveInt(getenv, "EMBEDTUNE_MAX_STEPS", TutorialSteps); err != nil {
		return nil, err
	}
	if c.EvalSteps, err = positiveInt(getenv, "EMBEDTUNE_EVAL_STEPS", 20); err != nil {
		return nil, err
	}
	offline := truthy(getenv("EMBEDTUNE_OFFLINE"))
	if offline && getenv("HF_HUB_OFFLINE") == "" {
		os.Setenv("HF_HUB_OFFLINE", "1") // what EMBEDTUNE_OFFLINE promises: no Hub request from this cell
	}
	offline = offline || hub.ResolveEnv(getenv).Offline
	lr := TutorialLR
	var notes []string
	if c.Model == "" {
		c.Model = TutorialModel
		if offline && !inHubCache(getenv, hub.Model, TutorialModel) {
			if dir, name := fetchedModel(getenv); dir != "" {
				c.Model = dir
				notes = append(notes, name+" (real weights fetched by scripts/fetch_weights.sh)")
			}
		}
	}
	if c.Dataset == "" {
		c.Dataset = TutorialDataset
		if offline && !inHubCache(getenv, hub.Dataset, TutorialDataset) {
			if p, err := squadPairs(getenv); err == nil {
				c.Dataset = p
				notes = append(notes, "SQuAD v1.1 dev question/passage pairs (670 passages × 2 questions)")
			} else {
				notes = append(notes, "no offline dataset: "+err.Error())
			}
		}
	}
	if len(notes) > 0 && c.Model != TutorialModel {
		lr = 2e-5
	}
	if c.LearningRate, err = positiveFloat(getenv, "EMBEDTUNE_LEARNING_RATE", lr); err != nil {
		return nil, err
	}
	if c.OutputDir == "" {
		c.OutputDir = "bge-base-finetuned"
		if c.Model != TutorialModel {
			c.OutputDir = filepath.Base(filepath.Clean(c.Model)) + "-finetuned"
		}
	}
	if len(notes) > 0 {
		c.Offline = "the Hub is off (HF_HUB_OFFLINE / EMBEDTUNE_OFFLINE) and the tutorial's files are not cached: " +
			strings.Join(notes, "; ")
	}
	switch {
	case c.Dataset == TutorialDataset:
		c.Examples = tutorialExamples
	case strings.Contains(strings.ToLower(filepath.Base(c.Dataset)), "squad"):
		c.Examples = squadExamples
	}
	if c.LoRA, err = loraFrom(getenv); err != nil {
		return nil, err
	}
	return c, nil
}

// loraFrom reads EMBEDTUNE_LORA and EMBEDTUNE_LORA_*; any of them turns LoRA on.
func loraFrom(getenv func(string) string) (*trainlib.LoRAConfig, error) {
	on := truthy(getenv("EMBEDTUNE_LORA"))
	for _, k := range []string{"EMBEDTUNE_LORA_R", "EMBEDTUNE_LORA_ALPHA", "EMBEDTUNE_LORA_DROPOUT", "EMBEDTUNE_LORA_TARGET_MODULES"} {
		on = on || strings.TrimSpace(getenv(k)) != ""
	}
	if v := strings.TrimSpace(getenv("EMBEDTUNE_LORA")); v != "" && !on && !falsy(v) {
		return nil, fmt.Errorf("EMBEDTUNE_LORA=%q: expected 1 or 0", v)
	}
	if !on {
		return nil, nil
	}
	c := &trainlib.LoRAConfig{R: 8, Alpha: 32, Dropout: 0.1, TargetModules: []string{"query", "value"}}
	var err error
	if c.R, err = positiveInt(getenv, "EMBEDTUNE_LORA_R", c.R); err != nil {
		return nil, err
	}
	if c.Alpha, err = positiveFloat(getenv, "EMBEDTUNE_LORA_ALPHA", c.Alpha); err != nil {
		return nil, err
	}
	if v := strings.TrimSpace(getenv("EMBEDTUNE_LORA_DROPOUT")); v != "" {
		d, err := strconv.ParseFloat(v, 64)
		if err != nil || d < 0 || d >= 1 {
			return nil, fmt.Errorf("EMBEDTUNE_LORA_DROPOUT=%q: expected a probability in [0, 1), e.g. 0.1", v)
		}
		c.Dropout = d
	}
	if v := strings.TrimSpace(getenv("EMBEDTUNE_LORA_TARGET_MODULES")); v != "" {
		c.TargetModules = nil
		for _, m := range strings.Split(v, ",") {
			if m = strings.TrimSpace(m); m != "" {
				c.TargetModules = append(c.TargetModules, m)
			}
		}
		if len(c.TargetModules) == 0 {
			return nil, fmt.Errorf("EMBEDTUNE_LORA_TARGET_MODULES=%q: expected module names such as query,value", v)
		}
	}
	return c, nil
}

func truthy(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

func falsy(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "0", "false", "no", "off":
		return true
	}
	return false
}

func positiveInt(getenv func(string) string, key string, def int) (int, error) {
	s := strings.TrimSpace(getenv(key))
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%s=%q: expected a positive whole number", key, s)
	}
	return n, nil
}

func positiveFloat(getenv func(string) string, key string, def float64) (float64, error) {
	s := strings.TrimSpace(getenv(key))
	if s == "" {
		return def, nil
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil || !(x > 0) || math.IsInf(x, 0) {
		return 0, fmt.Errorf("%s=%q: expected a positive number", key, s)
	}
	return x, nil
}

// inHubCache reports whether the Hugging Face cache has a snapshot of the repository's main branch.
func inHubCache(getenv func(string) string, t hub.RepoType, id string) bool {
	c, err := hub.NewClient(hub.FromEnvFunc(getenv))
	if err != nil {
		return false
	}
	dir := c.RepoDir(t, id)
	commit, err := os.ReadFile(filepath.Join(dir, "refs", "main"))
	if err != nil {
		return false
	}
	_, err = os.Stat(filepath.Join(dir, "snapshots", strings.TrimSpace(string(commit))))
	return err == nil
}

// fetchedModels are the real models scripts/fetch_weights.sh provides, preferred first: bge-small is
// the tutorial model's small sibling (same tokenizer family, CLS pooling).
var fetchedModels = []string{"bge-small-en-v1.5", "all-MiniLM-L6-v2"}

// ModelsDir is where scripts/fetch_weights.sh writes models: $EMBEDTUNE_MODELS, else
// ~/.cache/embedtune/models.
func ModelsDir(getenv func(string) string) string {
	if v := strings.TrimSpace(getenv("EMBEDTUNE_MODELS")); v != "" {
		return v
	}
	base, err := cache.BaseDir()
	if err != nil {
		return ""
	}
	return filepath.Join(base, "models")
}

// fetchedModel returns the folder and name of the first fetched real model, or "".
func fetchedModel(getenv func(string) string) (dir, name string) {
	root := ModelsDir(getenv)
	for _, n := range fetchedModels {
		d := filepath.Join(root, n)
		if _, err := os.Stat(filepath.Join(d, "model.safetensors")); err == nil {
			return d, n
		}
	}
	return "", ""
}

// HTML shows the settings, each with the variable that overrides it, and the compute backend.
func (c *Config) HTML() string {
	mode := "full fine-tuning (every weight)"
	if l := c.LoRA; l != nil {
		mode = fmt.Sprintf("LoRA adapter: r=%d, lora_alpha=%g, lora_dropout=%g on %s", l.R, l.Alpha, l.Dropout, strings.Join(l.TargetModules, ", "))
	}
	engine := "unavailable"
	if b, err := backend.Default(); err == nil {
		engine = backend.Describe(b)
	} else {
		engine = err.Error()
	}
	s := display.NewSummary("Settings").
		Add("Model (EMBEDTUNE_MODEL)", c.Model).
		Add("Dataset (EMBEDTUNE_DATASET)", c.Dataset).
		Add("Split (EMBEDTUNE_DATASET_SPLIT)", c.Split).
		Add("Training steps (EMBEDTUNE_MAX_STEPS)", c.MaxSteps).
		Add("Learning rate (EMBEDTUNE_LEARNING_RATE)", c.LearningRate).
		Add("Evaluate and log every (EMBEDTUNE_EVAL_STEPS)", fmt.Sprintf("%d steps", c.EvalSteps)).
		Add("Output folder (EMBEDTUNE_OUTPUT_DIR)", absPath(c.OutputDir)).
		Add("Training (EMBEDTUNE_LORA)", mode).
		Add("Compute backend", engine)
	if c.Offline != "" {
		s.Add("Offline defaults", c.Offline)
	}
	return s.HTML()
}

// absPath spells out where a path lands (cells run in the notebook's folder).
func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}
