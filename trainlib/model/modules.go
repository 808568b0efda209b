package model

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Module types as written in modules.json. We read both the classic names
// (sentence_transformers.models.X, used by models on the Hub) and sentence-transformers ≥ 6's
// names, and write the classic ones, which every sentence-transformers version (2.x to 6.x) loads.
const (
	typeTransformer = "sentence_transformers.models.Transformer"
	typePooling     = "sentence_transformers.models.Pooling"
	typeNormalize   = "sentence_transformers.models.Normalize"
	typeDense       = "sentence_transformers.models.Dense"
)

// moduleEntry is one element of modules.json.
type moduleEntry struct {
	Idx  int    `json:"idx"`
	Name string `json:"name"`
	Path string `json:"path"`
	Type string `json:"type"`
}

// moduleKind maps a modules.json type (old or new naming) to "Transformer", "Pooling",
// "Normalize" or "Dense"; "" when unknown.
func moduleKind(t string) string {
	i := strings.LastIndex(t, ".")
	cls := t[i+1:]
	switch cls {
	case "Transformer", "Pooling", "Normalize", "Dense":
		if strings.HasPrefix(t, "sentence_transformers.") {
			return cls
		}
	}
	return ""
}

// readModules parses modules.json, checking every module type is supported and that the order
// is Transformer, Pooling, then any Dense and Normalize modules.
func readModules(dir string) ([]moduleEntry, error) {
	path := filepath.Join(dir, "modules.json")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var mods []moduleEntry
	if err := json.Unmarshal(data, &mods); err != nil {
		return nil, fmt.Errorf("%s: expected a JSON list of {idx, name, path, type}: %w", path, err)
	}
	sort.SliceStable(mods, func(i, j int) bool { return mods[i].Idx < mods[j].Idx })
	if len(mods) == 0 {
		return nil, fmt.Errorf("%s: no modules listed", path)
	}
	for i, m := range mods {
		kind := moduleKind(m.Type)
		if kind == "" {
			return nil, fmt.Errorf("%s: module %d has type %q, which embedtune does not support (supported: Transformer, Pooling, Dense, Normalize)", path, m.Idx, m.Type)
		}
		if (i == 0) != (kind == "Transformer") {
			return nil, fmt.Errorf("%s: the first module (and only the first) must be a Transformer, module %d is %s", path, m.Idx, kind)
		}
		if strings.Contains(m.Path, "..") || filepath.IsAbs(m.Path) {
			return nil, fmt.Errorf("%s: module %d has path %q outside the model folder", path, m.Idx, m.Path)
		}
	}
	return mods, nil
}

// sentenceBertConfig is sentence_bert_config.json (Transformer module settings).
type sentenceBertConfig struct {
	MaxSeqLength *int  `json:"max_seq_length"`
	DoLowerCase  *bool `json:"do_lower_case"`
	// Extra holds the other fields (ST ≥ 6 writes transformer_task, modality_config, ...).
	Extra map[string]json.RawMessage `json:"-"`
}

// readJSONWithExtra decodes a JSON object into v and returns all fields for preservation.
func readJSONWithExtra(path string, v any) (map[string]json.RawMessage, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return nil, fmt.Errorf("%s: invalid JSON or field types: %w", path, err)
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(data, &all); err != nil {
		return nil, fmt.Errorf("%s: expected a JSON object: %w", path, err)
	}
	return all, nil
}

// PoolingModes lists the pooling modes sentence-transformers implements.
var PoolingModes = []string{"cls", "mean", "max", "mean_sqrt_len_tokens", "weightedmean", "lasttoken"}

// legacyPoolingKeys maps the classic boolean keys of 1_Pooling/config.json to mode names, in the
// order sentence-transformers concatenates them.
var legacyPoolingKeys = []struct{ key, mode string }{
	{"pooling_mode_cls_token", "cls"},
	{"pooling_mode_max_tokens", "max"},
	{"pooling_mode_mean_tokens", "mean"},
	{"pooling_mode_mean_sqrt_len_tokens", "mean_sqrt_len_tokens"},
	{"pooling_mode_weightedmean_tokens", "weightedmean"},
	{"pooling_mode_lasttoken", "lasttoken"},
}

// PoolingConfig is the Pooling module: which token-embedding reductions are concatenated.
type PoolingConfig struct {
	Modes         []string
	IncludePrompt bool
}

// parsePoolingConfig reads 1_Pooling/config.json in either the classic boolean format or the
// sentence-transformers ≥ 6 "pooling_mode" format.
func parsePoolingConfig(path string, hidden int) (PoolingConfig, error) {
	var raw map[string]json.RawMessage
	if _, err := readJSONWithExtra(path, &raw); err != nil {
		return PoolingConfig{}, err
	}
	pc := PoolingConfig{IncludePrompt: true}
	if v, ok := raw["include_prompt"]; ok {
		if err := json.Unmarshal(v, &pc.IncludePrompt); err != nil {
			return pc, fmt.Errorf("%s: field \"include_prompt\" must be a boolean", path)
		}
	}
	for _, k := range []string{"word_embedding_dimension", "embedding_dimension"} {
		if v, ok := raw[k]; ok {
			var d int
			if err := json.Unmarshal(v, &d); err != nil || d != hidden {
				return pc, fmt.Errorf("%s: field %q is %s but the transformer's hidden_size is %d", path, k, string(v), hidden)
			}
		}
	}
	if v, ok := raw["pooling_mode"]; ok {
		var one string
		var many []string
		if err := json.Unmarshal(v, &one); err == nil {
			many = []string{one}
		} else if err := json.Unmarshal(v, &many); err != nil {
			return pc, fmt.Errorf("%s: field \"pooling_mode\" must be a string or a list of strings, got %s", path, string(v))
		}
		pc.Modes = many
	} else {
		for _, lk := range legacyPoolingKeys {
			if v, ok := raw[lk.key]; ok {
				var on bool
				if err := json.Unmarshal(v, &on); err != nil {
					return pc, fmt.Errorf("%s: field %q must be a boolean", path, lk.key)
				}
				if on {
					pc.Modes = append(pc.Modes, lk.mode)
				}
			}
		}
	}
	if err := pc.validate(); err != nil {
		return pc, fmt.Errorf("%s: %w", path, err)
	}
	return pc, nil
}

func (pc PoolingConfig) validate() error {
	if len(pc.Modes) == 0 {
		return fmt.Errorf("no pooling mode enabled (expected one of %s)", strings.Join(PoolingModes, ", "))
	}
	for _, m := range pc.Modes {
		if !isPoolingMode(m) {
			return fmt.Errorf("unknown pooling mode %q (expected one of %s)", m, strings.Join(PoolingModes, ", "))
		}
	}
	return nil
}

func isPoolingMode(m string) bool {
	for _, k := range PoolingModes {
		if k == m {
			return true
		}
	}
	return false
}

// classicJSON returns 1_Pooling/config.json in the classic format every version reads.
func (pc PoolingConfig) classicJSON(hidden int) map[string]any {
	out := map[string]any{"word_embedding_dimension": hidden, "include_prompt": pc.IncludePrompt}
	for _, lk := range legacyPoolingKeys {
		on := false
		for _, m := range pc.Modes {
			on = on || m == lk.mode
		}
		out[lk.key] = on
	}
	return out
}

// stConfig is config_sentence_transformers.json.
type stConfig struct {
	Prompts           map[string]string `json:"prompts"`
	DefaultPromptName *string           `json:"default_prompt_name"`
	SimilarityFnName  *string           `json:"similarity_fn_name"`
	ModelType         string            `json:"model_type"`
}

// SimilarityFunctions are the similarity_fn_name values sentence-transformers accepts.
var SimilarityFunctions = []string{"cosine", "dot", "euclidean", "manhattan"}
