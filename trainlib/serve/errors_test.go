package serve

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/embedtune/embedtune/internal/testutil"
)

// TestBadInput sends every kind of bad request to both APIs and checks the status code and error body
// each API's clients expect; the server keeps serving, and its log holds neither texts nor the key.
func TestBadInput(t *testing.T) {
	const key = "sk-test-KEY-4242"
	const secretText = "zebra unicorn confidential sentence"
	m, _ := tinyModel(t, "mean", false, 1)
	var logs testutil.SyncBuffer
	srv, err := Start("", []Model{{"mean", m}}, WithAPIKey(key), WithMaxInputs(4), WithMaxQueue(8),
		WithMaxRequestBytes(4096), WithLogger(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	auth := []string{"Authorization", "Bearer " + key}
	long := strings.Repeat("word ", 100)
	big := `{"input": "` + strings.Repeat("x", 5000) + `"}`

	type want struct {
		status int
		typ    string // OpenAI error.type or TEI error_type
		param  string // OpenAI error.param
		code   string // OpenAI error.code
		msg    string // substring of the message
	}
	for _, tc := range []struct {
		name   string
		method string
		path   string
		body   any
		header []string
		want   want
	}{
		// OpenAI route.
		{"invalid JSON", "POST", "/v1/embeddings", `{"input": ["a"`, auth, want{400, "invalid_request_error", "", "", "not valid JSON"}},
		{"empty body", "POST", "/v1/embeddings", ``, auth, want{400, "invalid_request_error", "", "", "body is empty"}},
		{"body is an array", "POST", "/v1/embeddings", `["a"]`, auth, want{400, "invalid_request_error", "", "", "must be a JSON object"}},
		{"no input", "POST", "/v1/embeddings", map[string]any{"model": "mean"}, auth, want{400, "invalid_request_error", "input", "", "`input` is required"}},
		{"input null", "POST", "/v1/embeddings", `{"input": null}`, auth, want{400, "invalid_request_error", "input", "", "`input` is required"}},
		{"empty input list", "POST", "/v1/embeddings", map[string]any{"input": []string{}}, auth, want{400, "invalid_request_error", "input", "", "cannot be empty"}},
		{"empty string", "POST", "/v1/embeddings", map[string]any{"input": ""}, auth, want{400, "invalid_request_error", "input", "", "text 0 is an empty string"}},
		{"empty string in list", "POST", "/v1/embeddings", map[string]any{"input": []string{secretText, ""}}, auth, want{400, "invalid_request_error", "input", "", "text 1 is an empty string"}},
		{"input is a number", "POST", "/v1/embeddings", `{"input": 42}`, auth, want{400, "invalid_request_error", "input", "", "must be a string or an array of strings, got a number"}},
		{"input is an object", "POST", "/v1/embeddings", `{"input": {"text": "a"}}`, auth, want{400, "invalid_request_error", "input", "", "got an object"}},
		{"token ids", "POST", "/v1/embeddings", `{"input": [101, 2054, 102]}`, auth, want{400, "invalid_request_error", "input", "", "check_embedding_ctx_length=False"}},
		{"token id lists", "POST", "/v1/embeddings", `{"input": [[101, 2054, 102]]}`, auth, want{400, "invalid_request_error", "input", "", "token-id input is not supported"}},
		{"null in list", "POST", "/v1/embeddings", `{"input": ["a", null]}`, auth, want{400, "invalid_request_error", "input", "", "`input[1]` must be a string, got null"}},
		{"object in list", "POST", "/v1/embeddings", `{"input": ["a", {"b": 1}]}`, auth, want{400, "invalid_request_error", "input", "", "`input[1]` must be a string, got an object"}},
		{"unknown model", "POST", "/v1/embeddings", map[string]any{"input": "a", "model": "text-embedding-3-small"}, auth, want{404, "invalid_request_error", "model", "model_not_found", "Served models: mean"}},
		{"model not a string", "POST", "/v1/embeddings", `{"input": "a", "model": 7}`, auth, want{400, "invalid_request_error", "model", "", "`model` must be a string"}},
		{"bad encoding_format", "POST", "/v1/embeddings", map[string]any{"input": "a", "encoding_format": "int8"}, auth, want{400, "invalid_request_error", "encoding_format", "", `"float" or "base64"`}},
		{"dimensions 0", "POST", "/v1/embeddings", map[string]any{"input": "a", "dimensions": 0}, auth, want{400, "invalid_request_error", "dimensions", "", "between 1 and 32"}},
		{"dimensions too large", "POST", "/v1/embeddings", map[string]any{"input": "a", "dimensions": 1536}, auth, want{400, "invalid_request_error", "dimensions", "", "between 1 and 32"}},
		{"dimensions fractional", "POST", "/v1/embeddings", `{"input": "a", "dimensions": 2.5}`, auth, want{400, "invalid_request_error", "dimensions", "", "whole number"}},
		{"dimensions string", "POST", "/v1/embeddings", `{"input": "a", "dimensions": "8"}`, auth, want{400, "invalid_request_error", "dimensions", "", "whole number, got a string"}},
		{"too many inputs", "POST", "/v1/embeddings", map[string]any{"input": []string{"a", "b", "c", "d", "e"}}, auth, want{413, "invalid_request_error", "input", "", "at most 4 are accepted"}},
		{"too long, truncate false", "POST", "/v1/embeddings", map[string]any{"input": []string{"a", long}, "truncate": false}, auth, want{413, "invalid_request_error", "input", "", "text 1 has 102 tokens, more than the model's max_seq_length of 48"}},
		{"body too large", "POST", "/v1/embeddings", big, auth, want{413, "invalid_request_error", "", "", "larger than 4096 bytes"}},
		{"unknown prompt", "POST", "/v1/embeddings", map[string]any{"input": "a", "prompt_name": "nope"}, auth, want{400, "invalid_request_error", "prompt_name", "", "passage, query"}},
		{"no API key", "POST", "/v1/embeddings", map[string]any{"input": secretText}, nil, want{401, "invalid_request_error", "", "invalid_api_key", "didn't provide an API key"}},
		{"wrong API key", "POST", "/v1/embeddings", map[string]any{"input": secretText}, []string{"Authorization", "Bearer sk-wrong"}, want{401, "invalid_request_error", "", "invalid_api_key", "Incorrect API key"}},
		{"models without key", "GET", "/v1/models", nil, nil, want{401, "invalid_request_error", "", "invalid_api_key", "API key"}},
		{"unknown model path", "GET", "/v1/models/nope", nil, auth, want{404, "invalid_request_error", "model", "model_not_found", "does not exist"}},
		{"wrong method", "GET", "/v1/embeddings", nil, auth, want{405, "invalid_request_error", "", "", "POST"}},

		// TEI route.
		{"tei invalid JSON", "POST", "/embed", `{"inputs": `, auth, want{400, "Validation", "", "", "not valid JSON"}},
		{"tei no inputs", "POST", "/embed", map[string]any{"normalize": true}, auth, want{400, "Empty", "", "", "`inputs` is required"}},
		{"tei empty list", "POST", "/embed", map[string]any{"inputs": []string{}}, auth, want{400, "Empty", "", "", "`inputs` cannot be empty"}},
		{"tei empty string", "POST", "/embed", map[string]any{"inputs": ""}, auth, want{400, "Empty", "", "", "cannot be empty"}},
		{"tei wrong type", "POST", "/embed", `{"inputs": true}`, auth, want{422, "Validation", "", "", "got a boolean"}},
		{"tei token ids", "POST", "/embed", `{"inputs": [101, 102]}`, auth, want{422, "Validation", "", "", "token ids"}},
		{"tei normalize not bool", "POST", "/embed", `{"inputs": "a", "normalize": "yes"}`, auth, want{422, "Validation", "", "", "`normalize` must be true or false"}},
		{"tei truncate false", "POST", "/embed", map[string]any{"inputs": long, "truncate": false}, auth, want{413, "Validation", "", "", "max_seq_length of 48"}},
		{"tei bad direction", "POST", "/embed", map[string]any{"inputs": "a", "truncation_direction": "middle"}, auth, want{422, "Validation", "", "", `"left" or "right"`}},
		{"tei unknown prompt", "POST", "/embed", map[string]any{"inputs": "a", "prompt_name": "nope"}, auth, want{422, "Validation", "", "", "passage, query"}},
		{"tei too many", "POST", "/embed", map[string]any{"inputs": []string{"a", "b", "c", "d", "e"}}, auth, want{413, "Validation", "", "", "at most 4"}},
		{"tei unknown model", "POST", "/embed", map[string]any{"inputs": "a", "model": "nope"}, auth, want{404, "NotFound", "", "", "does not exist"}},
		{"tei wrong key", "POST", "/embed", map[string]any{"inputs": secretText}, []string{"Authorization", "Bearer nope"}, want{401, "Unauthorized", "", "", "Incorrect API key"}},
		{"tei info without key", "GET", "/info", nil, nil, want{401, "Unauthorized", "", "", "API key"}},
		{"unknown route", "GET", "/v2/whatever", nil, auth, want{404, "NotFound", "", "", "no route GET /v2/whatever"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var status int
			var h http.Header
			var body []byte
			if tc.method == "GET" {
				status, h, body = get(t, srv.URL+tc.path, tc.header...)
			} else {
				status, h, body = post(t, srv.URL+tc.path, tc.body, tc.header...)
			}
			if status != tc.want.status {
				t.Errorf("status %d, want %d: %s", status, tc.want.status, body)
			}
			if ct := h.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			var msg string
			if strings.HasPrefix(tc.path, "/v1/") {
				var e struct {
					Error *struct {
						Message     string
						Type        string
						Param, Code *string
					}
				}
				if err := json.Unmarshal(body, &e); err != nil || e.Error == nil {
					t.Fatalf("not an OpenAI error body: %s", body)
				}
				msg = e.Error.Message
				if e.Error.Type != tc.want.typ || deref(e.Error.Param) != tc.want.param || deref(e.Error.Code) != tc.want.code {
					t.Errorf("type %q param %q code %q, want %q %q %q", e.Error.Type, deref(e.Error.Param), deref(e.Error.Code),
						tc.want.typ, tc.want.param, tc.want.code)
				}
				if (tc.want.param == "") != (e.Error.Param == nil) || (tc.want.code == "") != (e.Error.Code == nil) {
					t.Errorf("param/code must be null when empty: %s", body)
				}
			} else {
				var e struct {
					Error     string `json:"error"`
					ErrorType string `json:"error_type"`
				}
				if err := json.Unmarshal(body, &e); err != nil || e.Error == "" {
					t.Fatalf("not a TEI error body: %s", body)
				}
				msg = e.Error
				if e.ErrorType != tc.want.typ {
					t.Errorf("error_type %q, want %q", e.ErrorType, tc.want.typ)
				}
			}
			if !strings.Contains(msg, tc.want.msg) {
				t.Errorf("message %q does not contain %q", msg, tc.want.msg)
			}
			if tc.want.status == 401 && h.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}

	// Still serving: embeddings with the key, health and metrics without it.
	if status, _, body := post(t, srv.URL+"/v1/embeddings", map[string]any{"input": []string{secretText, long}}, auth...); status != 200 {
		t.Fatalf("after bad requests: %d %s", status, body)
	}
	if status, _, _ := get(t, srv.URL+"/health"); status != 200 {
		t.Errorf("/health without key: %d", status)
	}
	status, _, body := get(t, srv.URL+"/metrics")
	if status != 200 || !strings.Contains(string(body), `embedtune_requests_total{route="/v1/embeddings",model="mean",code="413"} 2`) {
		t.Errorf("/metrics: %d\n%s", status, body)
	}
	log := logs.String()
	for _, secret := range []string{key, secretText, "zebra"} {
		if strings.Contains(log, secret) {
			t.Errorf("the log contains %q", secret)
		}
	}
	if !strings.Contains(log, `"status":413`) || !strings.Contains(log, `"tokens":`) {
		t.Errorf("the log misses request lines:\n%.2000s", log)
	}
}
