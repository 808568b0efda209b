// Package serve is an embedding service for sentence-transformers models — the fine-tuned model of
// a RAG tutorial, served to a vector database's ingestion, LangChain, LlamaIndex or Haystack through
// the two APIs they speak: OpenAI's embeddings API and Hugging Face text-embeddings-inference's
// (TEI). It is an http.Handler that Go programs mount, and `embedtune serve` on the command line.
//
// Routes:
//
//	POST /v1/embeddings   OpenAI: {"input", "model", "encoding_format": float|base64, "dimensions"}
//	GET  /v1/models       OpenAI: the served models (and GET /v1/models/{model})
//	POST /embed           TEI: {"inputs", "normalize", "truncate", "truncation_direction", "prompt_name", "dimensions"}
//	GET  /info            TEI: model and limits
//	GET  /health          200, or 503 after a failed forward pass
//	GET  /metrics         Prometheus text format: requests, latency, batch sizes, queue depth, memory
//
// The numbers are those of [model.SentenceTransformer.Encode] — and so of Python's
// SentenceTransformer.encode on the same folder: texts are tokenized the same way (the model's
// prompt, [CLS] … [SEP], truncation to max_seq_length) and run through the same graph. OpenAI's route
// returns unit vectors, e = normalize(truncate(f(t), dimensions)); TEI's /embed normalizes when
// "normalize" is true (its default).
//
// Dynamic batching: texts of concurrent requests are queued per model, and one worker runs them in
// forward passes of up to [WithMaxBatch] texts, waiting at most [WithMaxWait] after the oldest text
// for a batch to fill. A pass takes the oldest text's length bucket (16, 32, 64, 128, … tokens, see
// [model.SeqBucket]) so that texts padded together have similar lengths, and fills rows that padding
// to a power of two would waste with shorter texts. The queue is bounded ([WithMaxQueue]): a request
// that does not fit is answered 429 with Retry-After (OpenAI's SDK retries it). Requests are bounded
// in texts ([WithMaxInputs]), bytes ([WithMaxRequestBytes]) and time ([WithRequestTimeout]); texts of
// a request whose client went away are dropped before they run.
//
// Errors use the body each API's clients parse — OpenAI {"error": {"message", "type", "param",
// "code"}}, TEI {"error", "error_type"} — with these statuses:
//
//	400  invalid JSON; no input or an empty string; OpenAI: wrong field type or value, token-id input
//	401  missing or wrong API key ([WithAPIKey]; /health and /metrics are open)
//	404  unknown model or route
//	413  a text over max_seq_length with truncation off, too many inputs, body too large
//	422  TEI: wrong field type or value, token-id input, unknown prompt_name
//	429  queue full, with Retry-After
//	503  request timeout (with Retry-After), shutting down, unhealthy
//	500  OpenAI: the forward pass failed (TEI: 424)
//
// Several models can be served at once; a request's "model" picks one (the first when absent). A
// LoRA adapter folder is served as saved: base model plus adapter. Logs (log/slog, [WithLogger]) have
// one line per request — route, status, duration, model, inputs, tokens — and never the texts or the
// API key.
//
// Related: [Start] runs a Server on a port in the background (notebooks, tests); [Client] is a Go
// client of the OpenAI route; package serve/loadtest measures a running server.
package serve
