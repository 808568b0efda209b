package model

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/embedtune/embedtune/trainlib/safetensors"
	"github.com/gomlx/gomlx/core/tensors"
)

// LoRAConfig describes a LoRA adapter (Hu et al., 2021) with PEFT's names and defaults: every
// targeted linear layer y = x·Wᵀ + b becomes
//
//	y = x·Wᵀ + b + s · dropout(x)·Aᵀ·Bᵀ,   A ∈ ℝ^{r×in}, B ∈ ℝ^{out×r},
//
// with s = Alpha/R (Alpha/√R with UseRSLoRA). A starts as PyTorch's kaiming_uniform(a=√5), i.e.
// U(−1/√in, 1/√in), and B as zeros, so a new adapter does not change the model. While an adapter
// is attached only A and B are trained; the base weights stay frozen.
type LoRAConfig struct {
	// R is the rank (PEFT's r, default 8).
	R int `json:"r" yaml:"r"`
	// Alpha scales the update (lora_alpha, default 8).
	Alpha float64 `json:"lora_alpha" yaml:"lora_alpha"`
	// Dropout applies to the adapter's input in training (lora_dropout, default 0).
	Dropout float64 `json:"lora_dropout" yaml:"lora_dropout"`
	// TargetModules names the linear layers to adapt: a module matches when its name equals an entry
	// or ends with "."+entry (e.g. "query", "value", "attention.output.dense", "dense"). Default,
	// as PEFT for BERT: ["query", "value"]. TargetRegex, when set, is matched against the full module
	// name instead (PEFT's string form).
	TargetModules []string `json:"target_modules" yaml:"target_modules"`
	TargetRegex   string   `json:"-" yaml:"target_regex"`
	// UseRSLoRA scales by Alpha/√R (rank-stabilized LoRA).
	UseRSLoRA bool `json:"use_rslora" yaml:"use_rslora"`
	// Seed initializes A.
	Seed uint64 `json:"-" yaml:"seed"`
}

// Adapter is a LoRA adapter attached to a model.
type Adapter struct {
	Config LoRAConfig
	// BaseModel is adapter_config.json's base_model_name_or_path: where Python's
	// SentenceTransformer(dir) finds the base weights of a saved adapter folder.
	BaseModel string
	// Weights are the A and B matrices, named like PEFT's state dict without the
	// "base_model.model." prefix: "encoder.layer.0.attention.self.query.lora_A.weight".
	Weights *Weights
	// modules are the adapted linear layers (prefixes), in order.
	modules []string
	// rawConfig keeps the loaded adapter_config.json fields, written back on save.
	rawConfig map[string]json.RawMessage
}

// Scaling returns s = Alpha/R (or Alpha/√R).
func (a *Adapter) Scaling() float64 {
	if a.Config.UseRSLoRA {
		return a.Config.Alpha / math.Sqrt(float64(a.Config.R))
	}
	return a.Config.Alpha / float64(a.Config.R)
}

// Targets reports whether the linear layer prefix is adapted.
func (a *Adapter) Targets(prefix string) bool {
	for _, m := range a.modules {
		if m == prefix {
			return true
		}
	}
	return false
}

// Modules returns the adapted linear layers.
func (a *Adapter) Modules() []string { return append([]string(nil), a.modules...) }

// linearModules lists the model's linear layers (BertModel's nn.Linear modules).
func (m *SentenceTransformer) linearModules() []string {
	var out []string
	for l := 0; l < m.Config.NumHiddenLayers; l++ {
		p := fmt.Sprintf("encoder.layer.%d.", l)
		for _, s := range []string{"attention.self.query", "attention.self.key", "attention.self.value",
			"attention.output.dense", "intermediate.dense", "output.dense"} {
			out = append(out, p+s)
		}
	}
	if m.Weights.Index("pooler.dense.weight") >= 0 {
		out = append(out, "pooler.dense")
	}
	return out
}

// matchTargets applies PEFT's matching rule to the model's linear layers.
func (m *SentenceTransformer) matchTargets(c LoRAConfig) ([]string, error) {
	var re *regexp.Regexp
	if c.TargetRegex != "" {
		var err error
		if re, err = regexp.Compile("^(?:" + c.TargetRegex + ")$"); err != nil {
			return nil, fmt.Errorf("LoRA target regex %q: %w", c.TargetRegex, err)
		}
	}
	var out []string
	for _, mod := range m.linearModules() {
		hit := re != nil && re.MatchString(mod)
		for _, t := range c.TargetModules {
			hit = hit || mod == t || strings.HasSuffix(mod, "."+t)
		}
		if hit {
			out = append(out, mod)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("LoRA target modules %v match none of the model's linear layers (e.g. query, key, value, attention.output.dense, intermediate.dense, output.dense)", c.TargetModules)
	}
	return out, nil
}

func (c *LoRAConfig) withDefaults() error {
	if c.R == 0 {
		c.R = 8
	}
	if c.Alpha == 0 {
		c.Alpha = 8
	}
	if len(c.TargetModules) == 0 && c.TargetRegex == "" {
		c.TargetModules = []string{"query", "value"}
	}
	if c.R < 0 || c.Alpha < 0 || c.Dropout < 0 || c.Dropout >= 1 {
		return fmt.Errorf("LoRA: r (%d) and lora_alpha (%g) must be positive and lora_dropout (%g) in [0, 1)", c.R, c.Alpha, c.Dropout)
	}
	return nil
}

// AddAdapter attaches a new LoRA adapter (PEFT initialization). From then on, training updates
// only the adapter, Encode includes it, Save writes an adapter folder (see SaveAdapter) and
// MergeAdapter folds it into the base weights.
func (m *SentenceTransformer) AddAdapter(c LoRAConfig) error {
	if m.Adapter != nil {
		return fmt.Errorf("the model already has a LoRA adapter (merge it with MergeAdapter or load another model)")
	}
	if err := c.withDefaults(); err != nil {
		return err
	}
	mods, err := m.matchTargets(c)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(c.Seed, 0x10a4))
	w := &Weights{StoredDType: map[string]safetensors.DType{}, Extra: map[string][]safetensors.Tensor{}}
	for _, mod := range mods {
		shape := m.Weights.Shapes[m.Weights.Index(mod+".weight")] // [out, in]
		out, in := shape[0], shape[1]
		bound := 1 / math.Sqrt(float64(in))
		a := make([]float32, c.R*in)
		for i := range a {
			a[i] = float32((2*rng.Float64() - 1) * bound)
		}
		w.add(mod+".lora_A.weight", []int{c.R, in}, false, tensors.FromFlatDataAndDimensions(a, c.R, in))
		w.add(mod+".lora_B.weight", []int{out, c.R}, false, tensors.FromFlatDataAndDimensions(make([]float32, out*c.R), out, c.R))
	}
	base := m.Source
	if st, err := os.Stat(base); err == nil && st.IsDir() {
		if abs, err := filepath.Abs(base); err == nil {
			base = abs
		}
	}
	m.Adapter = &Adapter{Config: c, BaseModel: base, Weights: w, modules: mods}
	m.resetExecs()
	return nil
}

// MergeAdapter folds the adapter into the base weights (W ← W + s·B·A) and detaches it, like
// PEFT's merge_and_unload: the model then saves as a plain sentence-transformers folder.
func (m *SentenceTransformer) MergeAdapter() error {
	a := m.Adapter
	if a == nil {
		return fmt.Errorf("the model has no adapter to merge")
	}
	s := a.Scaling()
	for _, mod := range a.modules {
		wi := m.Weights.Index(mod + ".weight")
		W, err := tensors.CopyFlatData[float32](m.Weights.Values[wi])
		if err != nil {
			return err
		}
		A, _ := tensors.CopyFlatData[float32](a.Weights.Values[a.Weights.Index(mod+".lora_A.weight")])
		B, _ := tensors.CopyFlatData[float32](a.Weights.Values[a.Weights.Index(mod+".lora_B.weight")])
		out, in := m.Weights.Shapes[wi][0], m.Weights.Shapes[wi][1]
		r := a.Config.R
		for o := 0; o < out; o++ {
			for i := 0; i < in; i++ {
				var d float64
				for k := 0; k < r; k++ {
					d += float64(B[o*r+k]) * float64(A[k*in+i])
				}
				W[o*in+i] += float32(s * d)
			}
		}
		m.Weights.Values[wi] = tensors.FromFlatDataAndDimensions(W, out, in)
		m.Weights.StoredDType[mod+".weight"] = safetensors.F32
	}
	m.Adapter = nil
	m.WeightsFrom += " + merged LoRA adapter"
	m.resetExecs()
	return nil
}

// GraphParams returns every tensor the forward graph reads, in graph-input order: the model's
// weights, then the adapter's.
func (m *SentenceTransformer) GraphParams() []*tensors.Tensor {
	out := append([]*tensors.Tensor(nil), m.Weights.Values...)
	if m.Adapter != nil {
		out = append(out, m.Adapter.Weights.Values...)
	}
	return out
}

// GraphParamNames returns the names of GraphParams, in order.
func (m *SentenceTransformer) GraphParamNames() []string {
	out := append([]string(nil), m.Weights.Names...)
	if m.Adapter != nil {
		out = append(out, m.Adapter.Weights.Names...)
	}
	return out
}

// Trainable returns the indices into GraphParams of the tensors training updates: the adapter's
// when one is attached, else all of the model's. noDecay reports, for each of them, whether weight
// decay skips it.
func (m *SentenceTransformer) Trainable() (idx []int, noDecay []bool) {
	n := len(m.Weights.Values)
	if m.Adapter != nil {
		for i := range m.Adapter.Weights.Values {
			idx = append(idx, n+i)
			noDecay = append(noDecay, false)
		}
		return idx, noDecay
	}
	for i := 0; i < n; i++ {
		idx = append(idx, i)
		noDecay = append(noDecay, m.Weights.NoDecay[i])
	}
	return idx, noDecay
}

// SetGraphParams replaces tensors by GraphParams index (the trainer's updates).
func (m *SentenceTransformer) SetGraphParams(idx []int, values []*tensors.Tensor) {
	n := len(m.Weights.Values)
	for k, i := range idx {
		if i < n {
			m.Weights.Values[i] = values[k]
		} else {
			m.Adapter.Weights.Values[i-n] = values[k]
		}
	}
}

// adapterConfigJSON returns adapter_config.json as PEFT writes it for a LoRA adapter.
func (a *Adapter) adapterConfigJSON() map[string]any {
	out := map[string]any{}
	for k, v := range a.rawConfig {
		out[k] = v
	}
	targets := any(a.Config.TargetModules)
	if a.Config.TargetRegex != "" {
		targets = a.Config.TargetRegex
	}
	for k, v := range map[string]any{
		"peft_type": "LORA", "task_type": "FEATURE_EXTRACTION", "base_model_name_or_path": a.BaseModel,
		"r": a.Config.R, "lora_alpha": a.Config.Alpha, "lora_dropout": a.Config.Dropout, "target_modules": targets,
		"use_rslora": a.Config.UseRSLoRA, "bias": "none", "fan_in_fan_out": false, "inference_mode": false,
		"init_lora_weights": true, "modules_to_save": nil, "use_dora": false, "revision": nil,
		"layers_to_transform": nil, "layers_pattern": nil, "rank_pattern": map[string]any{}, "alpha_pattern": map[string]any{},
	} {
		if _, keep := a.rawConfig[k]; !keep || k == "r" || k == "lora_alpha" || k == "lora_dropout" || k == "target_modules" || k == "use_rslora" || k == "base_model_name_or_path" {
			out[k] = v
		}
	}
	return out
}

// adapterTensors returns the adapter weights with PEFT's names ("base_model.model." prefix).
func (a *Adapter) adapterTensors() ([]safetensors.Tensor, error) {
	var ts []safetensors.Tensor
	for i, name := range a.Weights.Names {
		vals, err := tensors.CopyFlatData[float32](a.Weights.Values[i])
		if err != nil {
			return nil, err
		}
		data, _ := safetensors.EncodeFloat32(vals, safetensors.F32)
		ts = append(ts, safetensors.Tensor{Name: "base_model.model." + name, DType: safetensors.F32, Shape: a.Weights.Shapes[i], Data: data})
	}
	return ts, nil
}

// loadAdapter reads adapter_config.json and adapter_model.safetensors from dir and attaches them.
func (m *SentenceTransformer) loadAdapter(dir string) error {
	a, err := m.readAdapter(dir)
	if err != nil {
		return err
	}
	m.Adapter = a
	m.WeightsFrom += ", LoRA adapter " + filepath.Join(dir, "adapter_model.safetensors")
	m.resetExecs()
	return nil
}

// readAdapter reads a saved LoRA adapter for this model's architecture.
func (m *SentenceTransformer) readAdapter(dir string) (*Adapter, error) {
	cfgPath := filepath.Join(dir, "adapter_config.json")
	data, err := os.ReadFile(cfgPath)
	if err != nil {
		return nil, err
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("%s: invalid JSON: %w", cfgPath, err)
	}
	var c struct {
		PeftType      string          `json:"peft_type"`
		R             int             `json:"r"`
		Alpha         float64         `json:"lora_alpha"`
		Dropout       float64         `json:"lora_dropout"`
		Targets       json.RawMessage `json:"target_modules"`
		UseRSLoRA     bool            `json:"use_rslora"`
		UseDoRA       bool            `json:"use_dora"`
		Bias          string          `json:"bias"`
		Base          string          `json:"base_model_name_or_path"`
		ModulesToSave []string        `json:"modules_to_save"`
		RankPattern   map[string]any  `json:"rank_pattern"`
		AlphaPattern  map[string]any  `json:"alpha_pattern"`
	}
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", cfgPath, err)
	}
	switch {
	case c.PeftType != "LORA":
		return nil, fmt.Errorf("%s: peft_type %q is not supported (only LORA)", cfgPath, c.PeftType)
	case c.UseDoRA:
		return nil, fmt.Errorf("%s: use_dora is not supported", cfgPath)
	case c.Bias != "" && c.Bias != "none":
		return nil, fmt.Errorf("%s: bias %q is not supported (only \"none\")", cfgPath, c.Bias)
	case len(c.ModulesToSave) > 0:
		return nil, fmt.Errorf("%s: modules_to_save is not supported", cfgPath)
	case len(c.RankPattern) > 0 || len(c.AlphaPattern) > 0:
		return nil, fmt.Errorf("%s: rank_pattern/alpha_pattern are not supported", cfgPath)
	}
	lc := LoRAConfig{R: c.R, Alpha: c.Alpha, Dropout: c.Dropout, UseRSLoRA: c.UseRSLoRA}
	if err := json.Unmarshal(c.Targets, &lc.TargetModules); err != nil {
		if err := json.Unmarshal(c.Targets, &lc.TargetRegex); err != nil {
			return nil, fmt.Errorf("%s: target_modules must be a list of names or a regex string", cfgPath)
		}
	}
	if err := lc.withDefaults(); err != nil {
		return nil, fmt.Errorf("%s: %w", cfgPath, err)
	}
	mods, err := m.matchTargets(lc)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfgPath, err)
	}
	f, err := safetensors.Open(filepath.Join(dir, "adapter_model.safetensors"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	w := &Weights{StoredDType: map[string]safetensors.DType{}, Extra: map[string][]safetensors.Tensor{}}
	src := &tensorSource{files: nil, byName: map[string]*safetensors.File{}, describ: f.Path()}
	for _, n := range f.Names() {
		src.byName[n] = f
	}
	want := map[string]bool{}
	for _, mod := range mods {
		shape := m.Weights.Shapes[m.Weights.Index(mod+".weight")]
		for _, part := range []struct {
			suffix string
			shape  []int
		}{{".lora_A.weight", []int{lc.R, shape[1]}}, {".lora_B.weight", []int{shape[0], lc.R}}} {
			name := mod + part.suffix
			orig := "base_model.model." + name
			if _, ok := src.byName[orig]; !ok {
				orig = name
			}
			want[orig] = true
			if err := addTensor(w, src, orig, name, part.shape, false); err != nil {
				return nil, err
			}
		}
	}
	var extra []string
	for _, n := range f.Names() {
		if !want[n] {
			extra = append(extra, n)
		}
	}
	if len(extra) > 0 {
		slices.Sort(extra)
		return nil, fmt.Errorf("%s: tensors %v do not belong to the target modules %v", f.Path(), extra, lc.TargetModules)
	}
	return &Adapter{Config: lc, BaseModel: c.Base, Weights: w, modules: mods, rawConfig: raw}, nil
}
