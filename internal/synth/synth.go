// Package synth generates deterministic (question, context) pairs and tiny models for tests,
// so every test runs on a fresh clone without downloads: pseudo-word entities with attributes,
// a context paragraph per entity (each context used by several questions, like the tutorial data
// which repeats every context twice) and questions that mention the entity.
package synth

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/embedtune/embedtune/trainlib/model"
	"github.com/embedtune/embedtune/trainlib/tokenizer"
)

// Pair is one (question, context) example; Doc identifies the context.
type Pair struct {
	Question, Context string
	Doc               int
}

var syllables = []string{"ka", "lo", "mi", "ru", "ten", "sa", "vor", "el", "dan", "qui", "ba", "zor", "fi", "nel", "tra", "pu", "ost", "gha", "wen", "cro"}

func word(r *rand.Rand, parts int) string {
	var b strings.Builder
	for i := 0; i < parts; i++ {
		b.WriteString(syllables[r.IntN(len(syllables))])
	}
	s := b.String()
	return strings.ToUpper(s[:1]) + s[1:]
}

// Pairs returns questionsPerDoc questions for each of docs entities, seeded.
func Pairs(docs, questionsPerDoc int, seed uint64) []Pair {
	r := rand.New(rand.NewPCG(seed, 17))
	type entity struct {
		name, capital, river, founder, lang string
		year                                int
	}
	ents := make([]entity, docs)
	for i := range ents {
		ents[i] = entity{word(r, 3), word(r, 2), word(r, 2), word(r, 2) + " " + word(r, 3), word(r, 2) + "ic", 1000 + r.IntN(1000)}
	}
	questions := []func(e entity) string{
		func(e entity) string { return fmt.Sprintf("What is the capital of %s?", e.name) },
		func(e entity) string { return fmt.Sprintf("Which river flows through %s?", e.name) },
		func(e entity) string { return fmt.Sprintf("Who founded %s?", e.name) },
		func(e entity) string { return fmt.Sprintf("When was %s founded?", e.name) },
		func(e entity) string { return fmt.Sprintf("What language do people speak in %s?", e.name) },
	}
	var out []Pair
	for i, e := range ents {
		ctx := fmt.Sprintf("%s is a country whose capital is %s, on the banks of the %s river. It was founded by %s in %d, and its people speak %s.",
			e.name, e.capital, e.river, e.founder, e.year, e.lang)
		perm := r.Perm(len(questions))
		for q := 0; q < questionsPerDoc; q++ {
			out = append(out, Pair{Question: questions[perm[q%len(questions)]](e), Context: ctx, Doc: i})
		}
	}
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// Texts returns all questions and contexts of pairs (a tokenizer training corpus).
func Texts(pairs []Pair) []string {
	var out []string
	for _, p := range pairs {
		out = append(out, p.Question, p.Context)
	}
	return out
}

// Tokenizer trains a small WordPiece tokenizer on the synthetic corpus and saves it in dir.
func Tokenizer(dir string, vocabSize int) error {
	v, err := tokenizer.TrainWordPiece(Texts(Pairs(200, 5, 1)), vocabSize, nil)
	if err != nil {
		return err
	}
	return v.Save(dir)
}

// TinyModel builds a small random BERT (hidden 32, 2 layers) on a synthetic tokenizer saved in
// tokDir (created if missing).
func TinyModel(tokDir string, pooling string, seed uint64, opts ...model.Option) (*model.SentenceTransformer, error) {
	if err := Tokenizer(tokDir, 600); err != nil {
		return nil, err
	}
	return model.New(model.InitConfig{HiddenSize: 32, NumLayers: 2, NumHeads: 4, IntermediateSize: 64,
		MaxPositionEmbeddings: 128, MaxSeqLength: 64, Pooling: []string{pooling}, Normalize: pooling == "cls",
		TokenizerDir: tokDir, Seed: seed}, opts...)
}
