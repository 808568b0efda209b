// Package bundle packs what a workshop room needs to run the embedtune notebooks without the Hugging
// Face Hub — a model and a dataset in Hugging Face cache layout, the notebooks and the echarts assets —
// into one zstd-compressed tar file, and installs such a file into the local caches
// (`embedtune bundle` and `embedtune bundle install`).
//
// Layout of the archive (members in this order):
//
//	embedtune-bundle.json                               the Manifest: every file with its size and SHA-256
//	hub/models--ORG--NAME/snapshots/COMMIT/PATH          the model's files, as in the Hugging Face cache
//	hub/datasets--ORG--NAME/snapshots/COMMIT/PATH        the dataset's files
//	notebooks/NAME.ipynb                                 the notebooks (optional)
//	assets/embedtune/echarts-VERSION.min.js (+ licence)  the chart library
//
// Install reads the archive as a stream and trusts nothing in it beyond the manifest's declarations,
// which it checks: member names must be exactly the manifest's paths (no absolute paths, "..", links or
// devices), each member's size must be the declared one and its content must hash to the declared
// SHA-256, the declared total is bounded, and nothing is placed before it is verified. Model and
// dataset land in the Hugging Face cache as a download would leave them (hub.Client.Import), so both
// embedtune and Python's huggingface_hub load them with HF_HUB_OFFLINE=1.
package bundle

import (
	"encoding/json"
	"fmt"
	"path"
	"strings"

	"github.com/embedtune/embedtune/trainlib/hub"
)

// ManifestName is the archive's first member.
const ManifestName = "embedtune-bundle.json"

// FormatVersion is the manifest format this package writes and reads.
const FormatVersion = 1

// File is one file of the bundle.
type File struct {
	// Path is the path inside the repository (model, dataset) or the folder (notebooks, assets).
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Repo is a model or dataset repository at one commit.
type Repo struct {
	Type   hub.RepoType `json:"type"`
	ID     string       `json:"id"`
	Commit string       `json:"commit"`
	// Source is where Create took it from (a Hub id or a local path), for information.
	Source string `json:"source"`
	Files  []File `json:"files"`
}

// Manifest describes a bundle.
type Manifest struct {
	Format    int    `json:"format"`
	Created   string `json:"created"`
	Embedtune string `json:"embedtune"`
	Model     *Repo  `json:"model,omitempty"`
	Dataset   *Repo  `json:"dataset,omitempty"`
	Notebooks []File `json:"notebooks,omitempty"`
	Assets    []File `json:"assets,omitempty"`
}

// member returns the archive path of a repository file.
func (r *Repo) member(f File) string {
	return "hub/" + hub.RepoFolderName(r.Type, r.ID) + "/snapshots/" + r.Commit + "/" + f.Path
}

// members maps every archive member to its file, and checks the manifest's names and sizes.
func (m *Manifest) members(maxBytes int64) (map[string]File, int64, error) {
	if m.Format != FormatVersion {
		return nil, 0, fmt.Errorf("bundle format %d, this embedtune reads format %d: install it with a matching embedtune", m.Format, FormatVersion)
	}
	out := map[string]File{}
	var total int64
	add := func(name string, f File) error {
		if err := safeRelPath(f.Path); err != nil {
			return err
		}
		if f.Size < 0 || len(f.SHA256) != 64 {
			return fmt.Errorf("manifest entry %q: bad size or sha256", f.Path)
		}
		if _, dup := out[name]; dup {
			return fmt.Errorf("manifest lists %q twice", name)
		}
		out[name] = f
		total += f.Size
		if maxBytes > 0 && total > maxBytes {
			return fmt.Errorf("the bundle declares more than %d bytes: refusing it (raise the limit with --max-size if it is expected)", maxBytes)
		}
		return nil
	}
	for _, r := range []*Repo{m.Model, m.Dataset} {
		if r == nil {
			continue
		}
		if (r.Type != hub.Model && r.Type != hub.Dataset) || !hub.IsCommitHash(r.Commit) || safeRelPath(r.ID) != nil || strings.Count(r.ID, "/") > 1 {
			return nil, 0, fmt.Errorf("manifest: bad repository %q (type %q, commit %q)", r.ID, r.Type, r.Commit)
		}
		for _, f := range r.Files {
			if err := hub.ValidateRepoPath(f.Path); err != nil {
				return nil, 0, err
			}
			if err := add(r.member(f), f); err != nil {
				return nil, 0, err
			}
		}
	}
	for _, f := range m.Notebooks {
		if strings.Contains(f.Path, "/") || path.Ext(f.Path) != ".ipynb" {
			return nil, 0, fmt.Errorf("manifest: notebook %q must be a .ipynb file name", f.Path)
		}
		if err := add("notebooks/"+f.Path, f); err != nil {
			return nil, 0, err
		}
	}
	for _, f := range m.Assets {
		if err := add("assets/"+f.Path, f); err != nil {
			return nil, 0, err
		}
	}
	return out, total, nil
}

// safeRelPath accepts a clean relative slash path that stays inside its folder.
func safeRelPath(p string) error {
	if p == "" || strings.HasPrefix(p, "/") || strings.Contains(p, `\`) || strings.ContainsRune(p, 0) ||
		path.Clean(p) != p || p == ".." || strings.HasPrefix(p, "../") {
		return fmt.Errorf("unsafe path %q in the bundle (it must be relative and stay inside its folder)", p)
	}
	for _, part := range strings.Split(p, "/") {
		if part == ".." || part == "." {
			return fmt.Errorf("unsafe path %q in the bundle", p)
		}
	}
	return nil
}

func decodeManifest(data []byte) (*Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", ManifestName, err)
	}
	return &m, nil
}
