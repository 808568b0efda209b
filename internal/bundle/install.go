package bundle

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/embedtune/embedtune/charts"
	"github.com/embedtune/embedtune/internal/atomicio"
	"github.com/embedtune/embedtune/trainlib/hub"
	"github.com/klauspost/compress/zstd"
)

// DefaultMaxBytes bounds the total size a bundle may declare (Install refuses larger ones).
const DefaultMaxBytes int64 = 64 << 30

// maxManifest bounds the manifest member.
const maxManifest = 16 << 20

// InstallOptions say where Install puts things.
type InstallOptions struct {
	// HubCacheDir is the Hugging Face cache (default: HF_HUB_CACHE / HF_HOME/hub, as Python resolves it).
	HubCacheDir string
	// AssetsDir receives the chart library (default charts.DefaultAssetsDir: where charts find it from
	// any folder).
	AssetsDir string
	// NotebooksDir receives the notebooks (default "embedtune-workshop" in the current folder). A
	// notebook already there with other content is kept, and the bundle's copy is written beside it
	// as NAME.bundle.ipynb.
	NotebooksDir string
	// MaxBytes bounds the declared total size (default DefaultMaxBytes).
	MaxBytes int64
}

// Installed reports what Install placed where.
type Installed struct {
	Manifest     *Manifest
	HubCacheDir  string
	AssetsDir    string
	NotebooksDir string
	// Notebooks are the written notebook files.
	Notebooks []string
}

// Install unpacks the bundle file into the local caches (see the package documentation for what it
// checks). Nothing is placed in the Hugging Face cache, the assets folder or the notebooks folder
// before every member has been verified.
func Install(ctx context.Context, file string, o InstallOptions) (*Installed, error) {
	if o.HubCacheDir == "" {
		o.HubCacheDir = hub.ResolveEnv(os.Getenv).CacheDir
	}
	if o.AssetsDir == "" {
		d, err := charts.DefaultAssetsDir()
		if err != nil {
			return nil, err
		}
		o.AssetsDir = d
	}
	if o.NotebooksDir == "" {
		o.NotebooksDir = "embedtune-workshop"
	}
	if o.MaxBytes == 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := zstd.NewReader(f, zstd.WithDecoderMaxMemory(256<<20), zstd.WithDecoderConcurrency(1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%s is not a valid embedtune bundle: %s", file, fmt.Sprintf(format, a...))
	}

	h, err := tr.Next()
	if err != nil {
		return nil, bad("%v (is it a .tar.zst written by embedtune bundle?)", err)
	}
	if h.Name != ManifestName || h.Typeflag != tar.TypeReg || h.Size > maxManifest {
		return nil, bad("its first member is %q, expected %s", h.Name, ManifestName)
	}
	raw, err := io.ReadAll(io.LimitReader(tr, maxManifest))
	if err != nil {
		return nil, bad("%v", err)
	}
	m, err := decodeManifest(raw)
	if err != nil {
		return nil, bad("%v", err)
	}
	want, _, err := m.members(o.MaxBytes)
	if err != nil {
		return nil, bad("%v", err)
	}

	// Stage every member next to its destination (same filesystem: moves, not copies), verified.
	if err := os.MkdirAll(o.HubCacheDir, 0o755); err != nil {
		return nil, err
	}
	stage, err := os.MkdirTemp(o.HubCacheDir, ".embedtune-bundle-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(stage)
	staged := map[string]string{}
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, bad("%v", err)
		}
		if h.Typeflag == tar.TypeDir {
			continue
		}
		spec, ok := want[h.Name]
		switch {
		case !ok:
			return nil, bad("member %q is not in the manifest", h.Name)
		case h.Typeflag != tar.TypeReg:
			return nil, bad("member %q is not a regular file (links and devices are refused)", h.Name)
		case staged[h.Name] != "":
			return nil, bad("member %q appears twice", h.Name)
		case h.Size != spec.Size:
			return nil, bad("member %q is %d bytes, the manifest says %d", h.Name, h.Size, spec.Size)
		}
		p := filepath.Join(stage, fmt.Sprintf("%06d", len(staged)))
		if err := extract(tr, p, spec); err != nil {
			return nil, bad("member %q: %v", h.Name, err)
		}
		staged[h.Name] = p
	}
	for name := range want {
		if staged[name] == "" {
			return nil, bad("member %q of the manifest is missing (truncated file?)", name)
		}
	}

	out := &Installed{Manifest: m, HubCacheDir: o.HubCacheDir, AssetsDir: o.AssetsDir, NotebooksDir: o.NotebooksDir}
	c, err := hub.NewClient(hub.WithCacheDir(o.HubCacheDir), hub.WithOffline(true))
	if err != nil {
		return nil, err
	}
	for _, r := range []*Repo{m.Model, m.Dataset} {
		if r == nil {
			continue
		}
		var files []hub.LocalFile
		for _, f := range r.Files {
			files = append(files, hub.LocalFile{RepoPath: f.Path, LocalPath: staged[r.member(f)]})
		}
		if err := c.Import(r.Type, r.ID, r.Commit, "main", files); err != nil {
			return nil, fmt.Errorf("installing %s %s: %w", r.Type, r.ID, err)
		}
	}
	for _, f := range m.Assets {
		if err := place(staged["assets/"+f.Path], filepath.Join(o.AssetsDir, filepath.FromSlash(f.Path))); err != nil {
			return nil, err
		}
	}
	for _, f := range m.Notebooks {
		dst := filepath.Join(o.NotebooksDir, f.Path)
		if same, err := sameContent(dst, f.SHA256); err == nil && !same {
			dst = strings.TrimSuffix(dst, ".ipynb") + ".bundle.ipynb"
		}
		if err := place(staged["notebooks/"+f.Path], dst); err != nil {
			return nil, err
		}
		out.Notebooks = append(out.Notebooks, dst)
	}
	return out, nil
}

// extract writes one member to p, checking its size and SHA-256.
func extract(r io.Reader, p string, spec File) error {
	f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(r, spec.Size+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if n != spec.Size {
		return fmt.Errorf("%d bytes, expected %d", n, spec.Size)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != spec.SHA256 {
		return fmt.Errorf("SHA-256 %s, the manifest says %s (damaged or altered)", got, spec.SHA256)
	}
	return nil
}

// place moves a verified staged file to dst atomically (copying across filesystems).
func place(staged, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if err := os.Rename(staged, dst); err == nil {
		return nil
	}
	data, err := os.ReadFile(staged)
	if err != nil {
		return err
	}
	return atomicio.WriteFile(dst, data, 0o644)
}

// sameContent reports whether the file at p has the given SHA-256 (an error when it does not exist).
func sameContent(p, sum string) (bool, error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return false, err
	}
	got := sha256.Sum256(data)
	return bytes.Equal([]byte(hex.EncodeToString(got[:])), []byte(sum)), nil
}
