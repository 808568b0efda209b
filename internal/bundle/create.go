package bundle

import (
	"archive/tar"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/embedtune/embedtune/charts"
	"github.com/embedtune/embedtune/internal/atomicio"
	"github.com/embedtune/embedtune/trainlib/hub"
	"github.com/embedtune/embedtune/trainlib/model"
	"github.com/klauspost/compress/zstd"
)

// Options say what Create packs.
type Options struct {
	// Model is a Hub model id (taken from the Hugging Face cache, downloaded if missing and the Hub is
	// reachable) or a sentence-transformers folder. ModelID names a folder's repository in the bundle
	// (default: the upstream id recorded by scripts/fetch_weights.sh, else "local/<folder name>").
	Model, ModelID string
	// Dataset is a Hub dataset id, a data file or a folder; DatasetID names a local one (default
	// "local/<file or folder name without extension>").
	Dataset, DatasetID string
	// Notebooks are .ipynb files to include.
	Notebooks []string
	// Out is the bundle file to write (.tar.zst).
	Out string
	// WithoutAssets leaves the chart library out (by default it is packed, so charts draw offline).
	WithoutAssets bool
	// Version is recorded in the manifest (the embedtune build).
	Version string
	// Log receives progress lines (nil: none).
	Log io.Writer
}

// source is one file to pack.
type source struct {
	member, local string
	file          File
}

// Create writes the bundle and returns its manifest.
func Create(ctx context.Context, o Options) (*Manifest, error) {
	if o.Out == "" {
		return nil, fmt.Errorf("no output file (--out workshop.tar.zst)")
	}
	logf := func(format string, a ...any) {
		if o.Log != nil {
			fmt.Fprintf(o.Log, "bundle: "+format+"\n", a...)
		}
	}
	m := &Manifest{Format: FormatVersion, Created: time.Now().UTC().Format(time.RFC3339), Embedtune: o.Version}
	var srcs []source
	if o.Model != "" {
		r, files, err := modelRepo(ctx, o.Model, o.ModelID)
		if err != nil {
			return nil, err
		}
		m.Model = r
		srcs = append(srcs, repoSources(r, files)...)
		logf("model %s (%s, %d files)", r.ID, o.Model, len(r.Files))
	}
	if o.Dataset != "" {
		r, files, err := datasetRepo(ctx, o.Dataset, o.DatasetID)
		if err != nil {
			return nil, err
		}
		m.Dataset = r
		srcs = append(srcs, repoSources(r, files)...)
		logf("dataset %s (%s, %d files)", r.ID, o.Dataset, len(r.Files))
	}
	for _, nb := range o.Notebooks {
		f, err := describeFile(nb, filepath.Base(nb))
		if err != nil {
			return nil, err
		}
		if filepath.Ext(nb) != ".ipynb" {
			return nil, fmt.Errorf("notebook %s: expected a .ipynb file", nb)
		}
		m.Notebooks = append(m.Notebooks, f)
		srcs = append(srcs, source{member: "notebooks/" + f.Path, local: nb, file: f})
	}
	var assetFiles []string
	if !o.WithoutAssets {
		lib, err := charts.FindLibrary()
		if err != nil {
			return nil, fmt.Errorf("the chart library goes into the bundle (or pass --no-assets): %w", err)
		}
		d := filepath.Dir(lib.Path)
		assetFiles = []string{filepath.Join(d, filepath.Base(lib.Path)), filepath.Join(d, "echarts-LICENSE.txt"), filepath.Join(d, "echarts-NOTICE.txt")}
	}
	for _, p := range assetFiles {
		name := filepath.Base(p)
		if _, err := os.Stat(p); err != nil {
			continue // licence files: present when installed by kernel/install.sh or embedtune assets install
		}
		f, err := describeFile(p, "embedtune/"+name)
		if err != nil {
			return nil, err
		}
		m.Assets = append(m.Assets, f)
		srcs = append(srcs, source{member: "assets/" + f.Path, local: p, file: f})
	}
	if _, _, err := m.members(0); err != nil {
		return nil, err
	}
	manifest, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	err = atomicio.WriteStream(o.Out, 0o644, func(w io.Writer) error {
		zw, err := zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.SpeedDefault))
		if err != nil {
			return err
		}
		tw := tar.NewWriter(zw)
		if err := writeMember(tw, ManifestName, int64(len(manifest)), strings.NewReader(string(manifest))); err != nil {
			return err
		}
		for _, s := range srcs {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := copyMember(tw, s); err != nil {
				return err
			}
		}
		if err := tw.Close(); err != nil {
			return err
		}
		return zw.Close()
	})
	if err != nil {
		return nil, fmt.Errorf("writing %s: %w", o.Out, err)
	}
	return m, nil
}

func writeMember(tw *tar.Writer, name string, size int64, r io.Reader) error {
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: size, Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
		return err
	}
	n, err := io.Copy(tw, r)
	if err == nil && n != size {
		err = fmt.Errorf("%s changed while it was packed (%d bytes, expected %d)", name, n, size)
	}
	return err
}

// copyMember packs a file, checking it is still the file the manifest describes.
func copyMember(tw *tar.Writer, s source) error {
	f, err := os.Open(s.local)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	if err := writeMember(tw, s.member, s.file.Size, io.TeeReader(f, h)); err != nil {
		return fmt.Errorf("%s: %w", s.local, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != s.file.SHA256 {
		return fmt.Errorf("%s changed while it was packed", s.local)
	}
	return nil
}

func repoSources(r *Repo, local map[string]string) []source {
	var out []source
	for _, f := range r.Files {
		out = append(out, source{member: r.member(f), local: local[f.Path], file: f})
	}
	return out
}

// describeFile hashes a local file (following symlinks, as the Hugging Face cache's snapshot entries are).
func describeFile(local, rel string) (File, error) {
	f, err := os.Open(local)
	if err != nil {
		return File{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return File{}, err
	}
	if !st.Mode().IsRegular() {
		return File{}, fmt.Errorf("%s is not a regular file", local)
	}
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return File{}, fmt.Errorf("reading %s: %w", local, err)
	}
	return File{Path: rel, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// skipDirRe names folders of a model or dataset folder that are not part of it: training checkpoints,
// logs, caches and hidden folders.
var skipDirRe = regexp.MustCompile(`^(checkpoint-\d+|runs|eval|__pycache__|\..*)$`)

// folderFiles lists the files of a local folder (repository path → local path).
func folderFiles(dir string) (map[string]string, error) {
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != dir && skipDirRe.MatchString(d.Name()) {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		out[filepath.ToSlash(rel)] = p
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s holds no files", dir)
	}
	return out, nil
}

// describeRepo hashes the files and, for a local folder (commit ""), derives a commit from them.
func describeRepo(t hub.RepoType, id, commit, src string, files map[string]string) (*Repo, error) {
	r := &Repo{Type: t, ID: id, Commit: commit, Source: src}
	for _, rel := range slices.Sorted(maps.Keys(files)) {
		f, err := describeFile(files[rel], rel)
		if err != nil {
			return nil, err
		}
		r.Files = append(r.Files, f)
	}
	if r.Commit == "" {
		h := sha1.New()
		for _, f := range r.Files {
			fmt.Fprintf(h, "%s %d %s\n", f.Path, f.Size, f.SHA256)
		}
		r.Commit = hex.EncodeToString(h.Sum(nil))
	}
	return r, nil
}

// modelRepo resolves the model: a folder, or a Hub id's snapshot (its commit is the snapshot's).
func modelRepo(ctx context.Context, nameOrDir, id string) (*Repo, map[string]string, error) {
	if st, err := os.Stat(nameOrDir); err == nil && st.IsDir() {
		if _, err := os.Stat(filepath.Join(nameOrDir, "adapter_config.json")); err == nil {
			if _, err := os.Stat(filepath.Join(nameOrDir, "config.json")); err != nil {
				return nil, nil, fmt.Errorf("%s is a LoRA adapter folder: bundle a standalone model (merge the adapter with MergeAdapter and save it) or its base model", nameOrDir)
			}
		}
		files, err := folderFiles(nameOrDir)
		if err != nil {
			return nil, nil, err
		}
		if id == "" {
			id = upstreamID(nameOrDir)
		}
		r, err := describeRepo(hub.Model, id, "", nameOrDir, files)
		return r, files, err
	}
	dir, err := model.ResolveDir(nameOrDir, model.WithLogger(nil))
	if err != nil {
		return nil, nil, err
	}
	files, err := folderFiles(dir)
	if err != nil {
		return nil, nil, err
	}
	if id == "" {
		id = nameOrDir
	}
	r, err := describeRepo(hub.Model, id, filepath.Base(dir), nameOrDir, files)
	return r, files, err
}

// upstreamID is the Hub id scripts/fetch_weights.sh records for a fetched model, else "local/<name>".
func upstreamID(dir string) string {
	var prov struct {
		Upstream string `json:"upstream"`
	}
	if b, err := os.ReadFile(filepath.Join(dir, "embedtune_provenance.json")); err == nil && json.Unmarshal(b, &prov) == nil &&
		strings.Count(prov.Upstream, "/") == 1 {
		return prov.Upstream
	}
	return "local/" + filepath.Base(filepath.Clean(dir))
}

// datasetRepo resolves the dataset: a file, a folder, or a Hub id's snapshot.
func datasetRepo(ctx context.Context, src, id string) (*Repo, map[string]string, error) {
	if st, err := os.Stat(src); err == nil {
		if id == "" {
			base := filepath.Base(filepath.Clean(src))
			id = "local/" + strings.TrimSuffix(base, filepath.Ext(base))
		}
		files := map[string]string{filepath.Base(src): src}
		if st.IsDir() {
			if files, err = folderFiles(src); err != nil {
				return nil, nil, err
			}
		}
		r, err := describeRepo(hub.Dataset, id, "", src, files)
		return r, files, err
	}
	c, err := hub.NewClient(hub.FromEnv())
	if err != nil {
		return nil, nil, err
	}
	dir, err := c.Snapshot(ctx, hub.Dataset, src, "main", nil)
	if err != nil {
		return nil, nil, fmt.Errorf("dataset %q is not a local file or folder; from the Hub: %w", src, err)
	}
	files, err := folderFiles(dir)
	if err != nil {
		return nil, nil, err
	}
	if id == "" {
		id = src
	}
	r, err := describeRepo(hub.Dataset, id, filepath.Base(dir), src, files)
	return r, files, err
}
