package bert

import (
	"strings"
	"testing"
)

// TestMatmulFLOPs checks the closed form against a count over the actual weight shapes: every
// [out, in] matrix of the encoder layers costs 2·L·out·in, and attention 2·L²·H twice per layer.
func TestMatmulFLOPs(t *testing.T) {
	for _, c := range []struct {
		name                string
		hidden, layers, ffn int
		seqLen              int
		want                float64 // When non-zero, a published figure to match.
	}{
		{"bert-base-128", 768, 12, 3072, 128, 22347251712}, // ≈ 11.2 GMACs, the usual BERT-base figure.
		{"minilm-l6-128", 384, 6, 1536, 128, 0},
		{"minilm-l6-32", 384, 6, 1536, 32, 0},
		{"tiny-7", 32, 2, 64, 7, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.HiddenSize, cfg.NumHiddenLayers, cfg.IntermediateSize, cfg.NumAttentionHeads = c.hidden, c.layers, c.ffn, 4
			L := float64(c.seqLen)
			count := 0.0
			for _, p := range cfg.Params() {
				if strings.HasPrefix(p.Name, "encoder.layer.") && len(p.Shape) == 2 {
					count += 2 * L * float64(p.Shape[0]*p.Shape[1])
				}
			}
			count += float64(c.layers) * 2 * (2 * L * L * float64(c.hidden))
			got := cfg.MatmulFLOPs(c.seqLen)
			if got != count {
				t.Fatalf("MatmulFLOPs = %g, counting the weight shapes gives %g", got, count)
			}
			if c.want != 0 && got != c.want {
				t.Fatalf("MatmulFLOPs = %g, want %g", got, c.want)
			}
		})
	}
}
