package model

import (
	"context"
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"strings"

	"github.com/embedtune/embedtune/trainlib/hub"
)

// WithHubOptions passes options to the Hub client used for Hub ids (defaults: hub.FromEnv(), i.e.
// HF_ENDPOINT, HF_TOKEN, HF_HOME, HF_HUB_CACHE, HF_HUB_OFFLINE).
func WithHubOptions(opts ...hub.Option) Option {
	return func(o *options) { o.hubOpts = append(o.hubOpts, opts...) }
}

// WithContext bounds Hub downloads by ctx.
func WithContext(ctx context.Context) Option { return func(o *options) { o.ctx = ctx } }

// looksLikeRepoID reports whether s can be a Hub model id ("name" or "org/name").
func looksLikeRepoID(s string) bool {
	if s == "" || strings.HasPrefix(s, ".") || strings.HasPrefix(s, "/") || strings.HasPrefix(s, "~") || strings.Count(s, "/") > 1 || strings.Contains(s, `\`) {
		return false
	}
	return hub.ValidateRepoPath(s) == nil
}

// modelFiles selects what a sentence-transformers model needs from a repository: configs,
// tokenizer files, module folders and the safetensors weights — not ONNX/OpenVINO exports or
// other frameworks' weights.
func modelFiles(files []hub.FileInfo) (func(hub.FileInfo) bool, error) {
	hasST, hasBin := false, false
	for _, f := range files {
		switch path.Base(f.Path) {
		case "model.safetensors", "model.safetensors.index.json":
			if !strings.Contains(f.Path, "/") {
				hasST = true
			}
		case "pytorch_model.bin":
			if !strings.Contains(f.Path, "/") {
				hasBin = true
			}
		}
	}
	if !hasST && hasBin {
		return nil, errPytorchOnly
	}
	return func(f hub.FileInfo) bool {
		p := f.Path
		first := strings.SplitN(p, "/", 2)[0]
		switch first {
		case "onnx", "openvino", "coreml", "tf", "flax":
			return false
		}
		switch strings.ToLower(path.Ext(p)) {
		case ".json", ".txt", ".safetensors", ".model", ".md":
			return true
		}
		return false
	}, nil
}

var errPytorchOnly = errors.New("pytorch_model.bin only")

// resolveHub downloads a Hub model into the Hugging Face cache and returns its snapshot folder.
func resolveHub(id string, o *options) (string, error) {
	if !looksLikeRepoID(id) {
		return "", fmt.Errorf("model %q: no such folder, and not a Hub model id (expected \"org/name\")", id)
	}
	c, err := hub.NewClient(append([]hub.Option{hub.FromEnv()}, o.hubOpts...)...)
	if err != nil {
		return "", fmt.Errorf("model %q: %w", id, err)
	}
	ctx := o.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	info, err := c.RepoInfo(ctx, hub.Model, id, o.revision)
	if err != nil {
		return "", fmt.Errorf("model %q is not a local folder; from the Hub: %w", id, err)
	}
	keep, err := modelFiles(info.Files)
	if errors.Is(err, errPytorchOnly) {
		return "", fmt.Errorf("model %q on the Hub has only pytorch_model.bin (a pickled PyTorch checkpoint, which embedtune does not execute); "+
			"convert it once with Python: `SentenceTransformer(%q).save(\"DIR\", safe_serialization=True)` and load DIR", id, id)
	}
	paths, err := c.DownloadFiles(ctx, info, keep)
	if err != nil {
		return "", fmt.Errorf("model %q: %w", id, err)
	}
	for repoPath, local := range paths {
		// Local paths are snapshots/{commit}/{repo path}.
		return strings.TrimSuffix(filepath.ToSlash(local), "/"+repoPath), nil
	}
	return "", fmt.Errorf("model %q: the repository has no model files", id)
}
