package model

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/embedtune/embedtune/trainlib/safetensors"
	"github.com/gomlx/gomlx/core/tensors"
)

// Weights holds a model's trainable tensors (float32) in a fixed order, plus the tensors of the
// checkpoint that are not used for embeddings (kept verbatim so a save writes them back).
//
// Names are Hugging Face tensor names; tensors of a module stored in a sub-folder (Dense) are
// prefixed with the folder, e.g. "2_Dense/linear.weight".
type Weights struct {
	Names  []string
	Shapes [][]int
	Values []*tensors.Tensor
	// NoDecay marks parameters exempt from weight decay (biases and LayerNorm weights).
	NoDecay []bool
	// StoredDType is the dtype each tensor had on disk; saving uses it (default F32).
	StoredDType map[string]safetensors.DType
	// Extra are checkpoint tensors the encoder does not use (e.g. embeddings.position_ids), by file
	// prefix ("" for the transformer's model.safetensors).
	Extra map[string][]safetensors.Tensor
	index map[string]int
}

// Index returns the position of a named tensor, or -1.
func (w *Weights) Index(name string) int {
	if i, ok := w.index[name]; ok {
		return i
	}
	return -1
}

func (w *Weights) add(name string, shape []int, noDecay bool, t *tensors.Tensor) {
	if w.index == nil {
		w.index = map[string]int{}
	}
	w.index[name] = len(w.Names)
	w.Names = append(w.Names, name)
	w.Shapes = append(w.Shapes, shape)
	w.NoDecay = append(w.NoDecay, noDecay)
	w.Values = append(w.Values, t)
}

// NumParams returns the total number of trainable scalars.
func (w *Weights) NumParams() int {
	n := 0
	for _, s := range w.Shapes {
		k := 1
		for _, d := range s {
			k *= d
		}
		n += k
	}
	return n
}

// tensorSource reads named tensors from one or several (sharded) safetensors files.
type tensorSource struct {
	files   []*safetensors.File
	byName  map[string]*safetensors.File
	describ string
}

func (ts *tensorSource) Close() {
	for _, f := range ts.files {
		f.Close()
	}
}

// openWeights opens the weights of the transformer in dir: model.safetensors, or the shards listed
// in model.safetensors.index.json. A folder with only pytorch_model.bin gets an explanation.
func openWeights(dir string) (*tensorSource, error) {
	single := filepath.Join(dir, "model.safetensors")
	index := filepath.Join(dir, "model.safetensors.index.json")
	ts := &tensorSource{byName: map[string]*safetensors.File{}}
	switch {
	case fileExists(single):
		f, err := safetensors.Open(single)
		if err != nil {
			return nil, err
		}
		ts.files = []*safetensors.File{f}
		ts.describ = single
	case fileExists(index):
		data, err := os.ReadFile(index)
		if err != nil {
			return nil, err
		}
		var idx struct {
			WeightMap map[string]string `json:"weight_map"`
		}
		if err := json.Unmarshal(data, &idx); err != nil || len(idx.WeightMap) == 0 {
			return nil, fmt.Errorf("%s: expected {\"weight_map\": {tensor: shard file}}: %v", index, err)
		}
		shards := map[string]*safetensors.File{}
		var names []string
		for _, shard := range idx.WeightMap {
			if _, ok := shards[shard]; ok {
				continue
			}
			if strings.Contains(shard, "/") || strings.Contains(shard, `\`) || shard == ".." {
				ts.Close()
				return nil, fmt.Errorf("%s: shard name %q must be a file name in the model folder", index, shard)
			}
			f, err := safetensors.Open(filepath.Join(dir, shard))
			if err != nil {
				ts.Close()
				return nil, fmt.Errorf("%s: %w", index, err)
			}
			shards[shard] = f
			ts.files = append(ts.files, f)
			names = append(names, shard)
		}
		for tensor, shard := range idx.WeightMap {
			f := shards[shard]
			if _, ok := f.Info(tensor); !ok {
				ts.Close()
				return nil, fmt.Errorf("%s: tensor %q is mapped to %s, which does not contain it", index, tensor, shard)
			}
			ts.byName[tensor] = f
		}
		slices.Sort(names)
		ts.describ = fmt.Sprintf("%s (%d shards)", index, len(names))
		return ts, nil
	case fileExists(filepath.Join(dir, "pytorch_model.bin")):
		return nil, fmt.Errorf("%s holds only pytorch_model.bin (a pickled PyTorch checkpoint, which embedtune does not execute); "+
			"convert it once with Python: `from sentence_transformers import SentenceTransformer; "+
			"SentenceTransformer(%q).save(%q, safe_serialization=True)` "+
			"or `transformers.AutoModel.from_pretrained(dir).save_pretrained(dir, safe_serialization=True)`", dir, dir, dir)
	default:
		return nil, fmt.Errorf("no weights in %s: expected model.safetensors or model.safetensors.index.json", dir)
	}
	for _, f := range ts.files {
		for _, n := range f.Names() {
			ts.byName[n] = f
		}
	}
	return ts, nil
}

// names returns every tensor name available.
func (ts *tensorSource) names() []string {
	return slices.Sorted(maps.Keys(ts.byName))
}

// normalizeName maps checkpoint names to BertModel's: drops a "bert." prefix (checkpoints of
// BertForMaskedLM & co) and renames TF-era LayerNorm gamma/beta to weight/bias, as transformers does.
func normalizeName(n string) string {
	n = strings.TrimPrefix(n, "bert.")
	if strings.Contains(n, "LayerNorm.") {
		n = strings.Replace(n, "LayerNorm.gamma", "LayerNorm.weight", 1)
		n = strings.Replace(n, "LayerNorm.beta", "LayerNorm.bias", 1)
	}
	return n
}

var errMissing = errors.New("missing")

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// LoadWeightsFrom replaces the model's weights with those saved in dir (a folder written by Save
// for the same architecture, e.g. a training checkpoint), checking every tensor's name and shape.
func (m *SentenceTransformer) LoadWeightsFrom(dir string) error {
	if m.Adapter != nil {
		a, err := m.readAdapter(dir)
		if err != nil {
			return err
		}
		for i, name := range m.Adapter.Weights.Names {
			j := a.Weights.Index(name)
			if j < 0 || !slices.Equal(a.Weights.Shapes[j], m.Adapter.Weights.Shapes[i]) {
				return fmt.Errorf("%s: adapter tensor %q is missing or has another shape", dir, name)
			}
			m.Adapter.Weights.Values[i] = a.Weights.Values[j]
		}
		return nil
	}
	w, err := loadWeights(m, dir, dir)
	if err != nil {
		return err
	}
	if len(w.Names) != len(m.Weights.Names) {
		return fmt.Errorf("%s holds %d trainable tensors, the model has %d", dir, len(w.Names), len(m.Weights.Names))
	}
	for i, name := range m.Weights.Names {
		j := w.Index(name)
		if j < 0 || !slices.Equal(w.Shapes[j], m.Weights.Shapes[i]) {
			return fmt.Errorf("%s: tensor %q is missing or has another shape", dir, name)
		}
	}
	for i, name := range m.Weights.Names {
		m.Weights.Values[i] = w.Values[w.Index(name)]
		m.Weights.StoredDType[name] = w.StoredDType[name]
	}
	m.Weights.Extra = w.Extra
	m.WeightsFrom = "loaded from " + dir
	return nil
}
