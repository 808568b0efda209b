package nb

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/embedtune/embedtune/kernel/display"
	"github.com/embedtune/embedtune/trainlib"
	"github.com/embedtune/embedtune/trainlib/backend"
	"github.com/embedtune/embedtune/trainlib/cache"
	"github.com/embedtune/embedtune/trainlib/hub"
	"github.com/embedtune/embedtune/trainlib/model"
)

// Model is a sentence-transformers model as notebook cells use it: SentenceTransformer(name) whose
// weights are read only when something needs them. Its Encode, EncodeQuery and EncodeDocument go
// through embedtune's embedding cache (model.CachedEncoder), keyed by the model's content: a cell that
// evaluates or compares models whose embeddings an earlier cell computed reads them back without
// loading the weights or running the model. Load returns the full model (for training).
//
// What the cache needs to know about the model — its Fingerprint and similarity function — is computed
// once per version of the model's files (their sizes, modification times and inodes) and remembered, so
// a model folder that changes (a new training run) is fingerprinted again.
type Model struct {
	// Name is what was asked for: a Hub id or a folder.
	Name string
	// Dir is the local folder the model is read from (the Hugging Face cache's snapshot for a Hub id).
	Dir string

	trained bool
	store   *cache.Store
	meta    modelMeta
	enc     *model.CachedEncoder

	mu     sync.Mutex
	loaded *trainlib.Model
}

// modelMeta is what is remembered about one version of a model's files.
type modelMeta struct {
	Fingerprint  string `json:"fingerprint"`
	SimilarityFn string `json:"similarity_fn_name"`
}

// resolveTTL is how long the folder a Hub id resolved to is reused without asking the Hub again.
const resolveTTL = time.Hour

// LoadModel is SentenceTransformer(nameOrDir) for notebooks: a Hub id (from the Hugging Face cache,
// downloaded once) or a sentence-transformers folder. It finds the files but reads no weights (see Model).
func LoadModel(nameOrDir string) (*Model, error) {
	store, err := cache.Default()
	if err != nil {
		return nil, err
	}
	dir, err := resolveModel(store, nameOrDir)
	if err != nil {
		return nil, fmt.Errorf("cannot load the model %q (set EMBEDTUNE_MODEL to a Hub id or a sentence-transformers folder): %w", nameOrDir, err)
	}
	return newModel(store, nameOrDir, dir, false)
}

// LoadTrainedModel is trainlib.LoadTrainedModel for notebooks: the model a training cell saved in
// outputDir, never the base model (without a finished run there, the error says what to do).
func LoadTrainedModel(outputDir string) (*Model, error) {
	if err := trainlib.CheckTrainedModel(outputDir); err != nil {
		return nil, fmt.Errorf("%w (the training cell of 01_finetune_embedder.ipynb saves the fine-tuned model in EMBEDTUNE_OUTPUT_DIR)", err)
	}
	store, err := cache.Default()
	if err != nil {
		return nil, err
	}
	return newModel(store, outputDir, outputDir, true)
}

func newModel(store *cache.Store, name, dir string, trained bool) (*Model, error) {
	m := &Model{Name: name, Dir: dir, trained: trained, store: store}
	stamp, err := filesStamp(store, dir)
	if err != nil {
		return nil, err
	}
	m.meta, err = cache.Memo(store, cache.NewKey("model-meta", []byte(stamp)), func() (modelMeta, error) {
		tm, err := m.Weights()
		if err != nil {
			return modelMeta{}, err
		}
		fp, err := tm.Fingerprint()
		return modelMeta{Fingerprint: fp, SimilarityFn: tm.SimilarityFn}, err
	})
	if err != nil {
		return nil, err
	}
	m.enc = model.NewLazyCachedEncoder(m.meta.Fingerprint, m.meta.SimilarityFn, m.Weights, store)
	return m, nil
}

// Weights loads the full model (once): the weights, the tokenizer and the modules.
func (m *Model) Weights() (*trainlib.Model, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.loaded != nil {
		return m.loaded, nil
	}
	var tm *trainlib.Model
	var err error
	if m.trained {
		tm, err = trainlib.LoadTrainedModel(m.Dir)
	} else {
		tm, err = trainlib.LoadModel(m.Dir)
		if err == nil {
			tm.Source = m.Name
		}
	}
	if err != nil {
		return nil, err
	}
	m.loaded = tm
	return tm, nil
}

// Load returns the full model, for the cells that need the weights (training); an error stops the
// cell (see Must).
func (m *Model) Load() *trainlib.Model { return Must(m.Weights()) }

// Fingerprint is the model's content fingerprint (model.SentenceTransformer.Fingerprint).
func (m *Model) Fingerprint() string { return m.meta.Fingerprint }

// SimilarityFnName returns similarity_fn_name.
func (m *Model) SimilarityFnName() string { return m.meta.SimilarityFn }

// Encode is SentenceTransformer.encode through the embedding cache.
func (m *Model) Encode(texts []string, opts *model.EncodeOptions) ([][]float32, error) {
	return m.enc.Encode(texts, opts)
}

// EncodeQuery is encode_query through the embedding cache.
func (m *Model) EncodeQuery(texts []string, opts *model.EncodeOptions) ([][]float32, error) {
	return m.enc.EncodeQuery(texts, opts)
}

// EncodeDocument is encode_document through the embedding cache.
func (m *Model) EncodeDocument(texts []string, opts *model.EncodeOptions) ([][]float32, error) {
	return m.enc.EncodeDocument(texts, opts)
}

// HTML shows the model's main facts and its modules, as print(model) does in Python (it loads the
// weights).
func (m *Model) HTML() string {
	tm, err := m.Weights()
	if err != nil {
		return display.NewSummary("Model "+m.Name).Add("Error", err.Error()).HTML()
	}
	from := m.Name
	if _, err := os.Stat(m.Name); err == nil {
		from = absPath(m.Name)
	}
	s := display.NewSummary("Model").
		Add("Loaded from", from).
		Add("Parameters", tm.Weights.NumParams()).
		Add("Embedding dimension", tm.Dim()).
		Add("Max sequence length", tm.MaxSeqLength).
		Add("Similarity", tm.SimilarityFn).
		Add("Backend", backend.Describe(tm.Backend()))
	return s.HTML() + tm.HTML()
}

// resolveModel returns the folder of a model: the folder itself, or the Hugging Face cache's snapshot
// of a Hub id, remembered for resolveTTL so that later cells do not ask the Hub again.
func resolveModel(store *cache.Store, nameOrDir string) (string, error) {
	if st, err := os.Stat(nameOrDir); err == nil && st.IsDir() {
		return nameOrDir, nil
	}
	env := hub.ResolveEnv(os.Getenv)
	k := cache.NewKey("resolve", []byte("model"), []byte(nameOrDir), []byte(env.CacheDir), []byte(env.Endpoint))
	type resolved struct {
		Dir string    `json:"dir"`
		At  time.Time `json:"at"`
	}
	if data, ok, _ := store.Get(k); ok {
		var r resolved
		if json.Unmarshal(data, &r) == nil && time.Since(r.At) < resolveTTL {
			if _, err := os.Stat(filepath.Join(r.Dir, "config.json")); err == nil {
				return r.Dir, nil
			}
		}
	}
	dir, err := model.ResolveDir(nameOrDir, model.WithLogger(nil))
	if err != nil {
		return "", err
	}
	data, _ := json.Marshal(resolved{Dir: dir, At: time.Now()})
	_ = store.Put(k, data) // only an optimization
	return dir, nil
}

// moduleDirRe names a sentence-transformers module folder (1_Pooling, 2_Dense, ...).
var moduleDirRe = regexp.MustCompile(`^\d+_`)

// filesStamp identifies one version of a model folder's files without reading them: the path, size,
// modification time and inode of every file the model is loaded from (top-level files and module
// folders, not training checkpoints), and, for a LoRA adapter folder, of its base model's.
func filesStamp(store *cache.Store, dir string) (string, error) {
	var b strings.Builder
	var walk func(d, rel string) error
	walk = func(d, rel string) error {
		entries, err := os.ReadDir(d)
		if err != nil {
			return err
		}
		sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
		for _, e := range entries {
			p := filepath.Join(d, e.Name())
			r := rel + e.Name()
			if e.IsDir() {
				if rel == "" && !moduleDirRe.MatchString(e.Name()) {
					continue // checkpoint-N, runs, ...
				}
				if err := walk(p, r+"/"); err != nil {
					return err
				}
				continue
			}
			st, err := os.Stat(p)
			if err != nil {
				return err
			}
			fmt.Fprintf(&b, "%s %d %d %d\n", r, st.Size(), st.ModTime().UnixNano(), inode(st))
		}
		return nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(&b, "%s\n", abs)
	if err := walk(dir, ""); err != nil {
		return "", fmt.Errorf("reading the model folder: %w", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "config.json")); os.IsNotExist(err) {
		var ac struct {
			Base string `json:"base_model_name_or_path"`
		}
		if data, err := os.ReadFile(filepath.Join(dir, "adapter_config.json")); err == nil && json.Unmarshal(data, &ac) == nil && ac.Base != "" {
			base, err := resolveModel(store, ac.Base)
			if err != nil {
				return "", fmt.Errorf("adapter %s: base model %s: %w", dir, ac.Base, err)
			}
			s, err := filesStamp(store, base)
			if err != nil {
				return "", err
			}
			b.WriteString("base:\n" + s)
		}
	}
	return b.String(), nil
}
