// Package embcache keeps embeddings on disk, keyed by their content, so that encoding the same texts
// with the same model and options again (the next mining run, the next CLI call) reads them back
// instead of running the model. Hard-negative mining (datasets.MineHardNegatives) encodes its corpus
// through it, chunk by chunk.
//
// The key of one Encode call is the SHA-256 of (each part prefixed with its length)
//
//	version ‖ model fingerprint ‖ side (plain, query, document) ‖ prompt ‖ prompt name ‖ normalize ‖
//	truncate_dim ‖ text₁ ‖ … ‖ textₙ
//
// where the model fingerprint (Fingerprint) hashes everything an embedding depends on: the BERT
// configuration, every weight (the LoRA adapter's too), the tokenizer's vocabulary and settings,
// max_seq_length, pooling, Dense layers, Normalize and the prompts. The value is written as a NumPy
// .npy file (float32, shape [n, dim]: numpy.load reads it) at {dir}/{key[:2]}/{key}.npy, atomically;
// a file that does not parse or has the wrong shape is a miss and is rewritten. There is no size cap:
// delete the folder to reclaim the space.
//
// Related: the notebook memo cache (issue 14) stores values the same way; the two are meant to share
// one store.
package embcache

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/embedtune/embedtune/internal/atomicio"
	"github.com/embedtune/embedtune/trainlib/model"
)

// version changes whenever the meaning of a cached embedding changes for the same key parts.
const version = "embedtune-embcache-1"

// DefaultDir is <user cache dir>/embedtune/embeddings (~/.cache/embedtune/embeddings on Linux).
func DefaultDir() (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("embedding cache: no user cache folder (%v); give a cache folder explicitly", err)
	}
	return filepath.Join(base, "embedtune", "embeddings"), nil
}

// Fingerprint returns a hex SHA-256 of everything m's embeddings depend on (see the package
// documentation). It reads every weight: tens of milliseconds for MiniLM, about a second for a
// bge-base-sized model.
func Fingerprint(m *model.SentenceTransformer) (string, error) {
	h := sha256.New()
	part := func(b []byte) {
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	settings := map[string]any{"config": m.Config, "max_seq_length": m.MaxSeqLength, "do_lower_case": m.DoLowerCase,
		"pooling": m.Pooling, "normalize": m.Normalize, "prompts": m.Prompts, "default_prompt_name": m.DefaultPromptName}
	var dense []map[string]any
	for _, d := range m.Dense {
		dense = append(dense, map[string]any{"path": d.Path, "in": d.InFeatures, "out": d.OutFeatures, "bias": d.Bias, "act": d.Activation})
	}
	settings["dense"] = dense
	weights := []*model.Weights{m.Weights}
	if a := m.Adapter; a != nil {
		settings["adapter"] = a.Config
		weights = append(weights, a.Weights)
	}
	if tok := m.Tokenizer; tok != nil {
		info := tok.Info()
		info.Source = "" // where it was read from does not change the ids
		settings["tokenizer"] = map[string]any{"info": info, "special": tok.Special(), "vocab_size": tok.VocabSize()}
	}
	b, err := json.Marshal(settings)
	if err != nil {
		return "", fmt.Errorf("model fingerprint: %w", err)
	}
	part([]byte(version))
	part(b)
	if tok := m.Tokenizer; tok != nil {
		for id := range tok.VocabSize() {
			s, _ := tok.Token(id)
			part([]byte(s))
		}
	}
	for _, w := range weights {
		for i, name := range w.Names {
			part([]byte(name))
			shape, _ := json.Marshal(w.Shapes[i])
			part(shape)
			if err := w.Values[i].ConstBytes(func(data []byte) { part(data) }); err != nil {
				return "", fmt.Errorf("model fingerprint: reading %s: %w", name, err)
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Encoder encodes through the cache: each Encode, EncodeQuery and EncodeDocument call is looked up
// by its key and computed with the model only when missing. It implements evaluation.Encoder,
// QueryEncoder, DocumentEncoder and SimilarityNamer. The fingerprint is taken once, by New: make a
// new Encoder after the weights change.
type Encoder struct {
	m           *model.SentenceTransformer
	dir         string
	fingerprint string
	hits, miss  atomic.Int64
}

// New fingerprints m and returns its cached encoder writing under dir ("" = DefaultDir).
func New(m *model.SentenceTransformer, dir string) (*Encoder, error) {
	if m == nil {
		return nil, errors.New("embedding cache: no model")
	}
	if dir == "" {
		d, err := DefaultDir()
		if err != nil {
			return nil, err
		}
		dir = d
	}
	fp, err := Fingerprint(m)
	if err != nil {
		return nil, err
	}
	return &Encoder{m: m, dir: dir, fingerprint: fp}, nil
}

// Dir returns the cache folder.
func (e *Encoder) Dir() string { return e.dir }

// Stats returns how many calls were read from the cache and how many were computed.
func (e *Encoder) Stats() (hits, misses int) { return int(e.hits.Load()), int(e.miss.Load()) }

// SimilarityFnName is the model's similarity_fn_name.
func (e *Encoder) SimilarityFnName() string { return e.m.SimilarityFn }

// Encode is the model's Encode, cached.
func (e *Encoder) Encode(texts []string, opts *model.EncodeOptions) ([][]float32, error) {
	return e.cached("plain", e.m.Encode, texts, opts)
}

// EncodeQuery is the model's EncodeQuery, cached.
func (e *Encoder) EncodeQuery(texts []string, opts *model.EncodeOptions) ([][]float32, error) {
	return e.cached("query", e.m.EncodeQuery, texts, opts)
}

// EncodeDocument is the model's EncodeDocument, cached.
func (e *Encoder) EncodeDocument(texts []string, opts *model.EncodeOptions) ([][]float32, error) {
	return e.cached("document", e.m.EncodeDocument, texts, opts)
}

func (e *Encoder) cached(side string, enc func([]string, *model.EncodeOptions) ([][]float32, error),
	texts []string, opts *model.EncodeOptions) ([][]float32, error) {
	var o model.EncodeOptions
	if opts != nil {
		o = *opts
	}
	if len(texts) == 0 {
		return enc(texts, &o)
	}
	path := e.path(e.key(side, o, texts))
	if emb, ok := readNPY(path, len(texts)); ok {
		e.hits.Add(1)
		return emb, nil
	}
	emb, err := enc(texts, &o)
	if err != nil {
		return nil, err
	}
	e.miss.Add(1)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("embedding cache: %w", err)
	}
	if err := atomicio.WriteStream(path, 0o644, func(w io.Writer) error { return writeNPY(w, emb) }); err != nil {
		return nil, fmt.Errorf("embedding cache: %w", err)
	}
	return emb, nil
}

func (e *Encoder) key(side string, o model.EncodeOptions, texts []string) string {
	h := sha256.New()
	part := func(s string) {
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	part(version)
	part(e.fingerprint)
	part(side)
	part(o.Prompt)
	part(o.PromptName)
	part(strconv.FormatBool(o.Normalize))
	part(strconv.Itoa(o.TruncateDim))
	for _, t := range texts {
		part(t)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (e *Encoder) path(key string) string { return filepath.Join(e.dir, key[:2], key+".npy") }

// writeNPY writes emb as a NumPy version 1.0 .npy file of float32 ('<f4'), shape [n, dim].
func writeNPY(w io.Writer, emb [][]float32) error {
	dim := len(emb[0])
	header := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }", len(emb), dim)
	// Magic (6) + version (2) + header length (2) + header, padded with spaces to a multiple of 64 and
	// ended by a newline.
	total := 10 + len(header) + 1
	header += strings.Repeat(" ", (64-total%64)%64) + "\n"
	var b bytes.Buffer
	b.WriteString("\x93NUMPY\x01\x00")
	binary.Write(&b, binary.LittleEndian, uint16(len(header)))
	b.WriteString(header)
	if _, err := w.Write(b.Bytes()); err != nil {
		return err
	}
	row := make([]byte, 4*dim)
	for i, v := range emb {
		if len(v) != dim {
			return fmt.Errorf("embedding %d has dimension %d, the first %d", i, len(v), dim)
		}
		for j, x := range v {
			binary.LittleEndian.PutUint32(row[4*j:], math.Float32bits(x))
		}
		if _, err := w.Write(row); err != nil {
			return err
		}
	}
	return nil
}

// readNPY reads a file written by writeNPY holding n rows; ok is false when it is missing or does not
// parse as such.
func readNPY(path string, n int) ([][]float32, bool) {
	data, err := os.ReadFile(path)
	if err != nil || len(data) < 10 || string(data[:8]) != "\x93NUMPY\x01\x00" {
		return nil, false
	}
	hl := int(binary.LittleEndian.Uint16(data[8:10]))
	if len(data) < 10+hl {
		return nil, false
	}
	header := string(data[10 : 10+hl])
	var rows, dim int
	i := strings.Index(header, "'shape': (")
	if !strings.Contains(header, "'descr': '<f4'") || i < 0 {
		return nil, false
	}
	if _, err := fmt.Sscanf(header[i+len("'shape': ("):], "%d, %d)", &rows, &dim); err != nil || rows != n || dim <= 0 {
		return nil, false
	}
	body := data[10+hl:]
	if len(body) != 4*rows*dim {
		return nil, false
	}
	flat := make([]float32, rows*dim)
	for j := range flat {
		flat[j] = math.Float32frombits(binary.LittleEndian.Uint32(body[4*j:]))
	}
	out := make([][]float32, rows)
	for r := range out {
		out[r] = flat[r*dim : (r+1)*dim : (r+1)*dim]
	}
	return out, true
}
