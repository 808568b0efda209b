package serve

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// errorKind classifies a failed request; each API renders a kind with its own status code and body
// (see [apiError.write]).
type errorKind int

const (
	// kindInvalid: a field has the wrong type or value. OpenAI 400 invalid_request_error; TEI 422 Validation.
	kindInvalid errorKind = iota
	// kindEmpty: no input, or an empty string. 400 for both (TEI's error_type Empty).
	kindEmpty
	// kindBadJSON: the body is not a JSON object. 400 for both.
	kindBadJSON
	// kindTooLarge: a text over max_seq_length without truncation, too many inputs, or a body over the
	// byte limit. 413 for both.
	kindTooLarge
	// kindUnauthorized: missing or wrong API key. 401.
	kindUnauthorized
	// kindNotFound: unknown model or route. 404.
	kindNotFound
	// kindMethod: the route exists with another method. 405.
	kindMethod
	// kindOverloaded: the model's queue is full. 429 with Retry-After.
	kindOverloaded
	// kindTimeout: the request did not finish within the per-request timeout. 503 with Retry-After.
	kindTimeout
	// kindUnavailable: the server is shutting down or unhealthy. 503.
	kindUnavailable
	// kindBackend: the forward pass failed. OpenAI 500 server_error; TEI 424 Backend.
	kindBackend
)

// apiFlavor selects the error body format: OpenAI's or TEI's.
type apiFlavor int

const (
	flavorTEI apiFlavor = iota
	flavorOpenAI
)

// apiError is a request failure, rendered as the calling API's clients expect:
//
//	OpenAI: {"error": {"message": ..., "type": ..., "param": ..., "code": ...}}
//	TEI:    {"error": ..., "error_type": ...}
//
// Messages never quote the request's texts or the API key.
type apiError struct {
	kind    errorKind
	message string
	// param names the offending request field (OpenAI's "param"), e.g. "input" or "dimensions".
	param string
	// code is OpenAI's machine-readable code ("invalid_api_key", "model_not_found", ...).
	code string
	// retryAfter, in whole seconds, is sent as Retry-After with 429 and 503.
	retryAfter int
}

func (e *apiError) Error() string { return e.message }

func errorf(kind errorKind, param, format string, args ...any) *apiError {
	return &apiError{kind: kind, param: param, message: fmt.Sprintf(format, args...)}
}

// status returns the HTTP status of the error for the given API.
func (e *apiError) status(f apiFlavor) int {
	switch e.kind {
	case kindInvalid:
		if f == flavorTEI {
			return http.StatusUnprocessableEntity
		}
		return http.StatusBadRequest
	case kindEmpty, kindBadJSON:
		return http.StatusBadRequest
	case kindTooLarge:
		return http.StatusRequestEntityTooLarge
	case kindUnauthorized:
		return http.StatusUnauthorized
	case kindNotFound:
		return http.StatusNotFound
	case kindMethod:
		return http.StatusMethodNotAllowed
	case kindOverloaded:
		return http.StatusTooManyRequests
	case kindTimeout, kindUnavailable:
		return http.StatusServiceUnavailable
	default: // kindBackend
		if f == flavorTEI {
			return http.StatusFailedDependency
		}
		return http.StatusInternalServerError
	}
}

// teiType returns TEI's error_type for the error (TEI's ErrorType names, plus Unauthorized and
// NotFound, which TEI answers without a body).
func (e *apiError) teiType() string {
	switch e.kind {
	case kindEmpty:
		return "Empty"
	case kindOverloaded, kindTimeout:
		return "Overloaded"
	case kindUnavailable:
		return "Unhealthy"
	case kindBackend:
		return "Backend"
	case kindUnauthorized:
		return "Unauthorized"
	case kindNotFound:
		return "NotFound"
	default:
		return "Validation"
	}
}

// openAIType returns OpenAI's error type for the error.
func (e *apiError) openAIType() string {
	switch e.kind {
	case kindOverloaded:
		return "requests"
	case kindTimeout, kindUnavailable, kindBackend:
		return "server_error"
	default:
		return "invalid_request_error"
	}
}

// write sends the error in the format of f.
func (e *apiError) write(w http.ResponseWriter, f apiFlavor) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if e.retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(e.retryAfter))
	}
	if e.kind == kindUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="embedtune"`)
	}
	var body any
	if f == flavorOpenAI {
		code := e.code
		if code == "" && e.kind == kindOverloaded {
			code = "rate_limit_exceeded"
		}
		body = map[string]any{"error": map[string]any{
			"message": e.message, "type": e.openAIType(), "param": nullable(e.param), "code": nullable(code)}}
	} else {
		body = map[string]any{"error": e.message, "error_type": e.teiType()}
	}
	data, _ := json.Marshal(body)
	w.WriteHeader(e.status(f))
	w.Write(append(data, '\n'))
}

// nullable maps "" to JSON null.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
