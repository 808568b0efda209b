package bundle

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/embedtune/embedtune/charts"
	"github.com/embedtune/embedtune/internal/repo"
	"github.com/embedtune/embedtune/internal/synth"
	"github.com/embedtune/embedtune/trainlib/datasets"
	"github.com/embedtune/embedtune/trainlib/hub"
	"github.com/embedtune/embedtune/trainlib/model"
	"github.com/klauspost/compress/zstd"
)

// fixtures writes a tiny model folder, a JSON Lines dataset and a notebook.
func fixtures(t *testing.T) (modelDir, dataFile, notebook string) {
	t.Helper()
	dir := t.TempDir()
	m, err := synth.TinyModel(filepath.Join(dir, "tok"), "mean", 3, model.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	modelDir = filepath.Join(dir, "tiny-bert")
	if err := m.Save(modelDir); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(modelDir, "checkpoint-20"), 0o755) // a training leftover: not packed
	os.WriteFile(filepath.Join(modelDir, "checkpoint-20", "optimizer.safetensors"), []byte("x"), 0o644)
	dataFile = filepath.Join(dir, "pairs.jsonl")
	var b strings.Builder
	for _, p := range synth.Pairs(10, 2, 1) {
		line, _ := json.Marshal(map[string]string{"question": p.Question, "context": p.Context})
		b.Write(append(line, '\n'))
	}
	os.WriteFile(dataFile, []byte(b.String()), 0o644)
	notebook = filepath.Join(dir, "01_tutorial.ipynb")
	os.WriteFile(notebook, []byte(`{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}`), 0o644)
	return
}

// withAssets points the chart library lookup at the repository's installed copy, or leaves the assets
// out when it is not installed.
func withAssets(t *testing.T) bool {
	t.Helper()
	root, ok := repo.FromWorkingDir()
	if !ok {
		return false
	}
	dir := filepath.Join(root, "kernel", "assets")
	if _, err := charts.LoadLibrary(filepath.Join(dir, filepath.FromSlash(charts.LibraryRelPath))); err != nil {
		return false
	}
	t.Setenv(charts.AssetsDirEnv, dir)
	return true
}

// TestRoundTrip bundles a model folder, a dataset file and a notebook, installs the bundle into an empty
// Hugging Face cache, and loads model and dataset by their ids with the Hub off.
func TestRoundTrip(t *testing.T) {
	modelDir, dataFile, notebook := fixtures(t)
	assets := withAssets(t)
	out := filepath.Join(t.TempDir(), "workshop.tar.zst")
	var log bytes.Buffer
	m, err := Create(context.Background(), Options{Model: modelDir, ModelID: "workshop/tiny-bert", Dataset: dataFile,
		Notebooks: []string{notebook}, Out: out, WithoutAssets: !assets, Version: "test", Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	if m.Model.ID != "workshop/tiny-bert" || m.Dataset.ID != "local/pairs" || !hub.IsCommitHash(m.Model.Commit) {
		t.Fatalf("manifest %+v %+v", m.Model, m.Dataset)
	}
	for _, f := range m.Model.Files {
		if strings.HasPrefix(f.Path, "checkpoint-") {
			t.Errorf("training checkpoint packed: %s", f.Path)
		}
	}

	cache, assetsDir, nbDir := t.TempDir(), t.TempDir(), filepath.Join(t.TempDir(), "notebooks")
	got, err := Install(context.Background(), out, InstallOptions{HubCacheDir: cache, AssetsDir: assetsDir, NotebooksDir: nbDir})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Notebooks) != 1 || filepath.Base(got.Notebooks[0]) != "01_tutorial.ipynb" {
		t.Errorf("notebooks %v", got.Notebooks)
	}
	if assets {
		if _, err := charts.LoadLibrary(filepath.Join(assetsDir, filepath.FromSlash(charts.LibraryRelPath))); err != nil {
			t.Errorf("installed chart library: %v", err)
		}
	}

	t.Setenv("HF_HUB_CACHE", cache)
	t.Setenv("HF_HUB_OFFLINE", "1")
	loaded, err := model.Load("workshop/tiny-bert", model.WithLogger(nil))
	if err != nil {
		t.Fatalf("loading the installed model offline: %v", err)
	}
	orig, _ := model.Load(modelDir, model.WithLogger(nil))
	a, _ := loaded.Fingerprint()
	b, _ := orig.Fingerprint()
	if a != b {
		t.Error("the installed model differs from the bundled one")
	}
	ds, err := datasets.Load("local/pairs", datasets.WithSplit("train"))
	if err != nil {
		t.Fatalf("loading the installed dataset offline: %v", err)
	}
	if ds.Len() != 20 {
		t.Errorf("dataset has %d rows, want 20", ds.Len())
	}

	// Installing again changes nothing; a notebook edited since is kept, the bundle's copy goes beside it.
	os.WriteFile(got.Notebooks[0], []byte(`{"edited": true}`), 0o644)
	again, err := Install(context.Background(), out, InstallOptions{HubCacheDir: cache, AssetsDir: assetsDir, NotebooksDir: nbDir})
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(again.Notebooks[0]) != "01_tutorial.bundle.ipynb" {
		t.Errorf("re-install wrote %v", again.Notebooks)
	}
	if b, _ := os.ReadFile(got.Notebooks[0]); string(b) != `{"edited": true}` {
		t.Error("re-install overwrote an edited notebook")
	}
}

// member is one entry of a hand-made archive.
type member struct {
	name string
	body string
	typ  byte
	size int64 // declared size; -1: len(body)
}

func writeArchive(t *testing.T, members []member) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "b.tar.zst")
	f, _ := os.Create(p)
	zw, _ := zstd.NewWriter(f)
	tw := tar.NewWriter(zw)
	for _, m := range members {
		typ := m.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		size := int64(len(m.body))
		h := &tar.Header{Name: m.name, Mode: 0o644, Size: size, Typeflag: typ}
		if typ == tar.TypeSymlink {
			h.Size, h.Linkname = 0, m.body
		}
		tw.WriteHeader(h)
		if typ == tar.TypeReg {
			io.WriteString(tw, m.body)
		}
	}
	tw.Close()
	zw.Close()
	f.Close()
	return p
}

func sum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func manifestOf(t *testing.T, m Manifest) string {
	t.Helper()
	m.Format = FormatVersion
	b, _ := json.Marshal(m)
	return string(b)
}

// TestInstallRefusesBadArchives: escapes, links, undeclared or altered members and oversized
// declarations are refused, and nothing is placed.
func TestInstallRefusesBadArchives(t *testing.T) {
	commit := strings.Repeat("a", 40)
	repoOf := func(files ...File) *Repo {
		return &Repo{Type: hub.Model, ID: "org/m", Commit: commit, Files: files}
	}
	good := File{Path: "config.json", Size: 2, SHA256: sum("{}")}
	goodMember := "hub/models--org--m/snapshots/" + commit + "/config.json"
	cases := map[string]struct {
		members []member
		want    string
		max     int64
	}{
		"not a bundle":   {[]member{{name: "README", body: "hi"}}, "expected " + ManifestName, 0},
		"escaping path":  {[]member{{name: ManifestName, body: manifestOf(t, Manifest{Notebooks: []File{{Path: "../x.ipynb", Size: 1, SHA256: sum("x")}}})}}, "must be a .ipynb file name", 0},
		"escaping asset": {[]member{{name: ManifestName, body: manifestOf(t, Manifest{Assets: []File{{Path: "../../etc/passwd", Size: 1, SHA256: sum("x")}}})}}, "unsafe path", 0},
		"escaping repo file": {[]member{{name: ManifestName, body: manifestOf(t, Manifest{Model: repoOf(File{Path: "../../x", Size: 1, SHA256: sum("x")})})}},
			"", 0},
		"undeclared member": {[]member{{name: ManifestName, body: manifestOf(t, Manifest{Model: repoOf(good)})}, {name: "notebooks/evil.ipynb", body: "x"}},
			"not in the manifest", 0},
		"symlink": {[]member{{name: ManifestName, body: manifestOf(t, Manifest{Model: repoOf(good)})}, {name: goodMember, body: "/etc/passwd", typ: tar.TypeSymlink}},
			"not a regular file", 0},
		"altered content": {[]member{{name: ManifestName, body: manifestOf(t, Manifest{Model: repoOf(good)})}, {name: goodMember, body: "[]"}},
			"damaged or altered", 0},
		"wrong size": {[]member{{name: ManifestName, body: manifestOf(t, Manifest{Model: repoOf(good)})}, {name: goodMember, body: "{ }"}},
			"the manifest says 2", 0},
		"missing member": {[]member{{name: ManifestName, body: manifestOf(t, Manifest{Model: repoOf(good)})}},
			"is missing", 0},
		"too big": {[]member{{name: ManifestName, body: manifestOf(t, Manifest{Model: repoOf(File{Path: "w.safetensors", Size: 1 << 40, SHA256: sum("")})})}},
			"declares more than", 1 << 30},
		"bad commit": {[]member{{name: ManifestName, body: manifestOf(t, Manifest{Model: &Repo{Type: hub.Model, ID: "org/m", Commit: "../../x", Files: []File{good}}})}},
			"bad repository", 0},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			cache := t.TempDir()
			nb := filepath.Join(t.TempDir(), "nb")
			_, err := Install(context.Background(), writeArchive(t, c.members), InstallOptions{HubCacheDir: cache, AssetsDir: t.TempDir(),
				NotebooksDir: nb, MaxBytes: c.max})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Install = %v, want an error containing %q", err, c.want)
			}
			entries, _ := os.ReadDir(cache)
			if len(entries) != 0 {
				t.Errorf("the refused bundle left %v in the cache", entries)
			}
			if _, err := os.Stat(nb); err == nil {
				t.Error("the refused bundle created the notebooks folder")
			}
		})
	}
}

func TestInstallTruncatedFile(t *testing.T) {
	modelDir, dataFile, _ := fixtures(t)
	out := filepath.Join(t.TempDir(), "w.tar.zst")
	if _, err := Create(context.Background(), Options{Model: modelDir, Dataset: dataFile, Out: out, WithoutAssets: true}); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(out)
	os.WriteFile(out, data[:len(data)/2], 0o644)
	cache := t.TempDir()
	if _, err := Install(context.Background(), out, InstallOptions{HubCacheDir: cache, AssetsDir: t.TempDir(), NotebooksDir: t.TempDir()}); err == nil {
		t.Fatal("a truncated bundle was installed")
	}
	if entries, _ := os.ReadDir(cache); len(entries) != 0 {
		t.Errorf("the truncated bundle left %v", entries)
	}
}
