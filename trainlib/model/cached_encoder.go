package model

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"sync"

	"github.com/embedtune/embedtune/trainlib/cache"
)

// embeddingsKind is the cache kind of stored embeddings.
const embeddingsKind = "embeddings"

// CachedEncoder encodes like its model, through an on-disk cache of embeddings (package cache):
// each Encode, EncodeQuery or EncodeDocument call is stored under a key that hashes the model's
// Fingerprint (weights, tokenizer, max_seq_length, pooling, prompts, …), the call (encode, query or
// document), its Prompt, PromptName, Normalize and TruncateDim, and the texts, so the same call — in
// this process or a later one — returns the stored embeddings without running the model. Anything
// that changes the result changes the key; BatchSize, Progress and Context do not.
//
// It implements the interfaces evaluators use (evaluation.Encoder, QueryEncoder, DocumentEncoder,
// SimilarityNamer), so evaluators, CompareRetrieval and hard-negative mining take it in place of the
// model. The fingerprint is taken when the encoder is made: make a new one after the weights change
// (training). NewLazyCachedEncoder makes one whose model is loaded only when an embedding is missing
// from the cache.
type CachedEncoder struct {
	store       *cache.Store
	fingerprint string
	similarity  string
	load        func() (*SentenceTransformer, error)

	mu sync.Mutex
	m  *SentenceTransformer
}

// NewCachedEncoder fingerprints m (reading every weight) and returns its cached encoder.
func NewCachedEncoder(m *SentenceTransformer, store *cache.Store) (*CachedEncoder, error) {
	if m == nil || store == nil {
		return nil, fmt.Errorf("NewCachedEncoder: the model and the store are required")
	}
	fp, err := m.Fingerprint()
	if err != nil {
		return nil, err
	}
	return &CachedEncoder{m: m, store: store, fingerprint: fp, similarity: m.SimilarityFn}, nil
}

// NewLazyCachedEncoder returns a cached encoder for the model with the given Fingerprint and
// similarity_fn_name, which load returns when an embedding is not in the cache (once; its error is
// returned by the encode call). The caller vouches that load gives a model of that fingerprint.
func NewLazyCachedEncoder(fingerprint, similarityFn string, load func() (*SentenceTransformer, error), store *cache.Store) *CachedEncoder {
	return &CachedEncoder{store: store, fingerprint: fingerprint, similarity: similarityFn, load: load}
}

// Model returns the model, loading it if needed.
func (c *CachedEncoder) Model() (*SentenceTransformer, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		m, err := c.load()
		if err != nil {
			return nil, err
		}
		c.m = m
	}
	return c.m, nil
}

// Fingerprint returns the model fingerprint the cache keys use.
func (c *CachedEncoder) Fingerprint() string { return c.fingerprint }

// SimilarityFnName returns the model's similarity_fn_name.
func (c *CachedEncoder) SimilarityFnName() string { return c.similarity }

// Encode is the model's Encode, cached.
func (c *CachedEncoder) Encode(texts []string, opts *EncodeOptions) ([][]float32, error) {
	return c.cached("encode", texts, opts, (*SentenceTransformer).Encode)
}

// EncodeQuery is the model's EncodeQuery, cached.
func (c *CachedEncoder) EncodeQuery(texts []string, opts *EncodeOptions) ([][]float32, error) {
	return c.cached("query", texts, opts, (*SentenceTransformer).EncodeQuery)
}

// EncodeDocument is the model's EncodeDocument, cached.
func (c *CachedEncoder) EncodeDocument(texts []string, opts *EncodeOptions) ([][]float32, error) {
	return c.cached("document", texts, opts, (*SentenceTransformer).EncodeDocument)
}

func (c *CachedEncoder) cached(call string, texts []string, opts *EncodeOptions,
	encode func(*SentenceTransformer, []string, *EncodeOptions) ([][]float32, error)) ([][]float32, error) {
	var o EncodeOptions
	if opts != nil {
		o = *opts
	}
	settings, _ := json.Marshal(map[string]any{"call": call, "prompt": o.Prompt, "prompt_name": o.PromptName,
		"normalize": o.Normalize, "truncate_dim": o.TruncateDim})
	textsJSON, _ := json.Marshal(texts)
	key := cache.NewKey(embeddingsKind, []byte(c.fingerprint), settings, textsJSON)
	if data, ok, err := c.store.Get(key); err != nil {
		return nil, err
	} else if ok {
		if emb, ok := decodeEmbeddings(data, len(texts)); ok {
			return emb, nil
		}
	}
	m, err := c.Model()
	if err != nil {
		return nil, err
	}
	emb, err := encode(m, texts, &o)
	if err != nil {
		return nil, err
	}
	if err := c.store.Put(key, encodeEmbeddings(emb)); err != nil {
		return nil, err
	}
	return emb, nil
}

// encodeEmbeddings lays out n vectors of dimension d as: n, d (uint32 little-endian), then the
// float32 values row by row.
func encodeEmbeddings(emb [][]float32) []byte {
	d := 0
	if len(emb) > 0 {
		d = len(emb[0])
	}
	out := make([]byte, 8, 8+4*len(emb)*d)
	binary.LittleEndian.PutUint32(out, uint32(len(emb)))
	binary.LittleEndian.PutUint32(out[4:], uint32(d))
	for _, row := range emb {
		for _, x := range row {
			out = binary.LittleEndian.AppendUint32(out, math.Float32bits(x))
		}
	}
	return out
}

func decodeEmbeddings(data []byte, n int) ([][]float32, bool) {
	if len(data) < 8 || int(binary.LittleEndian.Uint32(data)) != n {
		return nil, false
	}
	d := int(binary.LittleEndian.Uint32(data[4:]))
	if len(data) != 8+4*n*d {
		return nil, false
	}
	flat := make([]float32, n*d)
	for i := range flat {
		flat[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[8+4*i:]))
	}
	out := make([][]float32, n)
	for i := range out {
		out[i] = flat[i*d : (i+1)*d : (i+1)*d]
	}
	return out, true
}
