package serve

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Client calls an OpenAI-compatible embeddings API — `embedtune serve`, OpenAI, TEI's /v1 route,
// vLLM — from Go. It asks for base64 (compact, exact float32) and decodes it.
type Client struct {
	// BaseURL is the server's URL, with or without the "/v1" suffix.
	BaseURL string
	// APIKey, when set, is sent as "Authorization: Bearer APIKey".
	APIKey string
	// HTTP is the client used; nil means http.DefaultClient.
	HTTP *http.Client
}

// NewClient returns a Client for baseURL.
func NewClient(baseURL, apiKey string) *Client { return &Client{BaseURL: baseURL, APIKey: apiKey} }

// EmbeddingRequest is the body of POST /v1/embeddings.
type EmbeddingRequest struct {
	Input          []string `json:"input"`
	Model          string   `json:"model,omitempty"`
	Dimensions     int      `json:"dimensions,omitempty"`
	EncodingFormat string   `json:"encoding_format,omitempty"` // "base64" (default here) or "float"
}

// EmbeddingResponse is OpenAI's embeddings response, with base64 embeddings decoded.
type EmbeddingResponse struct {
	Object string `json:"object"`
	Data   []struct {
		Object    string    `json:"object"`
		Index     int       `json:"index"`
		Embedding Embedding `json:"embedding"`
	} `json:"data"`
	Model string `json:"model"`
	Usage struct {
		PromptTokens int `json:"prompt_tokens"`
		TotalTokens  int `json:"total_tokens"`
	} `json:"usage"`
}

// Embedding decodes either form of an OpenAI embedding: a JSON array of numbers or a base64 string
// of little-endian float32s.
type Embedding []float32

// UnmarshalJSON implements json.Unmarshaler.
func (e *Embedding) UnmarshalJSON(data []byte) error {
	if len(data) > 0 && data[0] == '"' {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		raw, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(raw)%4 != 0 {
			return fmt.Errorf("embedding: invalid base64 float32 data (%d bytes)", len(raw))
		}
		out := make([]float32, len(raw)/4)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
		*e = out
		return nil
	}
	var f []float32
	if err := json.Unmarshal(data, &f); err != nil {
		return err
	}
	*e = f
	return nil
}

// APIError is an error answer of the server.
type APIError struct {
	StatusCode int
	// Message, Type, Param and Code are OpenAI's error fields (TEI's error and error_type land in
	// Message and Type).
	Message, Type, Param, Code string
	// RetryAfter is the Retry-After header (429, 503), 0 when absent.
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	return fmt.Sprintf("embeddings API: %d %s: %s", e.StatusCode, http.StatusText(e.StatusCode), e.Message)
}

// Embeddings sends one request and returns the response; data[i] belongs to req.Input[i].
func (c *Client) Embeddings(ctx context.Context, req EmbeddingRequest) (*EmbeddingResponse, error) {
	if req.EncodingFormat == "" {
		req.EncodingFormat = "base64"
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	url := strings.TrimSuffix(strings.TrimSuffix(c.BaseURL, "/"), "/v1") + "/v1/embeddings"
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	hr.Header.Set("Content-Type", "application/json")
	if c.APIKey != "" {
		hr.Header.Set("Authorization", "Bearer "+c.APIKey)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(hr)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("embeddings API: reading the response: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, parseAPIError(resp, data)
	}
	var out EmbeddingResponse
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("embeddings API: decoding the response: %w", err)
	}
	if len(out.Data) != len(req.Input) {
		return nil, fmt.Errorf("embeddings API: %d embeddings for %d inputs", len(out.Data), len(req.Input))
	}
	return &out, nil
}

// Embed returns the embeddings of texts from the named model, in input order.
func (c *Client) Embed(ctx context.Context, model string, texts ...string) ([][]float32, error) {
	resp, err := c.Embeddings(ctx, EmbeddingRequest{Input: texts, Model: model})
	if err != nil {
		return nil, err
	}
	out := make([][]float32, len(texts))
	for _, d := range resp.Data {
		if d.Index < 0 || d.Index >= len(out) {
			return nil, fmt.Errorf("embeddings API: index %d out of range", d.Index)
		}
		out[d.Index] = d.Embedding
	}
	return out, nil
}

func parseAPIError(resp *http.Response, data []byte) *APIError {
	e := &APIError{StatusCode: resp.StatusCode}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil {
		e.RetryAfter = time.Duration(s) * time.Second
	}
	var oa struct {
		Error json.RawMessage `json:"error"`
		Type  string          `json:"error_type"`
	}
	if json.Unmarshal(data, &oa) == nil && len(oa.Error) > 0 {
		var inner struct{ Message, Type, Param, Code *string }
		var msg string
		if json.Unmarshal(oa.Error, &inner) == nil && inner.Message != nil {
			e.Message, e.Type = *inner.Message, deref(inner.Type)
			e.Param, e.Code = deref(inner.Param), deref(inner.Code)
			return e
		} else if json.Unmarshal(oa.Error, &msg) == nil {
			e.Message, e.Type = msg, oa.Type
			return e
		}
	}
	e.Message = strings.TrimSpace(string(data))
	if len(e.Message) > 300 {
		e.Message = e.Message[:300] + "…"
	}
	return e
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
