package parity

import "os"

// Environment variables of the parity suite (scripts/parity.sh sets them).
const (
	// envModels names the folder of real sentence-transformers models written by
	// scripts/fetch_weights.sh (one sub-folder per model). Unset: every test here skips.
	envModels = "EMBEDTUNE_REAL_MODELS"
	// envFull=1 selects the full size (the numbers of docs/parity.md) instead of the CI size.
	envFull = "EMBEDTUNE_PARITY_FULL"
	// envOut overrides the output folder (default build/parity under the repository root).
	envOut = "EMBEDTUNE_PARITY_OUT"
)

// Real models (folder names under $EMBEDTUNE_REAL_MODELS).
const (
	miniLM   = "all-MiniLM-L6-v2"
	bgeSmall = "bge-small-en-v1.5"
)

// bgeQueryPrompt is the query instruction MTEB uses for BGE English v1.5 models.
const bgeQueryPrompt = "Represent this sentence for searching relevant passages: "

// size is how much work each check does.
type size struct {
	Name string `json:"name"`

	// Encode parity: SQuAD questions, distinct contexts, and texts longer than max_seq_length
	// (consecutive contexts of an article joined), per model.
	EncodeQuestions, EncodeContexts, EncodeLong int

	// Fine-tuning: the last FTHeldArticles SQuAD dev articles are held out (all their contexts form
	// the corpus, FTEvalQueries of their questions the queries); the others give the training pairs.
	FTHeldArticles, FTEvalQueries int
	FineTunes                     []fineTune

	// SciFact (BEIR test): SciQueries queries (0: all 300), their relevant documents and SciOthers
	// other documents spread over the corpus (0 with SciQueries 0: the whole corpus).
	SciQueries, SciOthers int

	// Benchmarks: passages encoded (each exactly BenchEncodeLen tokens, batch 32) and timed training
	// steps (batch 16, both columns exactly BenchTrainLen tokens) after one warm-up step.
	BenchPassages, BenchEncodeLen, BenchTrainLen, BenchTrainSteps int
}

// fineTune is one fine-tuning comparison.
type fineTune struct {
	Model string `json:"model"`
	// Variant names the run in tables and charts.
	Variant string `json:"variant"`
	Steps   int    `json:"steps"`
	// MaxSeq overrides max_seq_length on both sides (0: the model's).
	MaxSeq int `json:"max_seq_length"`
	// SameBatches gives Python the Go sampler's batches (otherwise each side uses its own
	// NO_DUPLICATES sampler, whose random permutations differ: Go's PCG vs torch's generator).
	SameBatches bool `json:"same_batches"`
	// NoDropout sets hidden/attention dropout to 0 in both (a copy of the model folder), which with
	// SameBatches makes the two runs deterministic and directly comparable step by step.
	NoDropout bool `json:"no_dropout"`
	// SavedFolderCheck loads the trained folder in Python afterwards (issue 7: "a folder saved by
	// our trainer loads in Python and gives our embeddings").
	SavedFolderCheck bool `json:"saved_folder_check"`
}

// ciSize keeps `scripts/parity.sh` to about 10 minutes on a busy 2-core machine (9 min measured
// with a load average of 4).
var ciSize = size{
	Name:            "ci",
	EncodeQuestions: 100, EncodeContexts: 20, EncodeLong: 4,
	FTHeldArticles: 1, FTEvalQueries: 64,
	FineTunes: []fineTune{
		{Model: miniLM, Variant: "same batches, no dropout", Steps: 6, MaxSeq: 128, SameBatches: true, NoDropout: true, SavedFolderCheck: true},
	},
	SciQueries: 30, SciOthers: 10,
	BenchPassages: 32, BenchEncodeLen: 256, BenchTrainLen: 128, BenchTrainSteps: 2,
}

// fullSize produces the numbers of docs/parity.md (hours on 2 cores: the pure-Go backend encodes the 5,183
// SciFact documents, up to 512 tokens each, with bge-small-en-v1.5).
var fullSize = size{
	Name:            "full",
	EncodeQuestions: 300, EncodeContexts: 150, EncodeLong: 30,
	FTHeldArticles: 4, FTEvalQueries: 400,
	FineTunes: []fineTune{
		{Model: miniLM, Variant: "same batches, no dropout", Steps: 20, MaxSeq: 128, SameBatches: true, NoDropout: true, SavedFolderCheck: true},
		{Model: miniLM, Variant: "own samplers, dropout 0.1", Steps: 60, MaxSeq: 128},
		{Model: bgeSmall, Variant: "same batches, no dropout", Steps: 12, MaxSeq: 128, SameBatches: true, NoDropout: true},
	},
	SciQueries: 0, SciOthers: 0,
	BenchPassages: 96, BenchEncodeLen: 256, BenchTrainLen: 128, BenchTrainSteps: 5,
}

// engineSize is the second engine's run in CI: scripts/test.sh runs the suite at ciSize on XLA CPU,
// then, on the pure-Go backend, the engine-dependent checks at this size (selected with
// $EMBEDTUNE_PARITY_SIZE=engine): the same thresholds, with a 3-step fine-tuning (per-step losses
// within 1e-5 of PyTorch's, the saved folder in Python).
var engineSize = func() size {
	s := ciSize
	s.Name = "engine"
	s.FineTunes = []fineTune{{Model: miniLM, Variant: "same batches, no dropout", Steps: 3, MaxSeq: 128, SameBatches: true, NoDropout: true, SavedFolderCheck: true}}
	return s
}()

// currentSize returns the size selected by $EMBEDTUNE_PARITY_FULL (full) or $EMBEDTUNE_PARITY_SIZE
// ("engine").
func currentSize() size {
	switch {
	case os.Getenv(envFull) == "1":
		return fullSize
	case os.Getenv("EMBEDTUNE_PARITY_SIZE") == "engine":
		return engineSize
	}
	return ciSize
}
