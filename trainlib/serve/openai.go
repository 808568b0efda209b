package serve

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"net/http"
	"strconv"

	"github.com/embedtune/embedtune/trainlib/model"
)

// openAIEmbeddings answers POST /v1/embeddings like OpenAI's embeddings API:
//
//	request:  {"input": "text" | ["text", ...], "model": "name", "encoding_format": "float" | "base64",
//	           "dimensions": N, "user": ...}
//	response: {"object": "list", "data": [{"object": "embedding", "index": i, "embedding": [...] | "base64"}],
//	           "model": "name", "usage": {"prompt_tokens": n, "total_tokens": n}}
//
// Embeddings are unit vectors (as OpenAI's and TEI's OpenAI route): the model's output, truncated to
// `dimensions` when given (Matryoshka), then L2-normalized — sentence-transformers'
// encode(texts, truncate_dim=dimensions, normalize_embeddings=True). base64 is the little-endian
// float32 bytes, as OpenAI sends them. Extensions: "prompt_name" (a prompt of the model) and
// "truncate" (false: 413 for texts over max_seq_length instead of cutting them). Token-id inputs are
// refused (400): they are tiktoken ids in OpenAI's API.
func (s *Server) openAIEmbeddings(w http.ResponseWriter, r *http.Request) (string, *apiError) {
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
	texts, aerr := f.texts("input")
	if aerr != nil {
		return sv.name, aerr
	}
	format, aerr := f.str("encoding_format")
	if aerr != nil {
		return sv.name, aerr
	}
	if format != "" && format != "float" && format != "base64" {
		return sv.name, errorf(kindInvalid, "encoding_format", "`encoding_format` must be \"float\" or \"base64\", got %q", format)
	}
	dims, aerr := sv.dimensions(f)
	if aerr != nil {
		return sv.name, aerr
	}
	o := textOptions{param: "input"}
	if o.promptName, aerr = f.str("prompt_name"); aerr != nil {
		return sv.name, aerr
	}
	if o.truncate, aerr = f.boolean("truncate", s.cfg.autoTruncate); aerr != nil {
		return sv.name, aerr
	}
	emb, tokens, aerr := s.embed(w, r, sv, texts, o)
	if aerr != nil {
		return sv.name, aerr
	}
	var b bytes.Buffer
	b.Grow(len(emb) * (len(emb[0])*12 + 64))
	b.WriteString(`{"object":"list","data":[`)
	for i, e := range emb {
		e = model.Postprocess(e, dims, true)
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"object":"embedding","index":`)
		b.WriteString(strconv.Itoa(i))
		b.WriteString(`,"embedding":`)
		if format == "base64" {
			b.WriteByte('"')
			b.WriteString(base64.StdEncoding.EncodeToString(float32LE(e)))
			b.WriteByte('"')
		} else if err := appendFloats(&b, e); err != nil {
			return sv.name, err
		}
		b.WriteByte('}')
	}
	b.WriteString(`],"model":`)
	nameJSON, _ := json.Marshal(sv.name)
	b.Write(nameJSON)
	b.WriteString(`,"usage":{"prompt_tokens":`)
	b.WriteString(strconv.Itoa(tokens))
	b.WriteString(`,"total_tokens":`)
	b.WriteString(strconv.Itoa(tokens))
	b.WriteString("}}\n")
	w.Header().Set("Content-Type", "application/json")
	w.Write(b.Bytes())
	return sv.name, nil
}

// float32LE returns the little-endian bytes of e.
func float32LE(e []float32) []byte {
	out := make([]byte, 4*len(e))
	for i, v := range e {
		binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(v))
	}
	return out
}

// appendFloats writes e as a JSON array of the shortest decimals that round-trip to the same
// float32 values; a NaN or infinity (which JSON cannot carry) is an error.
func appendFloats(b *bytes.Buffer, e []float32) *apiError {
	buf := make([]byte, 0, 16)
	b.WriteByte('[')
	for i, v := range e {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return errorf(kindBackend, "", "the model produced a non-finite value (%v) at dimension %d", v, i)
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(strconv.AppendFloat(buf[:0], float64(v), 'g', -1, 32))
	}
	b.WriteByte(']')
	return nil
}

// openAIModels answers GET /v1/models like OpenAI's models list.
func (s *Server) openAIModels(w http.ResponseWriter, r *http.Request) (string, *apiError) {
	data := make([]any, 0, len(s.models.order))
	for _, sv := range s.models.order {
		data = append(data, openAIModelObject(sv))
	}
	writeJSON(w, map[string]any{"object": "list", "data": data})
	return "", nil
}

// openAIModel answers GET /v1/models/{model} (model names may contain "/", as Hub ids do).
func (s *Server) openAIModel(w http.ResponseWriter, r *http.Request) (string, *apiError) {
	sv, aerr := s.models.lookup(r.PathValue("model"))
	if aerr != nil || r.PathValue("model") == "" {
		if aerr == nil {
			aerr = errorf(kindNotFound, "model", "no model named in the path /v1/models/{model}")
		}
		return "", aerr
	}
	writeJSON(w, openAIModelObject(sv))
	return sv.name, nil
}

func openAIModelObject(sv *served) map[string]any {
	o := map[string]any{"id": sv.name, "object": "model", "created": sv.created.Unix(), "owned_by": "embedtune"}
	for k, v := range modelInfo(sv) {
		if k != "name" {
			o[k] = v
		}
	}
	return o
}

func writeJSON(w http.ResponseWriter, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		errorf(kindBackend, "", "encoding the response: %v", err).write(w, flavorTEI)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(append(data, '\n'))
}
