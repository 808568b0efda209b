package bert

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// FuzzParseConfig reads arbitrary config.json content. An accepted configuration is valid and
// survives save → load unchanged (unknown fields included); a rejected one gets an error naming the
// file.
func FuzzParseConfig(f *testing.F) {
	def, _ := json.Marshal(DefaultConfig())
	f.Add(def)
	f.Add([]byte(`{"architectures":["BertModel"],"attention_probs_dropout_prob":0.1,"gradient_checkpointing":false,"hidden_act":"gelu",
"hidden_dropout_prob":0.1,"hidden_size":384,"initializer_range":0.02,"intermediate_size":1536,"layer_norm_eps":1e-12,
"max_position_embeddings":512,"model_type":"bert","num_attention_heads":12,"num_hidden_layers":6,"pad_token_id":0,
"position_embedding_type":"absolute","torch_dtype":"float32","transformers_version":"4.8.2","type_vocab_size":2,"use_cache":true,"vocab_size":30522}`))
	f.Add([]byte(`{"model_type":"roberta"}`))
	f.Add([]byte(`{"hidden_size":30,"num_attention_heads":7}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseConfig("fuzz/config.json", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz/config.json: ") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("accepted an invalid configuration: %v", err)
		}
		out, err := json.Marshal(cfg)
		if err != nil {
			t.Fatalf("an accepted configuration cannot be saved: %v", err)
		}
		again, err := ParseConfig("saved/config.json", out)
		if err != nil {
			t.Fatalf("the saved configuration is rejected: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(normalized(t, cfg), normalized(t, again)) {
			t.Fatalf("save → load changed the configuration:\n%+v\n%+v", cfg, again)
		}
	})
}

// normalized compares configurations by their JSON form (raw extra values are re-encoded compactly).
func normalized(t *testing.T, c *Config) map[string]any {
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
