package model

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// GraphCache lets models of the same structure share their compiled graphs, so that the runs of
// a hyperparameter sweep — a fresh model each, same architecture — compile their graphs once.
//
// Two models share a graph when their StructureKey is equal: same backend, BERT configuration,
// pooling, Dense and Normalize modules, tensor names and shapes, and LoRA adapter layout (rank,
// target modules, dropout). Numbers that differ between runs without changing the graph are graph
// inputs, not constants: the weights, and the adapter's scaling lora_alpha/r. GoMLX compiles each
// graph once per combination of input shapes, so a shared graph compiles once per shape for every
// model that uses it.
//
// A cache is safe for concurrent use. Builds counts the graphs built through it.
//
//	cache := model.NewGraphCache()
//	for _, dir := range runs {
//		m, _ := model.Load(dir)
//		m.ShareGraphs(cache) // Encode now reuses the graphs an earlier model compiled
//	}
type GraphCache struct {
	mu     sync.Mutex
	execs  map[string]*graph.Exec
	builds atomic.Int64
}

// NewGraphCache returns an empty cache.
func NewGraphCache() *GraphCache { return &GraphCache{execs: map[string]*graph.Exec{}} }

// Builds returns how many graphs were built (and compiled) through the cache: one per graph and
// input-shape combination, whichever model asked first.
func (c *GraphCache) Builds() int64 { return c.builds.Load() }

// CountBuild records one graph build: a graph function given to Exec calls it when GoMLX builds
// it for new input shapes.
func (c *GraphCache) CountBuild() { c.builds.Add(1) }

// Exec returns the executor stored under key, creating it with build on first use. build runs
// with the cache locked; it must not call back into the cache.
func (c *GraphCache) Exec(key string, build func() (*graph.Exec, error)) (*graph.Exec, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.execs[key]; ok {
		return e, nil
	}
	e, err := build()
	if err != nil {
		return nil, err
	}
	c.execs[key] = e
	return e, nil
}

// ShareGraphs makes m build and look up its inference graphs (Encode, EmbedIDs) in c. A nil c stops
// sharing.
func (m *SentenceTransformer) ShareGraphs(c *GraphCache) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.dropEncodeExecLocked()
	m.graphs = c
}

// SharedGraphs returns the cache set by ShareGraphs, or nil.
func (m *SentenceTransformer) SharedGraphs() *GraphCache {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.graphs
}

// StructureKey identifies the graphs m builds: models with equal keys build identical graphs for
// the same input shapes (see GraphCache). It fails only if the configuration cannot be encoded.
func (m *SentenceTransformer) StructureKey() (string, error) {
	type adapterKey struct {
		R         int      `json:"r"`
		Dropout   float64  `json:"lora_dropout"`
		UseRSLoRA bool     `json:"use_rslora"`
		Modules   []string `json:"modules"`
	}
	dense := make([]map[string]any, len(m.Dense))
	for i, d := range m.Dense {
		dense[i] = map[string]any{"path": d.Path, "in": d.InFeatures, "out": d.OutFeatures, "bias": d.Bias, "activation": d.Activation}
	}
	k := map[string]any{
		"backend":   fmt.Sprintf("%p", m.backend),
		"config":    m.Config,
		"pooling":   m.Pooling,
		"dense":     dense,
		"normalize": m.Normalize,
		"names":     m.GraphParamNames(),
		"shapes":    m.graphParamShapes(),
	}
	if a := m.Adapter; a != nil {
		k["adapter"] = adapterKey{R: a.Config.R, Dropout: a.Config.Dropout, UseRSLoRA: a.Config.UseRSLoRA, Modules: a.modules}
	}
	b, err := json.Marshal(k)
	if err != nil {
		return "", fmt.Errorf("model structure key: %w", err)
	}
	return string(b), nil
}

// graphParamShapes returns the shapes of GraphParams, in order.
func (m *SentenceTransformer) graphParamShapes() [][]int {
	out := slices.Clone(m.Weights.Shapes)
	if m.Adapter != nil {
		out = append(out, m.Adapter.Weights.Shapes...)
	}
	return out
}

// Structure returns a copy of m for building graphs: the same configuration, modules, tensor
// names and shapes and adapter layout, but no tensors, tokenizer or compiled graphs. A graph
// function shared between models (GraphCache) builds on it, so that it keeps no model's weights
// alive.
func (m *SentenceTransformer) Structure() *SentenceTransformer {
	s := &SentenceTransformer{Config: m.Config, MaxSeqLength: m.MaxSeqLength, DoLowerCase: m.DoLowerCase,
		Pooling: m.Pooling, Dense: m.Dense, Normalize: m.Normalize, Weights: m.Weights.namesOnly(), backend: m.backend}
	if a := m.Adapter; a != nil {
		s.Adapter = &Adapter{Config: a.Config, BaseModel: a.BaseModel, Weights: a.Weights.namesOnly(), modules: slices.Clone(a.modules)}
	}
	return s
}

// namesOnly returns the names, shapes and decay flags of w, without tensors.
func (w *Weights) namesOnly() *Weights {
	return &Weights{Names: slices.Clone(w.Names), Shapes: slices.Clone(w.Shapes), NoDecay: slices.Clone(w.NoDecay),
		Values: make([]*tensors.Tensor, len(w.Names)), index: maps.Clone(w.index)}
}
