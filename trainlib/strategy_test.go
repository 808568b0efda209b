package trainlib_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/embedtune/embedtune/internal/enum"
	"github.com/embedtune/embedtune/internal/testutil"
	"github.com/embedtune/embedtune/trainlib"
	"github.com/embedtune/embedtune/trainlib/losses"
	"github.com/embedtune/embedtune/trainlib/optim"
	"github.com/embedtune/embedtune/trainlib/sampler"
	"gopkg.in/yaml.v3"
)

// enumOf is one typed enum seen through its generated functions.
type enumOf struct {
	values []string
	parse  func(string) error
}

func newEnum[T ~string](values []T, parse func(string) (T, error)) enumOf {
	e := enumOf{parse: func(s string) error { _, err := parse(s); return err }}
	for _, v := range values {
		e.values = append(e.values, string(v))
	}
	return e
}

// enums are the Hugging Face settings embedtune types as enums, by their Hugging Face names.
var enums = map[string]enumOf{
	"eval_strategy":     newEnum(trainlib.IntervalStrategyValues(), trainlib.ParseIntervalStrategy),
	"save_strategy":     newEnum(trainlib.SaveStrategyValues(), trainlib.ParseSaveStrategy),
	"lr_scheduler_type": newEnum(optim.SchedulerTypeValues(), optim.ParseSchedulerType),
	"batch_sampler":     newEnum(sampler.BatchSamplersValues(), sampler.ParseBatchSamplers),
	"directions":        newEnum(losses.DirectionValues(), losses.ParseDirection),
	"partition_mode":    newEnum(losses.PartitionModeValues(), losses.ParsePartitionMode),
	"hardness_mode":     newEnum(losses.HardnessModeValues(), losses.ParseHardnessMode),
}

// TestEnumsMatchHuggingFace reads the spellings of these settings from the installed transformers and
// sentence-transformers (tests/reference/hf_enums.py): every Hugging Face value is accepted, or refused as not
// implemented (never as a misspelling), and every value embedtune accepts is a Hugging Face value.
func TestEnumsMatchHuggingFace(t *testing.T) {
	var hf map[string][]string
	if err := json.Unmarshal(testutil.RunPython(t, "tests/reference/hf_enums.py"), &hf); err != nil {
		t.Fatal(err)
	}
	for setting, e := range enums {
		want, ok := hf[setting]
		if !ok || len(want) == 0 {
			t.Errorf("tests/reference/hf_enums.py printed no values for %s", setting)
			continue
		}
		for _, v := range want {
			err := e.parse(v)
			if err == nil {
				continue
			}
			if ee, ok := errors.AsType[*enum.Error](err); !ok || !ee.Unsupported || !strings.Contains(err.Error(), "does not implement") {
				t.Errorf("%s: Hugging Face value %q refused as if misspelled: %v", setting, v, err)
			}
		}
		for _, v := range e.values {
			if !slices.Contains(want, v) {
				t.Errorf("%s: embedtune accepts %q, which Hugging Face does not (%q)", setting, v, want)
			}
		}
	}
}

// TestEnumErrors checks the message of a misspelled value: it names the setting and lists the valid values.
func TestEnumErrors(t *testing.T) {
	for setting, e := range enums {
		err := e.parse(strings.ToUpper(e.values[0]))
		ee, ok := errors.AsType[*enum.Error](err)
		if !ok || ee.Unsupported || ee.Setting != setting {
			t.Fatalf("%s: %q: %#v", setting, strings.ToUpper(e.values[0]), err)
		}
		for _, v := range e.values {
			if !strings.Contains(err.Error(), `"`+v+`"`) {
				t.Errorf("%s: %q does not list %q", setting, err, v)
			}
		}
	}
	loss := losses.MultipleNegativesRankingLoss(nil, losses.WithDirections("query_to_doc", "doc_to_queries"))
	if err := loss.Validate(2, false); err == nil || !strings.Contains(err.Error(), `directions "doc_to_queries" is not valid; use one of "query_to_doc", "query_to_query", "doc_to_query", "doc_to_doc"`) {
		t.Errorf("misspelled direction: %v", err)
	}
}

// TestEnumsInFiles reads the settings from YAML and JSON with Hugging Face's spellings and checks they are
// written back the same way, and that a wrong or unimplemented value is refused with the file's name.
func TestEnumsInFiles(t *testing.T) {
	src := "output_dir: out\neval_strategy: epoch\nsave_strategy: best\nlr_scheduler_type: cosine\nbatch_sampler: no_duplicates\n"
	a, err := trainlib.LoadTrainingArguments("run.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if a.EvalStrategy != trainlib.IntervalStrategyEpoch || a.SaveStrategy != trainlib.SaveStrategyBest ||
		a.LRSchedulerType != optim.SchedulerCosine || a.BatchSampler != sampler.NoDuplicates {
		t.Fatalf("decoded %+v", a)
	}
	js, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	ys, err := yaml.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range []string{`"eval_strategy":"epoch"`, `"save_strategy":"best"`, `"lr_scheduler_type":"cosine"`, `"batch_sampler":"no_duplicates"`} {
		if !strings.Contains(string(js), kv) {
			t.Errorf("JSON lacks %s: %s", kv, js)
		}
		if y := strings.ReplaceAll(strings.ReplaceAll(kv, `"`, ""), ":", ": "); !strings.Contains(string(ys), y) {
			t.Errorf("YAML lacks %s:\n%s", y, ys)
		}
	}
	var back trainlib.TrainingArguments
	if err := yaml.Unmarshal(ys, &back); err != nil || back.EvalStrategy != a.EvalStrategy || back.LRSchedulerType != a.LRSchedulerType {
		t.Errorf("YAML round trip: %v, %+v", err, back)
	}
	for _, tc := range []struct{ src, want string }{
		{"output_dir: o\neval_strategy: Steps", `run.yaml: eval_strategy "Steps" is not valid; use one of "no", "steps", "epoch"`},
		{`{"output_dir": "o", "save_strategy": "always"}`, `run.yaml: save_strategy "always" is not valid; use one of "no", "steps", "epoch", "best"`},
		{"output_dir: o\nlr_scheduler_type: polynomial", `lr_scheduler_type "polynomial" is a Hugging Face value that embedtune does not implement; use one of "linear", "cosine", "constant", "constant_with_warmup"`},
		{"output_dir: o\nbatch_sampler: group_by_label", `batch_sampler "group_by_label" is a Hugging Face value that embedtune does not implement`},
	} {
		if _, err := trainlib.LoadTrainingArguments("run.yaml", []byte(tc.src)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err = %v, want %q", tc.src, err, tc.want)
		}
	}
	// A struct literal is checked when the trainer resolves it.
	bad := trainlib.TrainingArguments{OutputDir: "o", EvalStrategy: "step"}
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), `eval_strategy "step" is not valid`) {
		t.Errorf("struct literal: %v", err)
	}
}
