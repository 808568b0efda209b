package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/embedtune/embedtune/internal/atomicio"
	"github.com/embedtune/embedtune/trainlib/safetensors"
	"github.com/gomlx/gomlx/core/tensors"
)

// Version is embedtune's version, recorded in saved models.
const Version = "0.1.0"

// Save writes a complete sentence-transformers folder that Python's SentenceTransformer(dir) loads
// unchanged (with a LoRA adapter attached: sentence-transformers' adapter folder, whose
// adapter_config.json points at the base model — call MergeAdapter first for a standalone model): config.json, model.safetensors, the tokenizer files, modules.json,
// sentence_bert_config.json, config_sentence_transformers.json, 1_Pooling/config.json, the Dense
// folders and 2_Normalize/ when used, and README.md, the model card (see ModelCard; a loaded model
// that was not trained keeps its README.md, as in sentence-transformers). The classic module names are used, which every
// sentence-transformers version reads.
//
// Tensors keep the dtype they were loaded with (F32 for new models), so load → save → load is
// bit-identical. The folder is built next to dir and moved into place: a new dir appears whole;
// an existing dir (e.g. a trainer's output_dir holding checkpoints) gets each file replaced
// atomically, and is never left with a partial file.
func (m *SentenceTransformer) Save(dir string) error {
	if dir == "" {
		return fmt.Errorf("save: empty output folder")
	}
	fill := func(tmp string) error { return m.writeFiles(tmp) }
	st, err := os.Stat(dir)
	switch {
	case os.IsNotExist(err):
		return atomicio.ReplaceDir(dir, fill)
	case err != nil:
		return fmt.Errorf("save: %w", err)
	case !st.IsDir():
		return fmt.Errorf("save: %s exists and is not a folder", dir)
	}
	staging, err := os.MkdirTemp(dir, ".embedtune-save-*")
	if err != nil {
		return fmt.Errorf("save: %w", err)
	}
	defer os.RemoveAll(staging)
	if err := fill(staging); err != nil {
		return err
	}
	entries, err := os.ReadDir(staging)
	if err != nil {
		return fmt.Errorf("save: %w", err)
	}
	for _, e := range entries {
		src, dst := filepath.Join(staging, e.Name()), filepath.Join(dir, e.Name())
		if e.IsDir() {
			if err := atomicio.MoveDir(src, dst); err != nil {
				return fmt.Errorf("save: %w", err)
			}
			continue
		}
		if err := os.Rename(src, dst); err != nil {
			return fmt.Errorf("save: %w", err)
		}
	}
	// Shards of an earlier sharded save would shadow nothing but waste space and confuse readers.
	if old, _ := filepath.Glob(filepath.Join(dir, "model-*-of-*.safetensors")); len(old) > 0 {
		for _, f := range old {
			os.Remove(f)
		}
		os.Remove(filepath.Join(dir, "model.safetensors.index.json"))
	}
	return nil
}

// writeFiles writes the whole model into an empty folder.
func (m *SentenceTransformer) writeFiles(dir string) error {
	write := func(rel string, data []byte) error {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("save: %w", err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return fmt.Errorf("save: %w", err)
		}
		return nil
	}
	writeJSON := func(rel string, v any) error {
		data, err := marshalIndent(v)
		if err != nil {
			return fmt.Errorf("save %s: %w", rel, err)
		}
		return write(rel, data)
	}
	byFile, err := m.tensorsByFile()
	if err != nil {
		return err
	}
	if a := m.Adapter; a != nil {
		if a.BaseModel == "" {
			return fmt.Errorf("save: the model has a LoRA adapter but its base model was never saved, so the adapter folder " +
				"could not name it: save the base model first (Save, then LoadModel(dir) and AddAdapter), or MergeAdapter to save one standalone model")
		}
		// sentence-transformers' adapter folder: the transformer's weights stay in the base model
		// (adapter_config.json's base_model_name_or_path); only the LoRA matrices are written.
		delete(byFile, "model.safetensors")
		ts, err := a.adapterTensors()
		if err != nil {
			return fmt.Errorf("save: %w", err)
		}
		byFile["adapter_model.safetensors"] = ts
		if err := writeJSON("adapter_config.json", a.adapterConfigJSON()); err != nil {
			return err
		}
	} else if err := writeJSON("config.json", m.Config); err != nil {
		return err
	}
	for rel, ts := range byFile {
		data, err := safetensors.Encode(ts, map[string]string{"format": "pt"})
		if err != nil {
			return fmt.Errorf("save %s: %w", rel, err)
		}
		if err := write(rel, data); err != nil {
			return err
		}
	}
	for _, f := range tokenizerFiles {
		if data, ok := m.files[f]; ok {
			if err := write(f, data); err != nil {
				return err
			}
		}
	}
	sbc := map[string]any{}
	if extra, ok := m.files["sentence_bert_config.extra"]; ok {
		_ = json.Unmarshal(extra, &sbc)
	}
	sbc["max_seq_length"] = m.MaxSeqLength
	sbc["do_lower_case"] = m.DoLowerCase
	if err := writeJSON("sentence_bert_config.json", sbc); err != nil {
		return err
	}
	mods := []moduleEntry{{Idx: 0, Name: "0", Path: "", Type: typeTransformer}, {Idx: 1, Name: "1", Path: "1_Pooling", Type: typePooling}}
	if err := writeJSON("1_Pooling/config.json", m.Pooling.classicJSON(m.Config.HiddenSize)); err != nil {
		return err
	}
	for _, d := range m.Dense {
		idx := len(mods)
		mods = append(mods, moduleEntry{Idx: idx, Name: fmt.Sprint(idx), Path: d.Path, Type: typeDense})
		cfg := map[string]any{}
		for k, v := range d.extra {
			cfg[k] = v
		}
		cfg["in_features"], cfg["out_features"], cfg["bias"], cfg["activation_function"] = d.InFeatures, d.OutFeatures, d.Bias, d.Activation
		if err := writeJSON(d.Path+"/config.json", cfg); err != nil {
			return err
		}
	}
	if m.Normalize {
		idx := len(mods)
		path := fmt.Sprintf("%d_Normalize", idx)
		mods = append(mods, moduleEntry{Idx: idx, Name: fmt.Sprint(idx), Path: path, Type: typeNormalize})
		if err := os.MkdirAll(filepath.Join(dir, path), 0o755); err != nil {
			return fmt.Errorf("save: %w", err)
		}
	}
	if err := writeJSON("modules.json", mods); err != nil {
		return err
	}
	if err := write("README.md", m.readme()); err != nil {
		return err
	}
	return writeJSON("config_sentence_transformers.json", m.stConfigJSON())
}

// readme is the model card to save: the loaded README.md of a model that was not trained, as
// sentence-transformers keeps it, or else the generated card (ModelCard).
func (m *SentenceTransformer) readme() []byte {
	if old, ok := m.files["README.md"]; ok && (m.CardData == nil || !m.CardData.Trained) {
		return old
	}
	return []byte(m.ModelCard())
}

// stConfigJSON returns config_sentence_transformers.json: the loaded file's fields, with prompts,
// default_prompt_name and similarity_fn_name set from the model.
func (m *SentenceTransformer) stConfigJSON() map[string]any {
	out := map[string]any{}
	if raw, ok := m.files["config_sentence_transformers.json"]; ok {
		_ = json.Unmarshal(raw, &out)
	}
	if _, ok := out["__version__"]; !ok {
		out["__version__"] = map[string]string{"embedtune": Version}
	}
	prompts := m.Prompts
	if prompts == nil {
		prompts = map[string]string{}
	}
	out["prompts"] = prompts
	if m.DefaultPromptName != "" {
		out["default_prompt_name"] = m.DefaultPromptName
	} else {
		out["default_prompt_name"] = nil
	}
	out["similarity_fn_name"] = m.SimilarityFn
	if _, ok := out["model_type"]; !ok {
		out["model_type"] = "SentenceTransformer"
	}
	return out
}

// tensorsByFile groups the weights by output file, converted to their stored dtypes.
func (m *SentenceTransformer) tensorsByFile() (map[string][]safetensors.Tensor, error) {
	out := map[string][]safetensors.Tensor{}
	w := m.Weights
	for i, name := range w.Names {
		vals, err := tensors.CopyFlatData[float32](w.Values[i])
		if err != nil {
			return nil, fmt.Errorf("save: reading tensor %q: %w", name, err)
		}
		dt := w.StoredDType[name]
		if dt == "" {
			dt = safetensors.F32
		}
		data, err := safetensors.EncodeFloat32(vals, dt)
		if err != nil {
			return nil, fmt.Errorf("save: tensor %q: %w", name, err)
		}
		file, tname := "model.safetensors", name
		if slash := strings.LastIndex(name, "/"); slash >= 0 {
			file, tname = name[:slash]+"/model.safetensors", name[slash+1:]
		}
		out[file] = append(out[file], safetensors.Tensor{Name: tname, DType: dt, Shape: w.Shapes[i], Data: data})
	}
	out["model.safetensors"] = append(out["model.safetensors"], w.Extra[""]...)
	return out, nil
}

// marshalIndent renders JSON with 2-space indentation and a trailing newline, without escaping
// HTML characters (prompts may contain "<" or "&").
func marshalIndent(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
