package model_test

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/embedtune/embedtune/internal/synth"
	"github.com/embedtune/embedtune/trainlib/hub"
	"github.com/embedtune/embedtune/trainlib/hub/hubtest"
	"github.com/embedtune/embedtune/trainlib/model"
	"github.com/embedtune/embedtune/trainlib/safetensors"
)

func tinyModel(t *testing.T, pooling string) *model.SentenceTransformer {
	t.Helper()
	m, err := synth.TinyModel(filepath.Join(t.TempDir(), "tok"), pooling, 7, model.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func saved(t *testing.T, m *model.SentenceTransformer) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "model")
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

var texts = []string{"What is the capital of Kalomi?", "Kalomi is a country whose capital is Tensa.", ""}

func encode(t *testing.T, m *model.SentenceTransformer) [][]float32 {
	t.Helper()
	e, err := m.Encode(texts, nil)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func sameEmbeddings(t *testing.T, a, b [][]float32, tol float64) {
	t.Helper()
	for i := range a {
		for j := range a[i] {
			if math.Abs(float64(a[i][j]-b[i][j])) > tol {
				t.Fatalf("embedding %d[%d]: %v vs %v", i, j, a[i][j], b[i][j])
			}
		}
	}
}

// TestSaveLoadRoundTrip checks load → save → load keeps every tensor bit-identical and the folder
// has the sentence-transformers structure.
func TestSaveLoadRoundTrip(t *testing.T) {
	m := tinyModel(t, "cls")
	dir := saved(t, m)
	for _, f := range []string{"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "vocab.txt",
		"modules.json", "sentence_bert_config.json", "config_sentence_transformers.json", "1_Pooling/config.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}
	if st, err := os.Stat(filepath.Join(dir, "2_Normalize")); err != nil || !st.IsDir() {
		t.Errorf("missing 2_Normalize/")
	}
	var mods []map[string]any
	data, _ := os.ReadFile(filepath.Join(dir, "modules.json"))
	if err := json.Unmarshal(data, &mods); err != nil || len(mods) != 3 || mods[2]["type"] != "sentence_transformers.models.Normalize" {
		t.Fatalf("modules.json = %s", data)
	}
	m2, err := model.Load(dir, model.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	dir2 := saved(t, m2)
	a, _ := os.ReadFile(filepath.Join(dir, "model.safetensors"))
	b, _ := os.ReadFile(filepath.Join(dir2, "model.safetensors"))
	if !bytes.Equal(a, b) {
		t.Fatal("model.safetensors changed in load → save")
	}
	sameEmbeddings(t, encode(t, m), encode(t, m2), 0)
	if m2.MaxSeqLength != m.MaxSeqLength || m2.Pooling.Modes[0] != "cls" || !m2.Normalize {
		t.Fatalf("settings changed: %d %v %v", m2.MaxSeqLength, m2.Pooling, m2.Normalize)
	}
	if !strings.Contains(m2.String(), "'pooling_mode_cls_token': True") || !strings.Contains(m2.String(), "Normalize()") {
		t.Errorf("summary:\n%s", m2)
	}
}

// TestHalfPrecisionAndShardedWeights loads F16/BF16 and sharded checkpoints.
func TestHalfPrecisionAndShardedWeights(t *testing.T) {
	m := tinyModel(t, "mean")
	dir := saved(t, m)
	f, err := safetensors.Open(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	var all []safetensors.Tensor
	for _, n := range f.Names() {
		info, _ := f.Info(n)
		vals, _ := f.Float32(n)
		all = append(all, safetensors.Tensor{Name: n, Shape: info.Shape, DType: info.DType, Data: nil})
		all[len(all)-1].Data, _ = safetensors.EncodeFloat32(vals, safetensors.F32)
	}
	f.Close()
	ref := encode(t, m)
	for _, dt := range []safetensors.DType{safetensors.F16, safetensors.BF16} {
		var ts []safetensors.Tensor
		for _, x := range all {
			vals, _ := safetensors.DecodeFloat32(x.Data, safetensors.F32)
			data, _ := safetensors.EncodeFloat32(vals, dt)
			ts = append(ts, safetensors.Tensor{Name: x.Name, DType: dt, Shape: x.Shape, Data: data})
		}
		if err := safetensors.WriteFile(filepath.Join(dir, "model.safetensors"), ts, nil); err != nil {
			t.Fatal(err)
		}
		h, err := model.Load(dir, model.WithLogger(nil))
		if err != nil {
			t.Fatalf("%s: %v", dt, err)
		}
		tol := 2e-2
		sameEmbeddings(t, ref, encode(t, h), tol)
		out := saved(t, h)
		g, _ := safetensors.Open(filepath.Join(out, "model.safetensors"))
		info, _ := g.Info("encoder.layer.0.attention.self.query.weight")
		g.Close()
		if info.DType != dt {
			t.Errorf("saved %s model as %s", dt, info.DType)
		}
	}
	// Sharded: two files and an index.
	os.Remove(filepath.Join(dir, "model.safetensors"))
	half := len(all) / 2
	index := map[string]any{"metadata": map[string]any{}, "weight_map": map[string]string{}}
	for i, part := range [][]safetensors.Tensor{all[:half], all[half:]} {
		name := []string{"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"}[i]
		if err := safetensors.WriteFile(filepath.Join(dir, name), part, nil); err != nil {
			t.Fatal(err)
		}
		for _, x := range part {
			index["weight_map"].(map[string]string)[x.Name] = name
		}
	}
	data, _ := json.Marshal(index)
	os.WriteFile(filepath.Join(dir, "model.safetensors.index.json"), data, 0o644)
	s, err := model.Load(dir, model.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	sameEmbeddings(t, ref, encode(t, s), 0)
	if !strings.Contains(s.WeightsFrom, "2 shards") {
		t.Errorf("WeightsFrom = %q", s.WeightsFrom)
	}
}

// TestNoModulesJSON behaves like sentence-transformers: mean pooling, with a message.
func TestNoModulesJSON(t *testing.T) {
	m := tinyModel(t, "cls")
	dir := saved(t, m)
	for _, f := range []string{"modules.json", "sentence_bert_config.json"} {
		os.Remove(filepath.Join(dir, f))
	}
	var log bytes.Buffer
	m2, err := model.Load(dir, model.WithLogger(&log))
	if err != nil {
		t.Fatal(err)
	}
	if m2.Pooling.Modes[0] != "mean" || m2.Normalize || !strings.Contains(log.String(), "mean pooling") {
		t.Fatalf("pooling %v normalize %v log %q", m2.Pooling, m2.Normalize, log.String())
	}
}

func TestEncodeEdgeCases(t *testing.T) {
	m := tinyModel(t, "mean")
	out, err := m.Encode(nil, nil)
	if err != nil || len(out) != 0 {
		t.Fatalf("empty input: %v %v", out, err)
	}
	ids, err := m.Tokenizer.Encode("", m.MaxSeqLength)
	if err != nil || len(ids) != 2 {
		t.Fatalf("empty string tokenizes to %v (%v), want [CLS] [SEP]", ids, err)
	}
	// Invalid UTF-8 is read as Python's errors="replace" would: same as the text without the bytes.
	a, err := m.Encode([]string{"caf\xc3 ok", "caf ok"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sameEmbeddings(t, a[:1], a[1:], 0)
	// Order is restored after length sorting; batching does not change results.
	long := strings.Repeat("the river flows ", 40)
	in := []string{"a", long, "b c d", "", long + "x"}
	b1, _ := m.Encode(in, &model.EncodeOptions{BatchSize: 1})
	b8, _ := m.Encode(in, &model.EncodeOptions{BatchSize: 8})
	sameEmbeddings(t, b1, b8, 1e-5)
	single, _ := m.Encode([]string{"b c d"}, nil)
	sameEmbeddings(t, [][]float32{b8[2]}, single, 1e-5)
	var calls []int
	m.Encode(in, &model.EncodeOptions{BatchSize: 2, Progress: func(done, total int) { calls = append(calls, done) }})
	if len(calls) != 3 || calls[2] != 5 {
		t.Errorf("progress calls %v", calls)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.Encode(in, &model.EncodeOptions{Context: ctx}); err == nil {
		t.Error("cancelled context accepted")
	}
	if _, err := m.Encode(in, &model.EncodeOptions{PromptName: "query"}); err == nil || !strings.Contains(err.Error(), "prompt name") {
		t.Errorf("unknown prompt name: %v", err)
	}
	tr, _ := m.Encode(in, &model.EncodeOptions{TruncateDim: 8, Normalize: true})
	var norm float64
	for _, v := range tr[1] {
		norm += float64(v) * float64(v)
	}
	if len(tr[1]) != 8 || math.Abs(norm-1) > 1e-5 {
		t.Errorf("truncate+normalize: len %d norm² %v", len(tr[1]), norm)
	}
}

// TestBadModelFolders checks each broken folder gives a clear error naming the file.
func TestBadModelFolders(t *testing.T) {
	m := tinyModel(t, "cls")
	base := saved(t, m)
	edit := func(t *testing.T, f func(dir string)) string {
		dir := filepath.Join(t.TempDir(), "m")
		os.CopyFS(dir, os.DirFS(base))
		f(dir)
		return dir
	}
	write := func(dir, rel, content string) { os.WriteFile(filepath.Join(dir, rel), []byte(content), 0o644) }
	patchJSON := func(dir, rel string, fn func(map[string]any)) {
		var v map[string]any
		data, _ := os.ReadFile(filepath.Join(dir, rel))
		json.Unmarshal(data, &v)
		fn(v)
		data, _ = json.Marshal(v)
		os.WriteFile(filepath.Join(dir, rel), data, 0o644)
	}
	tests := []struct {
		name string
		edit func(dir string)
		want []string
	}{
		{"missing config", func(d string) { os.Remove(filepath.Join(d, "config.json")) }, []string{"config.json"}},
		{"missing weights", func(d string) { os.Remove(filepath.Join(d, "model.safetensors")) }, []string{"no weights", "model.safetensors"}},
		{"pytorch only", func(d string) {
			os.Remove(filepath.Join(d, "model.safetensors"))
			write(d, "pytorch_model.bin", "x")
		}, []string{"pytorch_model.bin", "safe_serialization=True"}},
		{"missing tokenizer", func(d string) {
			os.Remove(filepath.Join(d, "tokenizer.json"))
			os.Remove(filepath.Join(d, "vocab.txt"))
		}, []string{"tokenizer"}},
		{"heads do not divide", func(d string) { patchJSON(d, "config.json", func(v map[string]any) { v["num_attention_heads"] = 5 }) }, []string{"not divisible"}},
		{"more layers than weights", func(d string) { patchJSON(d, "config.json", func(v map[string]any) { v["num_hidden_layers"] = 3 }) }, []string{"encoder.layer.2", "missing"}},
		{"wrong hidden size", func(d string) {
			patchJSON(d, "config.json", func(v map[string]any) { v["intermediate_size"] = 48 })
		}, []string{"intermediate.dense.weight", "shape"}},
		{"unknown pooling", func(d string) { write(d, "1_Pooling/config.json", `{"pooling_mode": "median"}`) }, []string{"1_Pooling/config.json", "median"}},
		{"no pooling enabled", func(d string) { write(d, "1_Pooling/config.json", `{"pooling_mode_cls_token": false}`) }, []string{"no pooling mode"}},
		{"bad modules.json", func(d string) { write(d, "modules.json", `{"not": "a list"}`) }, []string{"modules.json"}},
		{"unknown module", func(d string) {
			write(d, "modules.json", `[{"idx":0,"name":"0","path":"","type":"sentence_transformers.models.Transformer"},{"idx":1,"name":"1","path":"1_LSTM","type":"sentence_transformers.models.LSTM"}]`)
		}, []string{"LSTM", "not support"}},
		{"corrupt safetensors", func(d string) { write(d, "model.safetensors", "\x10\x00\x00\x00\x00\x00\x00\x00not json at all!") }, []string{"model.safetensors", "JSON"}},
		{"max_seq_length too long", func(d string) { write(d, "sentence_bert_config.json", `{"max_seq_length": 100000}`) }, []string{"max_seq_length"}},
		{"unknown model type", func(d string) { patchJSON(d, "config.json", func(v map[string]any) { v["model_type"] = "gpt2" }) }, []string{"gpt2"}},
		{"bad similarity", func(d string) {
			patchJSON(d, "config_sentence_transformers.json", func(v map[string]any) { v["similarity_fn_name"] = "jaccard" })
		}, []string{"jaccard"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := edit(t, tc.edit)
			_, err := model.Load(dir, model.WithLogger(nil))
			if err == nil {
				t.Fatalf("loaded a broken model; want error mentioning %v", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// TestLoadFromHub serves a model folder through the local fake Hub and loads it by id; a second
// load works offline from the shared cache, and a pytorch-only repository is refused clearly.
func TestLoadFromHub(t *testing.T) {
	m := tinyModel(t, "cls")
	dir := saved(t, m)
	os.MkdirAll(filepath.Join(dir, "onnx"), 0o755)
	os.WriteFile(filepath.Join(dir, "onnx", "model.onnx"), []byte("not needed"), 0o644)
	srv := hubtest.NewServer(t)
	srv.AddFolder(hub.Model, "BAAI/bge-tiny-test", dir)
	cache := t.TempDir()
	h, err := model.Load("BAAI/bge-tiny-test", model.WithLogger(nil), model.WithHubOptions(hub.WithEndpoint(srv.URL), hub.WithCacheDir(cache)))
	if err != nil {
		t.Fatal(err)
	}
	sameEmbeddings(t, encode(t, m), encode(t, h), 0)
	if !strings.Contains(h.Dir, "models--BAAI--bge-tiny-test") {
		t.Errorf("Dir %q is not in the Hugging Face cache layout", h.Dir)
	}
	for _, r := range srv.Requests() {
		if strings.Contains(r.Path, "onnx") {
			t.Errorf("downloaded %s", r.Path)
		}
	}
	srv.Close()
	if _, err := model.Load("BAAI/bge-tiny-test", model.WithLogger(nil), model.WithHubOptions(hub.WithEndpoint(srv.URL), hub.WithCacheDir(cache), hub.WithOffline(true))); err != nil {
		t.Fatalf("offline load from cache: %v", err)
	}
	if _, err := model.Load("BAAI/not-there", model.WithLogger(nil), model.WithHubOptions(hub.WithEndpoint(srv.URL), hub.WithCacheDir(cache), hub.WithOffline(true))); err == nil {
		t.Fatal("offline load of an uncached model succeeded")
	}

	srv2 := hubtest.NewServer(t)
	srv2.AddRepo(hub.Model, "old/pytorch-only", []hubtest.File{{Path: "config.json", Content: []byte("{}")}, {Path: "pytorch_model.bin", Content: []byte("x"), LFS: true}})
	_, err = model.Load("old/pytorch-only", model.WithLogger(nil), model.WithHubOptions(hub.WithEndpoint(srv2.URL), hub.WithCacheDir(t.TempDir())))
	if err == nil || !strings.Contains(err.Error(), "pytorch_model.bin") {
		t.Fatalf("pytorch-only repo: %v", err)
	}
	if _, err := model.Load("./no/such/dir", model.WithLogger(nil)); err == nil || !strings.Contains(err.Error(), "not a Hub model id") {
		t.Fatalf("missing folder: %v", err)
	}
}
