package model_test

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/embedtune/embedtune/internal/synth"
	"github.com/embedtune/embedtune/trainlib/model"
)

// fuzzFolders are a tiny saved model ("base") and a LoRA adapter for it ("adapter"), built once per
// fuzzing process.
var fuzzFolders = sync.OnceValues(func() (map[string]string, error) {
	root, err := os.MkdirTemp("", "embedtune-fuzz-model-*")
	if err != nil {
		return nil, err
	}
	m, err := synth.TinyModel(filepath.Join(root, "tok"), "mean", 7, model.WithLogger(nil))
	if err != nil {
		return nil, err
	}
	base := filepath.Join(root, "base")
	if err := m.Save(base); err != nil {
		return nil, err
	}
	if m, err = model.Load(base, model.WithLogger(nil)); err != nil {
		return nil, err
	}
	if err := m.AddAdapter(model.LoRAConfig{R: 2, Alpha: 4, TargetModules: []string{"query", "value"}}); err != nil {
		return nil, err
	}
	adapter := filepath.Join(root, "adapter")
	if err := m.Save(adapter); err != nil {
		return nil, err
	}
	return map[string]string{"base": base, "adapter": adapter}, nil
})

// modelFiles are the sentence-transformers and PEFT files the model fuzz target varies, in its
// argument order.
var modelFiles = []string{"modules.json", "sentence_bert_config.json", "1_Pooling/config.json", "config_sentence_transformers.json", "adapter_config.json"}

// copyFolder copies the regular files of src (one level of sub-folders) into dst, skipping skip.
func copyFolder(t *testing.T, src, dst string, skip ...string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if slices.Contains(skip, filepath.ToSlash(rel)) {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out := filepath.Join(dst, rel)
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		return os.WriteFile(out, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// describe is what a model folder configures, for round-trip comparisons.
func describe(m *model.SentenceTransformer) map[string]any {
	d := map[string]any{"pooling": m.Pooling, "normalize": m.Normalize, "max_seq_length": m.MaxSeqLength,
		"lower": m.DoLowerCase, "prompts": len(m.Prompts), "default_prompt": m.DefaultPromptName, "similarity": m.SimilarityFn,
		"dense": len(m.Dense)}
	for k, v := range m.Prompts {
		d["prompt "+k] = v
	}
	if a := m.Adapter; a != nil {
		d["adapter"] = []any{a.Config.R, a.Config.Alpha, a.Config.Dropout, a.Config.UseRSLoRA, a.Modules(), a.Scaling()}
	}
	return d
}

// FuzzLoadFolder loads a model folder whose modules.json, sentence_bert_config.json,
// 1_Pooling/config.json, config_sentence_transformers.json and adapter_config.json (PEFT) are
// arbitrary; an empty input leaves the file out. A folder that loads must save and load again to the
// same configuration; a rejected one must get an error naming the folder or its file.
func FuzzLoadFolder(f *testing.F) {
	folders, err := fuzzFolders()
	if err != nil {
		f.Fatal(err)
	}
	seed := func(name string) []byte {
		for _, dir := range []string{folders["adapter"], folders["base"]} {
			if b, err := os.ReadFile(filepath.Join(dir, name)); err == nil {
				return b
			}
		}
		return nil
	}
	var saved [][]byte
	for _, n := range modelFiles {
		saved = append(saved, seed(n))
	}
	f.Add(saved[0], saved[1], saved[2], saved[3], []byte{})
	f.Add(saved[0], saved[1], saved[2], saved[3], saved[4])
	f.Add([]byte{}, []byte{}, []byte{}, []byte{}, []byte{})
	f.Add([]byte(`[{"idx":0,"name":"0","path":"","type":"sentence_transformers.base.modules.Transformer"},{"idx":1,"name":"1","path":"1_Pooling","type":"sentence_transformers.sentence_transformer.modules.Pooling"},{"idx":2,"name":"2","path":"2_Normalize","type":"sentence_transformers.models.Normalize"}]`),
		[]byte(`{"max_seq_length":16,"do_lower_case":true,"transformer_task":"feature-extraction"}`),
		[]byte(`{"embedding_dimension":32,"pooling_mode":["cls","mean"],"include_prompt":false}`),
		[]byte(`{"prompts":{"query":"query: ","document":""},"default_prompt_name":"query","similarity_fn_name":"dot"}`),
		[]byte(`{"peft_type":"LORA","r":2,"lora_alpha":8,"use_rslora":true,"target_modules":".*\\.(query|value)","base_model_name_or_path":"x"}`))
	f.Fuzz(func(t *testing.T, modules, sbc, pooling, stcfg, adapter []byte) {
		dir := filepath.Join(t.TempDir(), "m")
		copyFolder(t, folders["base"], dir, modelFiles...)
		for i, data := range [][]byte{modules, sbc, pooling, stcfg, adapter} {
			if len(data) == 0 {
				continue
			}
			p := filepath.Join(dir, filepath.FromSlash(modelFiles[i]))
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if len(adapter) > 0 {
			copyFolder(t, folders["adapter"], dir, "adapter_config.json", "modules.json", "sentence_bert_config.json",
				"1_Pooling/config.json", "config_sentence_transformers.json", "README.md")
		}
		m, err := model.Load(dir, model.WithLogger(nil))
		if err != nil {
			if !strings.Contains(err.Error(), dir) {
				t.Fatalf("error names neither the folder nor its file: %v", err)
			}
			return
		}
		want := describe(m)
		again := filepath.Join(t.TempDir(), "saved")
		if m.Adapter != nil {
			// An adapter folder names its base model: save the adapter and load it onto the base.
			if err := m.Save(filepath.Join(t.TempDir(), "adapter")); err != nil {
				t.Fatalf("a loaded adapter cannot be saved: %v", err)
			}
			m.Adapter.BaseModel = dir
		}
		if err := m.Save(again); err != nil {
			t.Fatalf("a loaded model cannot be saved: %v", err)
		}
		if m.Adapter != nil {
			// The adapter folder loads its base (dir, itself with the adapter attached) first: compare the adapter
			// on a clean copy of the base instead.
			clean := filepath.Join(t.TempDir(), "clean")
			copyFolder(t, dir, clean, "adapter_config.json", "adapter_model.safetensors")
			copyFolder(t, again, clean, "modules.json", "sentence_bert_config.json", "1_Pooling/config.json",
				"config_sentence_transformers.json", "README.md")
			again = clean
		}
		m2, err := model.Load(again, model.WithLogger(nil))
		if err != nil {
			t.Fatalf("the saved model does not load: %v", err)
		}
		if got := describe(m2); !reflect.DeepEqual(got, want) {
			t.Fatalf("save → load changed the model:\n got %v\nwant %v", got, want)
		}
	})
}
