package serve

import (
	"bytes"
	"net/http"
	"runtime"
	"runtime/debug"
	"strconv"
	"unicode/utf8"

	"github.com/embedtune/embedtune/trainlib/model"
)

// teiEmbed answers POST /embed (and POST /) like Hugging Face text-embeddings-inference:
//
//	request:  {"inputs": "text" | ["text", ...], "normalize": true, "truncate": true,
//	           "truncation_direction": "right" | "left", "prompt_name": "query", "dimensions": N,
//	           "model": "name"}
//	response: [[...], ...]   (one embedding per input, also for a single string)
//
// normalize (default true) L2-normalizes after the optional Matryoshka truncation to dimensions; a
// model with a Normalize module is normalized regardless, as in sentence-transformers. truncate
// defaults to the server's setting (WithAutoTruncate, default true); without it a text over
// max_seq_length is answered 413. prompt_name selects a prompt of the model's
// config_sentence_transformers.json (its default_prompt_name applies when absent, as in
// sentence-transformers). "model" (an embedtune extension) selects a served model; default the first.
// Token-id inputs are refused (422).
func (s *Server) teiEmbed(w http.ResponseWriter, r *http.Request) (string, *apiError) {
	f, aerr := decodeBody(w, r, s.cfg.maxRequestBytes)
	if aerr != nil {
		return "", aerr
	}
	name, aerr := f.str("model")
	if aerr != nil {
		return "", aerr
	}
	sv, aerr := s.models.lookup(name)
	if aerr != nil {
		return "", aerr
	}
	texts, aerr := f.texts("inputs")
	if aerr != nil {
		return sv.name, aerr
	}
	normalize, aerr := f.boolean("normalize", true)
	if aerr != nil {
		return sv.name, aerr
	}
	dims, aerr := sv.dimensions(f)
	if aerr != nil {
		return sv.name, aerr
	}
	o := textOptions{param: "inputs"}
	if o.truncate, aerr = f.boolean("truncate", s.cfg.autoTruncate); aerr != nil {
		return sv.name, aerr
	}
	if o.side, aerr = truncationSide(f); aerr != nil {
		return sv.name, aerr
	}
	if o.promptName, aerr = f.str("prompt_name"); aerr != nil {
		return sv.name, aerr
	}
	emb, tokens, aerr := s.embed(w, r, sv, texts, o)
	if aerr != nil {
		return sv.name, aerr
	}
	var b bytes.Buffer
	b.Grow(len(emb) * (len(emb[0])*12 + 4))
	b.WriteByte('[')
	for i, e := range emb {
		if i > 0 {
			b.WriteByte(',')
		}
		if err := appendFloats(&b, model.Postprocess(e, dims, normalize)); err != nil {
			return sv.name, err
		}
	}
	b.WriteString("]\n")
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("x-compute-tokens", strconv.Itoa(tokens))
	h.Set("x-compute-characters", strconv.Itoa(chars(texts)))
	w.Write(b.Bytes())
	return sv.name, nil
}

// teiInfo answers GET /info with TEI's fields (about the default model) and, under "models", every
// served model.
func (s *Server) teiInfo(w http.ResponseWriter, r *http.Request) (string, *apiError) {
	def := s.models.order[0]
	models := make([]any, 0, len(s.models.order))
	for _, sv := range s.models.order {
		models = append(models, modelInfo(sv))
	}
	version := "devel"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		version = bi.Main.Version
	}
	writeJSON(w, map[string]any{
		"model_id":                def.m.Source,
		"model_sha":               nil,
		"model_dtype":             "float32",
		"served_model_name":       def.name,
		"model_type":              map[string]any{"embedding": map[string]any{"pooling": def.m.Pooling.Modes[0]}},
		"max_concurrent_requests": s.cfg.maxQueue,
		"max_input_length":        def.m.MaxSeqLength,
		"max_batch_tokens":        s.cfg.maxBatch * def.m.MaxSeqLength,
		"max_batch_requests":      s.cfg.maxBatch,
		"max_client_batch_size":   s.cfg.maxInputs,
		"auto_truncate":           s.cfg.autoTruncate,
		"tokenization_workers":    runtime.GOMAXPROCS(0),
		"version":                 version,
		"sha":                     nil,
		"docker_label":            nil,
		"router":                  "embedtune",
		"models":                  models,
	})
	return def.name, nil
}

func chars(texts []string) int {
	n := 0
	for _, t := range texts {
		n += utf8.RuneCountInString(t)
	}
	return n
}
