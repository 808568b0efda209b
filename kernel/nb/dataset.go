package nb

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/embedtune/embedtune/internal/repo"
	"github.com/embedtune/embedtune/kernel/display"
	"github.com/embedtune/embedtune/trainlib"
	"github.com/embedtune/embedtune/trainlib/cache"
	"github.com/embedtune/embedtune/trainlib/datasets"
	"github.com/embedtune/embedtune/trainlib/hub"
)

// LoadDataset is load_dataset(source, split=split) for notebooks: a Hub dataset id or a local file or
// folder (trainlib.LoadDataset). SQuAD's own JSON files (dev-v1.1.json, train-v2.0.json, ...) are read
// with datasets.ReadSQuAD: a row per question, with Hugging Face's squad columns (id, title, context,
// question, answers). A Hub dataset is kept in embedtune's cache once loaded (as Parquet), so later
// cells read it back without asking the Hub again for resolveTTL.
func LoadDataset(source, split string) (*trainlib.Dataset, error) {
	ds, err := loadDataset(source, split)
	if err != nil {
		return nil, fmt.Errorf("cannot load the dataset %q, split %q (set EMBEDTUNE_DATASET / EMBEDTUNE_DATASET_SPLIT): %w", source, split, err)
	}
	return ds, nil
}

// squadFileRe names SQuAD's own JSON files.
var squadFileRe = regexp.MustCompile(`^(train|dev)-v[12]\.[01]\.json$`)

func loadDataset(source, split string) (*trainlib.Dataset, error) {
	if _, err := os.Stat(source); err == nil {
		if squadFileRe.MatchString(filepath.Base(source)) {
			return datasets.ReadSQuAD(source)
		}
		return trainlib.LoadDataset(source, datasets.WithSplit(split))
	}
	store, err := cache.Default()
	if err != nil {
		return nil, err
	}
	env := hub.ResolveEnv(os.Getenv)
	k := cache.NewKey("datasets", []byte(source), []byte(split), []byte(env.CacheDir), []byte(env.Endpoint))
	if data, ok, _ := store.Get(k); ok && len(data) > 8 {
		at := time.Unix(0, int64(binary.LittleEndian.Uint64(data)))
		if time.Since(at) < resolveTTL {
			if ds, err := readParquet(data[8:]); err == nil {
				return ds, nil
			}
		}
	}
	ds, err := trainlib.LoadDataset(source, datasets.WithSplit(split))
	if err != nil {
		return nil, err
	}
	if data, err := parquetBytes(ds); err == nil {
		_ = store.Put(k, append(binary.LittleEndian.AppendUint64(nil, uint64(time.Now().UnixNano())), data...))
	}
	return ds, nil
}

// parquetBytes and readParquet round-trip a dataset through a temporary Parquet file.
func parquetBytes(ds *trainlib.Dataset) (data []byte, err error) {
	err = inTempFile("d.parquet", func(p string) error {
		if err := ds.Save(p); err != nil {
			return err
		}
		data, err = os.ReadFile(p)
		return err
	})
	return data, err
}

func readParquet(data []byte) (ds *trainlib.Dataset, err error) {
	err = inTempFile("d.parquet", func(p string) error {
		if err := os.WriteFile(p, data, 0o600); err != nil {
			return err
		}
		ds, err = trainlib.LoadDataset(p)
		return err
	})
	return ds, err
}

// inTempFile calls f with the path of a file named name in a temporary folder, removed afterwards.
func inTempFile(name string, f func(path string) error) error {
	dir, err := os.MkdirTemp("", "embedtune-nb-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	return f(filepath.Join(dir, name))
}

// squadPairs returns the offline dataset: question/passage pairs of SQuAD v1.1 dev (670 passages, the
// first two questions of each), written once into embedtune's cache folder (data/).
func squadPairs(getenv func(string) string) (string, error) {
	src, err := sharedSQuAD(getenv)
	if err != nil {
		return "", err
	}
	base, err := cache.BaseDir()
	if err != nil {
		return "", err
	}
	out := filepath.Join(base, "data", "squad-v1.1-dev-pairs-670x2.jsonl")
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	all, err := datasets.ReadSQuAD(src)
	if err != nil {
		return "", err
	}
	pairs, err := datasets.SQuADPairs(all, 670, 2)
	if err != nil {
		return "", err
	}
	return out, pairs.Save(out)
}

// sharedSQuAD returns the path of SQuAD v1.1 dev in the shared data folder: $EMBEDTUNE_SHARED_DATA, else
// shared/data beside the checkout the notebook runs in.
func sharedSQuAD(getenv func(string) string) (string, error) {
	shared := strings.TrimSpace(getenv("EMBEDTUNE_SHARED_DATA"))
	if shared == "" {
		root, ok := repo.FromWorkingDir()
		if !ok {
			return "", fmt.Errorf("set EMBEDTUNE_SHARED_DATA to the folder holding squad-v1.1/dev-v1.1.json")
		}
		shared = filepath.Join(filepath.Dir(root), "shared", "data")
	}
	src := filepath.Join(shared, "squad-v1.1", "dev-v1.1.json")
	if _, err := os.Stat(src); err != nil {
		return "", fmt.Errorf("SQuAD v1.1 dev is not at %s (set EMBEDTUNE_SHARED_DATA)", src)
	}
	return src, nil
}

// HeldOut is the tutorial's evaluation data: Size rows sampled with Seed become the held-out rows, the
// rows whose passage is not among theirs are the training rows (so no held-out question or passage is
// trained on), and IR asks each held-out question against every distinct passage of the dataset — the
// training passages compete as distractors, as they would in a real RAG index.
type HeldOut struct {
	Pairs, Eval, Train *trainlib.Dataset
	// IR holds the held-out questions (queries), every passage of Pairs (corpus) and, per question,
	// the passages that answer it (relevant documents).
	IR *datasets.IRData
}

// SplitHeldOut samples size rows of pairs (question, context columns) with seed, as the tutorial
// samples its 100 evaluation rows, and builds the HeldOut split.
func SplitHeldOut(pairs *trainlib.Dataset, size int, seed uint64) (*HeldOut, error) {
	eval, err := pairs.Sample(size, seed)
	if err != nil {
		return nil, fmt.Errorf("evaluation sample: %w", err)
	}
	contexts, err := eval.Column("context")
	if err != nil {
		return nil, err
	}
	held := map[string]bool{}
	for i := 0; i < eval.Len(); i++ {
		held[contexts.Str(i)] = true
	}
	train := pairs.Filter(func(r datasets.Row) bool {
		c, _ := r["context"].(string)
		return !held[c]
	})
	if train.Len() == 0 {
		return nil, fmt.Errorf("no training rows are left once the passages of the %d evaluation rows are set aside", size)
	}
	all, err := datasets.IRFromPairs(pairs, datasets.PairsOptions{})
	if err != nil {
		return nil, err
	}
	questions, err := eval.Column("question")
	if err != nil {
		return nil, err
	}
	asked := map[string]bool{}
	for i := 0; i < eval.Len(); i++ {
		asked[questions.Str(i)] = true
	}
	ir := &datasets.IRData{Queries: map[string]string{}, CorpusIDs: all.CorpusIDs, Corpus: all.Corpus,
		RelevantDocs: map[string]map[string]bool{}}
	for _, id := range all.QueryIDs {
		if asked[all.Queries[id]] {
			ir.QueryIDs = append(ir.QueryIDs, id)
			ir.Queries[id] = all.Queries[id]
			ir.RelevantDocs[id] = all.RelevantDocs[id]
		}
	}
	return &HeldOut{Pairs: pairs, Eval: eval, Train: train, IR: ir}, nil
}

// HTML summarizes the split and shows the first held-out questions with their passages' ids.
func (h *HeldOut) HTML() string {
	asked := map[string]bool{}
	for _, q := range h.IR.Queries {
		asked[q] = true
	}
	repeated := h.Train.Filter(func(r datasets.Row) bool { q, _ := r["question"].(string); return asked[q] }).Len()
	s := display.NewSummary(fmt.Sprintf("Held-out evaluation (%d rows)", h.Eval.Len())).
		Add("Queries (held-out questions)", len(h.IR.Queries)).
		Add("Corpus (every passage of the dataset)", len(h.IR.Corpus)).
		Add("Relevant (question, passage) pairs", h.IR.NumRelevant()).
		Add("Training rows (held-out passages left out)", fmt.Sprintf("%d of %d", h.Train.Len(), h.Pairs.Len())).
		Add("Held-out questions also asked in a training row (about another passage)", repeated)
	t := display.NewTable("First queries and their relevant passages", "Query", "Question", "Relevant")
	t.MaxCellRunes = 120
	for _, q := range h.IR.QueryIDs[:min(5, len(h.IR.QueryIDs))] {
		_ = t.AddRow(q, h.IR.Queries[q], strings.Join(h.IR.RelevantIDs(q), ", "))
	}
	return s.HTML() + t.HTML()
}
