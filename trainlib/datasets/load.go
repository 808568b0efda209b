package datasets

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/embedtune/embedtune/trainlib/hub"
)

// Option configures Load.
type Option func(*loadConfig)

type loadConfig struct {
	split    string
	config   string
	revision string
	field    string
	columns  []string
	client   *hub.Client
	hubOpts  []hub.Option
}

// WithSplit chooses the split (default: "train" when there is one, else the only split).
func WithSplit(split string) Option { return func(c *loadConfig) { c.split = split } }

// WithConfig chooses the configuration of a dataset whose README.md declares several.
func WithConfig(name string) Option { return func(c *loadConfig) { c.config = name } }

// WithRevision sets the Hub branch, tag or commit (default "main").
func WithRevision(rev string) Option { return func(c *loadConfig) { c.revision = rev } }

// WithColumns loads only these columns, in this order (for Parquet, the others are not even read).
func WithColumns(cols ...string) Option { return func(c *loadConfig) { c.columns = cols } }

// WithField names the key of a JSON file's object that holds the rows (default "data").
func WithField(name string) Option { return func(c *loadConfig) { c.field = name } }

// WithHubClient sets the Hub client (default: hub.NewClient(hub.FromEnv())).
func WithHubClient(client *hub.Client) Option { return func(c *loadConfig) { c.client = client } }

// WithHubOptions adds options to the default Hub client (after hub.FromEnv()).
func WithHubOptions(opts ...hub.Option) Option {
	return func(c *loadConfig) { c.hubOpts = append(c.hubOpts, opts...) }
}

// Load reads a dataset split from a local file or folder, or from a Hugging Face Hub dataset
// repository:
//
//	ds, err := datasets.Load("dipanjanS/india_rag_wikidata", datasets.WithSplit("train"))
//	ds, err := datasets.Load("pairs.jsonl")
//	ds, err := datasets.Load("data/")               // a folder laid out like a Hub repository
//
// A source that exists on disk is local; otherwise "org/name" (or "hf://datasets/org/name") is a
// Hub dataset. Files are chosen the way Hugging Face datasets does (see the package
// documentation); Hub files are downloaded into the shared Hugging Face cache (HF_HUB_CACHE) and
// reused offline (HF_HUB_OFFLINE=1).
func Load(source string, opts ...Option) (*Dataset, error) {
	return LoadContext(context.Background(), source, opts...)
}

// LoadContext is Load with a context for the Hub requests.
func LoadContext(ctx context.Context, source string, opts ...Option) (*Dataset, error) {
	src, cfg, err := openSource(ctx, source, opts)
	if err != nil {
		return nil, err
	}
	split, err := src.files.chooseSplit(cfg.split, src.where)
	if err != nil {
		return nil, err
	}
	refs, err := src.fetch(ctx, split)
	if err != nil {
		return nil, err
	}
	return readFiles(refs, cfg, src.where, split)
}

// Splits lists the splits of a source, in order.
func Splits(ctx context.Context, source string, opts ...Option) ([]string, error) {
	src, _, err := openSource(ctx, source, opts)
	if err != nil {
		return nil, err
	}
	return append([]string(nil), src.files.splits...), nil
}

// source is a resolved dataset location.
type source struct {
	where string
	files *dataFiles
	// fetch returns the files of a split, in the order of files.files[split].
	fetch func(ctx context.Context, split string) ([]fileRef, error)
}

// fileRef is a data file on disk and the name error messages use for it.
type fileRef struct{ path, name string }

var hubIDRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$`)

// openSource applies the options and resolves a source name: a local file or folder, or a Hub dataset.
func openSource(ctx context.Context, name string, opts []Option) (*source, *loadConfig, error) {
	cfg := &loadConfig{}
	for _, o := range opts {
		o(cfg)
	}
	src, err := resolveSource(ctx, name, cfg)
	return src, cfg, err
}

// resolveSource resolves a source name: a local file or folder, or a Hub dataset.
func resolveSource(ctx context.Context, name string, cfg *loadConfig) (*source, error) {
	if name == "" {
		return nil, errors.New("datasets: empty source: give a file, a folder or a Hub dataset id")
	}
	if id, ok := strings.CutPrefix(name, "hf://datasets/"); ok {
		return openHub(ctx, strings.TrimSuffix(id, "/"), cfg)
	}
	st, err := os.Stat(name)
	switch {
	case err == nil && st.IsDir():
		return openFolder(name, cfg)
	case err == nil:
		return openFile(name)
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("datasets: %w", err)
	}
	if _, ferr := formatOf(name); ferr == nil || !hubIDRe.MatchString(name) || strings.HasPrefix(name, ".") {
		return nil, fmt.Errorf("datasets: %s: no such file or folder (and not a Hub dataset id like \"org/name\")", name)
	}
	return openHub(ctx, name, cfg)
}

func openFile(p string) (*source, error) {
	format, err := formatOf(p)
	if err != nil {
		return nil, err
	}
	if format == "jsonl" || format == "tsv" {
		format = map[string]string{"jsonl": "json", "tsv": "csv"}[format]
	}
	if format == "txt" {
		format = "text"
	}
	df := &dataFiles{config: "default", splits: []string{"train"}, files: map[string][]string{"train": {filepath.Base(p)}},
		format: format}
	return &source{where: p, files: df, fetch: func(context.Context, string) ([]fileRef, error) {
		return []fileRef{{p, p}}, nil
	}}, nil
}

func openFolder(dir string, cfg *loadConfig) (*source, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		files = append(files, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("datasets: listing %s: %w", dir, err)
	}
	readme, err := os.ReadFile(filepath.Join(dir, "README.md"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("datasets: %w", err)
	}
	df, err := selectDataFiles(files, readme, cfg.config, dir)
	if err != nil {
		return nil, fmt.Errorf("datasets: %w", err)
	}
	return &source{where: dir, files: df, fetch: func(_ context.Context, split string) ([]fileRef, error) {
		var out []fileRef
		for _, f := range df.files[split] {
			p := filepath.Join(dir, filepath.FromSlash(f))
			out = append(out, fileRef{p, p})
		}
		return out, nil
	}}, nil
}

func openHub(ctx context.Context, id string, cfg *loadConfig) (*source, error) {
	client := cfg.client
	if client == nil {
		var err error
		if client, err = hub.NewClient(append([]hub.Option{hub.FromEnv()}, cfg.hubOpts...)...); err != nil {
			return nil, fmt.Errorf("datasets: %w", err)
		}
	}
	rev := cfg.revision
	if rev == "" {
		rev = "main"
	}
	info, err := client.RepoInfo(ctx, hub.Dataset, id, rev)
	if err != nil {
		if errors.Is(err, hub.ErrRepoNotFound) {
			return nil, fmt.Errorf("datasets: %q is not a local file or folder, and as a Hub dataset id: %w", id, err)
		}
		return nil, fmt.Errorf("datasets: %w", err)
	}
	paths := make([]string, len(info.Files))
	for i, f := range info.Files {
		paths[i] = f.Path
	}
	var readme []byte
	if _, ok := info.File("README.md"); ok {
		got, err := client.DownloadFiles(ctx, info, func(f hub.FileInfo) bool { return f.Path == "README.md" })
		if err != nil {
			return nil, fmt.Errorf("datasets: %w", err)
		}
		if readme, err = os.ReadFile(got["README.md"]); err != nil {
			return nil, fmt.Errorf("datasets: %w", err)
		}
	}
	where := fmt.Sprintf("dataset %q", id)
	if rev != "main" {
		where += fmt.Sprintf(" (revision %q)", rev)
	}
	df, err := selectDataFiles(paths, readme, cfg.config, where)
	if err != nil {
		return nil, fmt.Errorf("datasets: %w", err)
	}
	return &source{where: where, files: df, fetch: func(ctx context.Context, split string) ([]fileRef, error) {
		want := map[string]bool{}
		for _, f := range df.files[split] {
			want[f] = true
		}
		got, err := client.DownloadFiles(ctx, info, func(f hub.FileInfo) bool { return want[f.Path] })
		if err != nil {
			return nil, fmt.Errorf("datasets: %w", err)
		}
		out := make([]fileRef, 0, len(df.files[split]))
		for _, f := range df.files[split] {
			out = append(out, fileRef{got[f], where + ": " + f})
		}
		return out, nil
	}}, nil
}

// chooseSplit returns the split asked for, or the default one: "train" when present, else the only
// split.
func (df *dataFiles) chooseSplit(split, where string) (string, error) {
	if split != "" {
		if _, ok := df.files[split]; ok {
			return split, nil
		}
		return "", fmt.Errorf("datasets: %s: unknown split %q; the splits are %s", where, split, quoteList(df.splits))
	}
	if _, ok := df.files["train"]; ok {
		return "train", nil
	}
	if len(df.splits) == 1 {
		return df.splits[0], nil
	}
	return "", fmt.Errorf("datasets: %s: no \"train\" split; choose one of %s with WithSplit (--split)", where, quoteList(df.splits))
}

// readFiles reads the files of a split and concatenates them.
func readFiles(refs []fileRef, cfg *loadConfig, where, split string) (*Dataset, error) {
	if len(refs) == 0 {
		return nil, fmt.Errorf("datasets: %s: split %q has no data files", where, split)
	}
	var parts []*Dataset
	var names []string
	for _, ref := range refs {
		d, err := readFile(ref.path, ref.name, cfg)
		if err != nil {
			return nil, fmt.Errorf("datasets: %w", err)
		}
		parts = append(parts, d)
		names = append(names, ref.name)
	}
	out := parts[0]
	if len(parts) > 1 {
		var err error
		if out, err = concatFiles(parts, names); err != nil {
			return nil, fmt.Errorf("datasets: %s: %w", where, err)
		}
	}
	return out, nil
}

// readFile reads one data file in the format of its extension, keeping cfg.columns (in that order)
// when set.
func readFile(p, name string, cfg *loadConfig) (*Dataset, error) {
	format, err := formatOf(p)
	if err != nil {
		return nil, err
	}
	var d *Dataset
	var all []string
	if format == "parquet" {
		if strings.HasSuffix(strings.ToLower(p), ".gz") {
			return nil, fmt.Errorf("%s: compressed Parquet files are not supported (Parquet compresses internally)", name)
		}
		d, all, err = readParquet(p, name, cfg.columns)
	} else {
		f, oerr := os.Open(p)
		if oerr != nil {
			return nil, oerr
		}
		defer f.Close()
		var r io.ReadSeeker = f
		if strings.HasSuffix(strings.ToLower(p), ".gz") {
			zr, zerr := gzip.NewReader(f)
			if zerr != nil {
				return nil, fmt.Errorf("%s: not a valid gzip file: %w", name, zerr)
			}
			b, rerr := io.ReadAll(zr)
			if rerr != nil {
				return nil, fmt.Errorf("%s: corrupt gzip data: %w", name, rerr)
			}
			r = bytes.NewReader(b)
		}
		switch format {
		case "jsonl":
			d, all, err = readJSONLines(r, name, cfg.columns)
		case "json":
			d, all, err = readJSON(r, name, cfg.field, cfg.columns)
		case "csv":
			d, all, err = readCSV(r, name, ',', cfg.columns)
		case "tsv":
			d, all, err = readCSV(r, name, '\t', cfg.columns)
		case "txt":
			d, all, err = readText(r, name)
		}
	}
	if err != nil {
		return nil, err
	}
	if len(cfg.columns) > 0 {
		for _, c := range cfg.columns {
			if !contains(all, c) {
				return nil, fmt.Errorf("%s: no column %q; the columns are %s", name, c, quoteList(all))
			}
		}
		if d, err = d.Select(cfg.columns...); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	return d, nil
}

// concatFiles joins the datasets of several files of one split; their columns must match.
func concatFiles(parts []*Dataset, names []string) (*Dataset, error) {
	first := parts[0].Columns()
	sorted := append([]string(nil), first...)
	slices.Sort(sorted)
	for i, p := range parts[1:] {
		other := p.Columns()
		slices.Sort(other)
		if strings.Join(other, "\x00") != strings.Join(sorted, "\x00") {
			return nil, fmt.Errorf("%s has columns %s but %s has %s; all files of a split must have the same columns",
				names[i+1], quoteList(p.Columns()), names[0], quoteList(first))
		}
	}
	return parts[0].Concat(parts[1:]...)
}
