package serve

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/embedtune/embedtune/internal/testutil"
	"github.com/embedtune/embedtune/trainlib/model"
	"github.com/gomlx/gomlx/core/tensors"
)

// tinyAdapter saves a LoRA adapter (non-zero B, so it changes the embeddings) on the model folder
// base, as sentence-transformers' adapter folder, and returns its path.
func tinyAdapter(t *testing.T, base string) string {
	t.Helper()
	m, err := model.Load(base, model.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.AddAdapter(model.LoRAConfig{R: 4, Alpha: 8, TargetModules: []string{"query", "value", "dense"}, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	for i, name := range m.Adapter.Weights.Names {
		if strings.Contains(name, "lora_B") {
			vals := tensors.MustCopyFlatData[float32](m.Adapter.Weights.Values[i])
			for j := range vals {
				vals[j] = float32((j*7919)%13-6) * 0.01
			}
			m.Adapter.Weights.Values[i] = tensors.FromFlatDataAndDimensions(vals, m.Adapter.Weights.Shapes[i]...)
		}
	}
	dir := filepath.Join(t.TempDir(), "adapter")
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestRealClients serves a plain model and a LoRA adapter folder on a loopback port and queries them
// with Python's real clients — the openai SDK, LangChain's OpenAIEmbeddings, huggingface_hub's
// InferenceClient and plain HTTP — comparing every answer with sentence-transformers on the same
// folders (≤ 1e-5), and checking the exception classes those clients raise for bad requests.
func TestRealClients(t *testing.T) {
	testutil.Python(t)
	const key = "sk-embedtune-test"
	plain, plainDir := tinyModel(t, "mean", false, 1)
	adapterDir := tinyAdapter(t, plainDir)
	lora, err := model.Load(adapterDir, model.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	if lora.Adapter == nil {
		t.Fatal("the adapter folder loaded without its adapter")
	}
	srv, err := Start("", []Model{{"tiny-mean", plain}, {"tiny-lora", lora}}, WithAPIKey(key))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	var res struct {
		Checks []struct {
			Client, Model string
			MaxAbsDiff    float64 `json:"max_abs_diff"`
			N, Dim        int
			ShapeOK       bool `json:"shape_ok"`
		}
		Errors []struct {
			Case, Exception, Message string
			Status                   int
		}
		Usage []struct {
			Model         string
			PromptTokens  int    `json:"prompt_tokens"`
			TotalTokens   int    `json:"total_tokens"`
			Expected      int    `json:"expected"`
			ResponseModel string `json:"response_model"`
		}
	}
	testutil.PythonJSON(t, "tests/reference/serve_clients.py", map[string]any{"url": srv.URL, "api_key": key, "texts": testTexts,
		"dimensions": 8, "models": []map[string]string{{"name": "tiny-mean", "dir": plainDir}, {"name": "tiny-lora", "dir": adapterDir}}}, &res)
	if len(res.Checks) < 2*12 {
		t.Errorf("only %d client checks ran", len(res.Checks))
	}
	for _, c := range res.Checks {
		if !c.ShapeOK || c.MaxAbsDiff > 1e-5 {
			t.Errorf("%s on %s: max |Δ| vs sentence-transformers %.3g (shape ok %v: %d × %d)", c.Client, c.Model, c.MaxAbsDiff, c.ShapeOK, c.N, c.Dim)
		} else {
			t.Logf("%-60s %-10s max |Δ| %.2g", c.Client, c.Model, c.MaxAbsDiff)
		}
	}
	for _, u := range res.Usage {
		if u.PromptTokens != u.Expected || u.TotalTokens != u.Expected || u.ResponseModel != u.Model {
			t.Errorf("%s: usage %d/%d tokens, sentence-transformers' tokenizer counts %d; response model %q",
				u.Model, u.PromptTokens, u.TotalTokens, u.Expected, u.ResponseModel)
		}
	}
	want := map[string]struct {
		exception string
		status    int
		msg       string
	}{
		"openai wrong key":                                   {"AuthenticationError", 401, "Incorrect API key"},
		"openai unknown model":                               {"NotFoundError", 404, "does not exist"},
		"openai empty string":                                {"BadRequestError", 400, "empty string"},
		"openai token ids":                                   {"BadRequestError", 400, "check_embedding_ctx_length=False"},
		"openai dimensions too large":                        {"BadRequestError", 400, "dimensions"},
		"langchain wrong key":                                {"AuthenticationError", 401, "Incorrect API key"},
		"huggingface_hub wrong key":                          {"HfHubHTTPError", 401, ""},
		"huggingface_hub truncate=False over max_seq_length": {"HfHubHTTPError", 413, "max_seq_length"},
	}
	if len(res.Errors) != len(want) {
		t.Errorf("%d error cases ran, want %d", len(res.Errors), len(want))
	}
	for _, e := range res.Errors {
		w, ok := want[e.Case]
		if !ok {
			t.Errorf("unexpected case %q", e.Case)
			continue
		}
		if e.Exception != w.exception || e.Status != w.status || !strings.Contains(e.Message, w.msg) {
			t.Errorf("%s: %s (status %d): %s; want %s, %d, message with %q", e.Case, e.Exception, e.Status, e.Message, w.exception, w.status, w.msg)
		}
	}
	// The server kept serving through the bad requests.
	if status, _, _ := get(t, srv.URL+"/health"); status != 200 {
		t.Errorf("/health after the clients: %d", status)
	}
}
