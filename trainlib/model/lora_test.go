package model_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/embedtune/embedtune/internal/testutil"
	"github.com/embedtune/embedtune/trainlib/model"
	"github.com/gomlx/gomlx/core/tensors"
)

// randomizeB gives the adapter's B matrices non-zero values (a fresh adapter is the identity).
func randomizeB(t *testing.T, m *model.SentenceTransformer) {
	t.Helper()
	for i, name := range m.Adapter.Weights.Names {
		if !strings.Contains(name, "lora_B") {
			continue
		}
		vals := tensors.MustCopyFlatData[float32](m.Adapter.Weights.Values[i])
		for j := range vals {
			vals[j] = float32((j*7919)%13-6) * 0.01
		}
		m.Adapter.Weights.Values[i] = tensors.FromFlatDataAndDimensions(vals, m.Adapter.Weights.Shapes[i]...)
	}
}

// TestLoRASaveLoadMergeAndPython: a Go adapter saved as sentence-transformers' adapter folder loads
// in Python (through PEFT) with our embeddings; merging keeps the embeddings; and an adapter made
// by Python's add_adapter loads in Go with Python's embeddings.
func TestLoRASaveLoadMergeAndPython(t *testing.T) {
	m := tinyModel(t, "mean")
	base := saved(t, m)
	m, err := model.Load(base, model.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	plain := encode(t, m)
	if err := m.AddAdapter(model.LoRAConfig{R: 4, Alpha: 8, TargetModules: []string{"query", "value", "dense"}, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	// B = 0: no change, up to float32 rounding: XLA fuses the base product with the adapter's sum and
	// may then compute it in another order (the pure-Go backend gives identical bits).
	sameEmbeddings(t, plain, encode(t, m), 1e-6)
	randomizeB(t, m)
	withAdapter := encode(t, m)
	if withAdapter[0][0] == plain[0][0] {
		t.Fatal("the adapter has no effect")
	}
	dir := filepath.Join(t.TempDir(), "adapter")
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"adapter_config.json", "adapter_model.safetensors", "modules.json", "tokenizer.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("adapter folder lacks %s", f)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "model.safetensors")); err == nil {
		t.Error("adapter folder holds the base weights")
	}
	back, err := model.Load(dir, model.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	if back.Adapter == nil || len(back.Adapter.Modules()) != 2*5+1 { // query, value and 3 dense per layer, 2 layers, + pooler.dense
		t.Fatalf("adapter modules after load: %v", back.Adapter)
	}
	sameEmbeddings(t, withAdapter, encode(t, back), 0)

	var py struct{ Embeddings [][]float64 }
	testutil.PythonJSON(t, "tests/reference/st_encode.py", map[string]any{"model": dir, "texts": texts, "with_ids": false}, &py)
	for i := range withAdapter {
		if d := maxDiff(withAdapter[i], py.Embeddings[i]); d > 1e-5 {
			t.Fatalf("Python (PEFT) on our adapter folder: text %d differs by %.3g", i, d)
		}
	}

	if err := back.MergeAdapter(); err != nil {
		t.Fatal(err)
	}
	sameEmbeddings(t, withAdapter, encode(t, back), 1e-5)
	merged := filepath.Join(t.TempDir(), "merged")
	if err := back.Save(merged); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(merged, "adapter_config.json")); err == nil {
		t.Error("merged model still holds an adapter")
	}

	// An adapter created by Python's sentence-transformers + PEFT.
	pyDir := filepath.Join(t.TempDir(), "py-adapter")
	var ref struct {
		Embeddings       [][]float64 `json:"embeddings"`
		MergedEmbeddings [][]float64 `json:"merged_embeddings"`
	}
	testutil.PythonJSON(t, "tests/reference/st_make_adapter.py", map[string]any{"base": base, "out": pyDir, "r": 4, "lora_alpha": 16,
		"target_modules": []string{"key", "attention.output.dense"}, "texts": texts}, &ref)
	pm, err := model.Load(pyDir, model.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	got := encode(t, pm)
	for i := range got {
		if d := maxDiff(got[i], ref.Embeddings[i]); d > 1e-5 {
			t.Fatalf("Python-made adapter: text %d differs by %.3g", i, d)
		}
	}
	if err := pm.MergeAdapter(); err != nil {
		t.Fatal(err)
	}
	got = encode(t, pm)
	for i := range got {
		if d := maxDiff(got[i], ref.MergedEmbeddings[i]); d > 1e-5 {
			t.Fatalf("merged vs PEFT merge_and_unload: text %d differs by %.3g", i, d)
		}
	}
}

func TestLoRABadInput(t *testing.T) {
	m := tinyModel(t, "mean")
	if err := m.AddAdapter(model.LoRAConfig{TargetModules: []string{"nonexistent"}}); err == nil || !strings.Contains(err.Error(), "match none") {
		t.Errorf("unknown target: %v", err)
	}
	if err := m.AddAdapter(model.LoRAConfig{Dropout: 1.5}); err == nil {
		t.Error("dropout 1.5 accepted")
	}
	if err := m.MergeAdapter(); err == nil {
		t.Error("merging without an adapter succeeded")
	}
	if err := m.AddAdapter(model.LoRAConfig{}); err != nil {
		t.Fatal(err)
	}
	if mods := m.Adapter.Modules(); len(mods) != 4 || !strings.HasSuffix(mods[0], "query") {
		t.Errorf("default targets (PEFT's for BERT: query, value): %v", mods)
	}
	if err := m.AddAdapter(model.LoRAConfig{}); err == nil {
		t.Error("a second adapter was accepted")
	}
	if err := m.Save(t.TempDir()); err == nil || !strings.Contains(err.Error(), "base model was never saved") {
		t.Errorf("saving an adapter whose base has no folder: %v", err)
	}
	dir := saved(t, tinyModel(t, "mean"))
	os.WriteFile(filepath.Join(dir, "adapter_config.json"), []byte(`{"peft_type": "IA3", "base_model_name_or_path": "x"}`), 0o644)
	if _, err := model.Load(dir, model.WithLogger(nil)); err == nil || !strings.Contains(err.Error(), "IA3") {
		t.Errorf("IA3 adapter: %v", err)
	}
}
