package trainlib

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/embedtune/embedtune/internal/synth"
	"github.com/embedtune/embedtune/trainlib/datasets"
	"github.com/embedtune/embedtune/trainlib/losses"
	"github.com/embedtune/embedtune/trainlib/model"
)

// FuzzRunConfig parses arbitrary run descriptions (embedtune train --config) down to the training
// arguments and the loss. Accepted arguments must survive training_args.json (what a checkpoint
// records) unchanged; every rejection names the file.
func FuzzRunConfig(f *testing.F) {
	f.Add([]byte(`model: BAAI/bge-base-en-v1.5
train_dataset: {source: dipanjanS/india_rag_wikidata, split: train, columns: [question, context], sample: 100}
loss: {name: MultipleNegativesRankingLoss, scale: 20, directions: [query_to_doc, doc_to_query], partition_mode: per_direction}
evaluator: {dataset: {source: x.jsonl}, name: dev, query_prompt: "q: "}
lora: {r: 8, lora_alpha: 32, lora_dropout: 0.1, target_modules: [query, value]}
args: {output_dir: out, max_steps: 332, per_device_train_batch_size: 16, learning_rate: 3e-6, warmup_ratio: 0.1, fp16: true,
  batch_sampler: no_duplicates, eval_strategy: steps, eval_steps: 50, save_steps: 50, save_total_limit: 2, logging_steps: 10,
  load_best_model_at_end: true, metric_for_best_model: eval_dev_cosine_ndcg@10, prompts: {question: "q: "}}
`))
	f.Add([]byte(`{"model": "m", "train_dataset": {"source": "d.jsonl"}, "args": {"output_dir": "o", "seed": 0, "max_grad_norm": 0, "save_strategy": "epoch"}, "loss": {"name": "CoSENTLoss", "similarity": "dot"}}`))
	f.Add([]byte("model: m\ntrain_dataset: {source: s}\nargs: {output_dir: o, eval_strategy: sometimes}\n"))
	f.Add([]byte("a: &x [*x]\n"))
	m := tiny(f, "mean")
	f.Fuzz(func(t *testing.T, data []byte) {
		const name = "fuzz/run.yaml"
		rc, err := ParseRunConfig(name, data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), name+": ") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		args, err := TrainingArgumentsFromMap(name+": args", rc.Args)
		if err != nil {
			if !strings.HasPrefix(err.Error(), name+": args: ") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if _, err := BuildLoss(m, rc.Loss); err != nil && !strings.Contains(err.Error(), "loss") {
			t.Fatalf("loss error does not say it is about the loss: %v", err)
		}
		res, err := args.resolved()
		if err != nil {
			if !strings.HasPrefix(err.Error(), "invalid training arguments: ") {
				t.Fatalf("validation error %v", err)
			}
			return
		}
		checkArgsRoundTrip(t, res)
	})
}

// checkArgsRoundTrip: resolved arguments written as training_args.json read back identical.
func checkArgsRoundTrip(t *testing.T, res TrainingArguments) {
	t.Helper()
	data, err := json.Marshal(res)
	if err != nil {
		t.Fatalf("valid arguments cannot be written: %v", err)
	}
	back, err := LoadTrainingArguments("training_args.json", data)
	if err != nil {
		t.Fatalf("training_args.json written for valid arguments is rejected: %v\n%s", err, data)
	}
	again, err := back.resolved()
	if err != nil {
		t.Fatalf("training_args.json read back does not validate: %v\n%s", err, data)
	}
	res.set, again.set = nil, nil
	if !reflect.DeepEqual(res, again) {
		t.Fatalf("training_args.json changed the arguments:\n%+v\n%+v", res, again)
	}
}

// FuzzTrainingArguments reads arbitrary training_args.json / YAML argument files.
func FuzzTrainingArguments(f *testing.F) {
	def, _ := json.Marshal(DefaultTrainingArguments("out"))
	f.Add(def)
	f.Add([]byte(`{"output_dir": "o", "warmup_steps": 0.5, "greater_is_better": null, "prompts": "query: ", "lr_scheduler_type": "cosine"}`))
	f.Add([]byte("output_dir: o\nnum_train_epochs: 1.5\nmax_steps: -1\nprompts: {a: x, b: 1}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := LoadTrainingArguments("fuzz/args.yaml", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz/args.yaml: ") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if res, err := a.resolved(); err == nil {
			checkArgsRoundTrip(t, res)
		}
	})
}

// fuzzCheckpoint is a checkpoint of a short tiny run, written once per fuzzing process, and the
// tokenizer folder of its model.
var fuzzCheckpoint = sync.OnceValues(func() ([2]string, error) {
	root, err := os.MkdirTemp("", "embedtune-fuzz-ckpt-*")
	if err != nil {
		return [2]string{}, err
	}
	tok := filepath.Join(root, "tok")
	if err := synth.Tokenizer(tok, 600); err != nil {
		return [2]string{}, err
	}
	tr, err := fuzzTrainer(tok, filepath.Join(root, "out"))
	if err != nil {
		return [2]string{}, err
	}
	if _, err := tr.Train(); err != nil {
		return [2]string{}, err
	}
	return [2]string{filepath.Join(root, "out", "checkpoint-2"), tok}, nil
})

// fuzzTrainer is the run whose checkpoints FuzzResumeState damages (synth.TinyModel's model).
func fuzzTrainer(tok, out string) (*Trainer, error) {
	m, err := model.New(model.InitConfig{HiddenSize: 32, NumLayers: 2, NumHeads: 4, IntermediateSize: 64,
		MaxPositionEmbeddings: 128, MaxSeqLength: 64, TokenizerDir: tok, Seed: 1}, model.WithLogger(nil))
	if err != nil {
		return nil, err
	}
	qs, cs := []string{}, []string{}
	for _, p := range synth.Pairs(12, 1, 4) {
		qs, cs = append(qs, p.Question), append(cs, p.Context)
	}
	d, err := datasets.FromColumns(datasets.Col("question", qs), datasets.Col("context", cs))
	if err != nil {
		return nil, err
	}
	args := TrainingArguments{OutputDir: out, MaxSteps: 4, PerDeviceTrainBatchSize: 4, SaveSteps: 2, LoggingSteps: 1}
	tr, err := NewTrainer(m, args, d, nil, losses.MultipleNegativesRankingLoss(m), WithoutProgress())
	if err != nil {
		return nil, err
	}
	tr.logf = func(string, ...any) {}
	return tr, nil
}

// FuzzResumeState resumes from a checkpoint whose embedtune_state.json, trainer_state.json and
// rng_state.json are arbitrary (an empty input keeps the file as written; SHA256SUMS is rewritten,
// as for a checkpoint of another run). A refused checkpoint gets an error naming it; an accepted one
// must leave the run at a position it can continue from.
func FuzzResumeState(f *testing.F) {
	paths, err := fuzzCheckpoint()
	if err != nil {
		f.Fatal(err)
	}
	ck, tok := paths[0], paths[1]
	read := func(n string) []byte { b, _ := os.ReadFile(filepath.Join(ck, n)); return b }
	f.Add(read(resumeStateFile), read(trainerStateFile), read(rngFile))
	f.Add([]byte{}, []byte{}, []byte{})
	f.Add([]byte(`{"batch_in_epoch": -1, "loss_scale": 1, "seed": 42}`), []byte{}, []byte{})
	f.Add([]byte{}, []byte(`{"global_step": 2, "max_steps": 4, "log_history": null, "best_model_checkpoint": "/etc"}`), []byte(`{"dropout_rng_state": [1]}`))
	f.Fuzz(func(t *testing.T, state, trainerState, rng []byte) {
		root := t.TempDir()
		dir := filepath.Join(root, "out", "checkpoint-2")
		copyDir(t, ck, dir)
		for name, data := range map[string][]byte{resumeStateFile: state, trainerStateFile: trainerState, rngFile: rng} {
			if len(data) > 0 {
				if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := writeChecksums(dir); err != nil {
			t.Fatal(err)
		}
		tr, err := fuzzTrainer(tok, filepath.Join(root, "out"))
		if err != nil {
			t.Fatal(err)
		}
		j := &job{model: tr.Model, args: &tr.Args, trainDataset: tr.TrainDataset, loss: tr.Loss, logf: tr.logf}
		r, err := newRun(j, trainCall{ctx: t.Context(), resume: dir})
		if err != nil {
			if !strings.Contains(err.Error(), dir) {
				t.Fatalf("error does not name the checkpoint: %v", err)
			}
			return
		}
		defer r.unlock()
		s := r.state
		if s.GlobalStep < 0 || s.GlobalStep > s.MaxSteps || r.rs.BatchInEpoch < 0 || r.rs.EpochIndex < 0 || !(r.rs.LossScale > 0) ||
			r.rs.LastLoggedStep > s.GlobalStep || s.LogHistory == nil {
			t.Fatalf("accepted a position the run cannot continue from: state %+v, resume %+v", *s, r.rs)
		}
		if _, err := r.nextMicroBatches(); err != nil {
			t.Fatalf("the first batch after resuming: %v", err)
		}
	})
}

// copyDir copies the files of a checkpoint folder.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		out := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(out, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(out, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}
