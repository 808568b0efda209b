package bert

import "fmt"

// ParamSpec names one weight tensor and its shape.
type ParamSpec struct {
	Name  string
	Shape []int
	// Kind says how Hugging Face initializes it: "normal" (N(0, initializer_range²)), "ones",
	// "zeros"; and whether weight decay applies (never to biases and LayerNorm weights).
	Kind string
}

// NoDecay reports whether weight decay must skip this parameter: biases and LayerNorm weights,
// as in transformers' Trainer (get_decay_parameter_names).
func (p ParamSpec) NoDecay() bool { return p.Kind != "normal" }

// Params returns every weight of BertModel in a canonical order (embeddings, layers, pooler),
// with Hugging Face names (no "bert." prefix, as sentence-transformers saves them).
func (c *Config) Params() []ParamSpec {
	H, I := c.HiddenSize, c.IntermediateSize
	ps := []ParamSpec{
		{"embeddings.word_embeddings.weight", []int{c.VocabSize, H}, "normal"},
		{"embeddings.position_embeddings.weight", []int{c.MaxPositionEmbeddings, H}, "normal"},
		{"embeddings.token_type_embeddings.weight", []int{c.TypeVocabSize, H}, "normal"},
		{"embeddings.LayerNorm.weight", []int{H}, "ones"},
		{"embeddings.LayerNorm.bias", []int{H}, "zeros"},
	}
	linear := func(prefix string, out, in int) {
		ps = append(ps, ParamSpec{prefix + ".weight", []int{out, in}, "normal"}, ParamSpec{prefix + ".bias", []int{out}, "zeros"})
	}
	layerNorm := func(prefix string) {
		ps = append(ps, ParamSpec{prefix + ".weight", []int{H}, "ones"}, ParamSpec{prefix + ".bias", []int{H}, "zeros"})
	}
	for l := 0; l < c.NumHiddenLayers; l++ {
		p := fmt.Sprintf("encoder.layer.%d.", l)
		linear(p+"attention.self.query", H, H)
		linear(p+"attention.self.key", H, H)
		linear(p+"attention.self.value", H, H)
		linear(p+"attention.output.dense", H, H)
		layerNorm(p + "attention.output.LayerNorm")
		linear(p+"intermediate.dense", I, H)
		linear(p+"output.dense", H, I)
		layerNorm(p + "output.LayerNorm")
	}
	linear("pooler.dense", H, H)
	return ps
}

// LinearModules returns the prefixes of the encoder's linear layers of layer l, the targets
// LoRA adapters name ("query", "key", "value", "attention.output.dense", "intermediate.dense",
// "output.dense").
func LinearModules(l int) []string {
	p := fmt.Sprintf("encoder.layer.%d.", l)
	return []string{p + "attention.self.query", p + "attention.self.key", p + "attention.self.value",
		p + "attention.output.dense", p + "intermediate.dense", p + "output.dense"}
}
