package tokenizer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkEncodeSQuADContexts measures Encode on the SQuAD v1.1 dev contexts of the fixture (no
// truncation), reporting word-piece tokens per second. It uses the full all-MiniLM-L6-v2 tokenizer from
// ../shared/data when present, else the reduced copy in testdata.
func BenchmarkEncodeSQuADContexts(b *testing.B) {
	f := loadFixtures(b)
	var texts []string
	for _, c := range f.Cases {
		if strings.HasPrefix(c.Name, "squad_context_") {
			texts = append(texts, c.Text)
		}
	}
	dir := minilmDir
	if wd, err := os.Getwd(); err == nil {
		full := filepath.Join(wd, "..", "..", "..", "shared", "data", "models", "all-MiniLM-L6-v2-config")
		if _, err := os.Stat(filepath.Join(full, TokenizerJSONFile)); err == nil {
			dir = full
		}
	}
	for _, impl := range testImpls() {
		b.Run(impl.name, func(b *testing.B) {
			tk, err := impl.load(dir, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer tk.Close()
			tokens, bytes := 0, 0
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				text := texts[i%len(texts)]
				ids, err := tk.Encode(text, 0)
				if err != nil {
					b.Fatal(err)
				}
				tokens += len(ids)
				bytes += len(text)
			}
			b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tokens/s")
			b.SetBytes(int64(bytes / max(b.N, 1)))
		})
	}
}
