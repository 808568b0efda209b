// Package model is a sentence-transformers model in Go: a BERT encoder followed by Pooling,
// optional Dense layers and Normalize, loaded from and saved to the sentence-transformers folder
// format, so Python's SentenceTransformer(dir) and this package read each other's files.
//
// An embedding of text t is
//
//	e(t) = Normalize(Dense_k(...Dense_1(Pool(BERT(tokenize(prompt + t)))))),
//
// where Pool is one or more of: the [CLS] vector; the mean, max or sum/√n of token vectors over
// the attention mask; a position-weighted mean; the last real token. Normalize divides by the L2
// norm (max(‖x‖, 1e-12)).
//
// Example:
//
//	m, err := model.Load("BAAI/bge-base-en-v1.5")
//	if err != nil { return err }
//	emb, err := m.Encode([]string{"What is the capital of India?"}, nil)
package model

import (
	"encoding/json"
	"fmt"
	"html"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/embedtune/embedtune/trainlib/bert"
	"github.com/embedtune/embedtune/trainlib/tokenizer"
	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/graph"
)

// SentenceTransformer is a loaded (or freshly initialized) embedding model.
type SentenceTransformer struct {
	// Source is what the model was loaded from (a folder or a Hub id); Dir is the local folder.
	Source, Dir string
	// WeightsFrom tells where the weights came from (file paths, or "random init, seed N"), so a
	// model never silently runs on weights other than the ones asked for.
	WeightsFrom string

	Config       *bert.Config
	Tokenizer    tokenizer.Tokenizer
	MaxSeqLength int
	DoLowerCase  bool
	Pooling      PoolingConfig
	Dense        []*Dense
	Normalize    bool

	// Prompts (config_sentence_transformers.json) by name, e.g. {"query": "Represent this ..."}.
	Prompts           map[string]string
	DefaultPromptName string
	// SimilarityFn is similarity_fn_name: "cosine" (default), "dot", "euclidean" or "manhattan".
	SimilarityFn string

	Weights *Weights
	// Adapter is the attached LoRA adapter, if any (see AddAdapter).
	Adapter *Adapter
	// CardData is what the model card (README.md) says beyond the model itself; the Trainer fills it.
	CardData *ModelCardData

	// files keeps the verbatim content of files saved back unchanged (tokenizer files) and of the
	// JSON configs whose unknown fields are preserved.
	files map[string][]byte

	backend compute.Backend
	log     io.Writer

	mu         sync.Mutex
	encodeExec *graph.Exec
	graphs     *GraphCache // shared compiled graphs (ShareGraphs), or nil
	// dp is data-parallel encoding (SetEncodeDevices), nil on one device; dpMu serializes its batches
	// and changes (taken before mu); devicesExecs holds its executors by device count.
	dp           *deviceEncoder
	dpMu         sync.Mutex
	devicesExecs map[int]*graph.Exec
}

// Dense is a sentence-transformers Dense module: y = act(x·Wᵀ + b).
type Dense struct {
	// Path is the module folder, e.g. "2_Dense"; its tensors are "<Path>/linear.weight|bias".
	Path        string
	InFeatures  int
	OutFeatures int
	Bias        bool
	// Activation is the PyTorch class path, e.g. "torch.nn.modules.activation.Tanh".
	Activation string
	// extra holds unknown config fields, written back on save.
	extra map[string]json.RawMessage
}

// resetExecs drops compiled graphs whose inputs changed (an adapter attached or merged).
func (m *SentenceTransformer) resetExecs() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.dropEncodeExecLocked()
}

// dropEncodeExecLocked forgets the inference executor, finalizing it unless a GraphCache shares it.
func (m *SentenceTransformer) dropEncodeExecLocked() {
	if m.encodeExec != nil && m.graphs == nil {
		m.encodeExec.Finalize()
	}
	m.encodeExec = nil
	for _, e := range m.devicesExecs {
		if m.graphs == nil {
			e.Finalize()
		}
	}
	m.devicesExecs = nil
}

// Dim returns the dimension of the sentence embeddings.
func (m *SentenceTransformer) Dim() int {
	d := m.Config.HiddenSize * len(m.Pooling.Modes)
	if n := len(m.Dense); n > 0 {
		d = m.Dense[n-1].OutFeatures
	}
	return d
}

// Backend returns the compute backend the model runs on.
func (m *SentenceTransformer) Backend() compute.Backend { return m.backend }

// logf writes an informational message (nil logger: silent).
func (m *SentenceTransformer) logf(format string, args ...any) {
	if m.log != nil {
		fmt.Fprintf(m.log, "embedtune: "+format+"\n", args...)
	}
}

// String returns a summary in the style of sentence-transformers' repr.
func (m *SentenceTransformer) String() string {
	var b strings.Builder
	b.WriteString(m.Architecture())
	b.WriteString(m.summaryDetails())
	return b.String()
}

// Architecture is sentence-transformers' repr of the model, str(model): its modules and their settings.
func (m *SentenceTransformer) Architecture() string {
	var b strings.Builder
	b.WriteString("SentenceTransformer(\n")
	fmt.Fprintf(&b, "  (0): Transformer({'max_seq_length': %d, 'do_lower_case': %s}) with Transformer model: BertModel\n",
		m.MaxSeqLength, pyBool(m.DoLowerCase))
	pool := m.Pooling.classicJSON(m.Config.HiddenSize)
	fmt.Fprintf(&b, "  (1): Pooling({'word_embedding_dimension': %d", m.Config.HiddenSize)
	for _, lk := range legacyPoolingKeys {
		fmt.Fprintf(&b, ", '%s': %s", lk.key, pyBool(pool[lk.key].(bool)))
	}
	fmt.Fprintf(&b, ", 'include_prompt': %s})\n", pyBool(m.Pooling.IncludePrompt))
	i := 2
	for _, d := range m.Dense {
		fmt.Fprintf(&b, "  (%d): Dense({'in_features': %d, 'out_features': %d, 'bias': %s, 'activation_function': '%s'})\n",
			i, d.InFeatures, d.OutFeatures, pyBool(d.Bias), d.Activation)
		i++
	}
	if m.Normalize {
		fmt.Fprintf(&b, "  (%d): Normalize()\n", i)
	}
	b.WriteString(")\n")
	return b.String()
}

// summaryDetails returns the lines String adds after the architecture.
func (m *SentenceTransformer) summaryDetails() string {
	var b strings.Builder
	c := m.Config
	fmt.Fprintf(&b, "BERT: %d layers, hidden %d, %d heads, intermediate %d, vocab %d; %s parameters; embedding dim %d; similarity %s\n",
		c.NumHiddenLayers, c.HiddenSize, c.NumAttentionHeads, c.IntermediateSize, c.VocabSize,
		humanCount(m.Weights.NumParams()), m.Dim(), m.SimilarityFn)
	if len(m.Prompts) > 0 {
		fmt.Fprintf(&b, "Prompts: %s", strings.Join(slices.Sorted(maps.Keys(m.Prompts)), ", "))
		if m.DefaultPromptName != "" {
			fmt.Fprintf(&b, " (default %q)", m.DefaultPromptName)
		}
		b.WriteString("\n")
	}
	if a := m.Adapter; a != nil {
		fmt.Fprintf(&b, "LoRA adapter: r=%d, alpha=%g, dropout=%g on %d linear layers (%s trainable parameters)\n",
			a.Config.R, a.Config.Alpha, a.Config.Dropout, len(a.modules), humanCount(a.Weights.NumParams()))
	}
	fmt.Fprintf(&b, "Weights: %s\n", m.WeightsFrom)
	if m.backend != nil {
		fmt.Fprintf(&b, "Backend: %s\n", m.backend.Description())
	}
	return b.String()
}

func pyBool(v bool) string {
	if v {
		return "True"
	}
	return "False"
}

// humanCount formats a parameter count like "109.5M".
func humanCount(n int) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.1fB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1fM", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1fK", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}

// HTML renders the summary for notebooks (display.HTML(model) shows it).
func (m *SentenceTransformer) HTML() string {
	var b strings.Builder
	b.WriteString(`<pre style="font-size:12px;line-height:1.35">`)
	b.WriteString(html.EscapeString(m.String()))
	b.WriteString("</pre>")
	return b.String()
}
