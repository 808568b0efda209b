package hub

import (
	"fmt"
	"path"
	"regexp"
	"strings"
)

// RepoType says whether a repository holds a model or a dataset; it selects the URL prefix and the
// cache folder prefix ("models--" / "datasets--").
type RepoType string

// Repository types.
const (
	Model   RepoType = "model"
	Dataset RepoType = "dataset"
)

// String returns "model" or "dataset".
func (t RepoType) String() string { return string(t) }

func (t RepoType) valid() error {
	if t != Model && t != Dataset {
		return fmt.Errorf("hub: unknown repository type %q (want %q or %q)", string(t), Model, Dataset)
	}
	return nil
}

// apiPrefix is the path element of the JSON API: /api/models/... or /api/datasets/...
func (t RepoType) apiPrefix() string { return string(t) + "s" }

// urlPrefix is prepended to the repository id in /resolve/ URLs: models have none.
func (t RepoType) urlPrefix() string {
	if t == Dataset {
		return "datasets/"
	}
	return ""
}

// commitRe matches a full commit hash, which is immutable and needs no resolution.
var commitRe = regexp.MustCompile(`^[0-9a-f]{40}$`)

// IsCommitHash reports whether rev is a full 40-character hexadecimal commit hash.
func IsCommitHash(rev string) bool { return commitRe.MatchString(rev) }

// repoIDRe accepts "name" or "namespace/name" with the characters the Hub allows.
var repoIDRe = regexp.MustCompile(`^(?:[A-Za-z0-9][A-Za-z0-9._-]*/)?[A-Za-z0-9][A-Za-z0-9._-]*$`)

func validateRepoID(id string) error {
	if !repoIDRe.MatchString(id) || strings.Contains(id, "--") || strings.Contains(id, "..") ||
		strings.HasSuffix(id, ".") || len(id) > 96 {
		return fmt.Errorf("hub: invalid repository id %q: want \"namespace/name\" (letters, digits, '-', '_', '.'; no \"--\" or \"..\")", id)
	}
	return nil
}

// repoFolderName is the cache folder of a repository: "models--org--name", as huggingface_hub names it.
func repoFolderName(t RepoType, id string) string {
	return t.apiPrefix() + "--" + strings.ReplaceAll(id, "/", "--")
}

// validateRevision rejects revisions that would escape refs/ when used as a path.
func validateRevision(rev string) error {
	if rev == "" {
		return fmt.Errorf("hub: empty revision")
	}
	if err := validateRelPath(rev); err != nil {
		return fmt.Errorf("hub: invalid revision %q: %w", rev, err)
	}
	return nil
}

// ValidateRepoPath checks that a file name from the Hub (or from a caller) is a clean relative path
// that stays inside the folder it is joined to: no absolute path, no ".." segment, no backslash, no
// drive letter, no empty or "." segment, no NUL byte.
func ValidateRepoPath(p string) error {
	if err := validateRelPath(p); err != nil {
		return fmt.Errorf("hub: unsafe file name %q in repository: %w", p, err)
	}
	return nil
}

func validateRelPath(p string) error {
	switch {
	case p == "":
		return fmt.Errorf("empty path")
	case strings.ContainsRune(p, 0):
		return fmt.Errorf("contains a NUL byte")
	case strings.Contains(p, `\`):
		return fmt.Errorf(`contains a backslash`)
	case strings.HasPrefix(p, "/"):
		return fmt.Errorf("absolute path")
	case len(p) >= 2 && p[1] == ':':
		return fmt.Errorf("drive-qualified path")
	}
	for _, seg := range strings.Split(p, "/") {
		switch seg {
		case "..":
			return fmt.Errorf("contains a '..' segment (would escape the cache folder)")
		case "", ".":
			return fmt.Errorf("contains an empty or '.' segment")
		}
	}
	if path.Clean(p) != p {
		return fmt.Errorf("not a clean path")
	}
	return nil
}

// etagRe accepts the entity tags that can name a blob file: the Hub's git SHA-1 or SHA-256, or any
// other token free of path separators.
var etagRe = regexp.MustCompile(`^[A-Za-z0-9._+=-]{1,200}$`)

func validateETag(etag string) error {
	if !etagRe.MatchString(etag) || etag == "." || etag == ".." || strings.HasSuffix(etag, ".incomplete") {
		return fmt.Errorf("hub: server sent an entity tag %q that cannot name a cache file", etag)
	}
	return nil
}

// normalizeETag strips the weak marker and quotes of an ETag header: W/"abc" and "abc" give abc.
func normalizeETag(h string) string {
	h = strings.TrimSpace(h)
	h = strings.TrimPrefix(h, "W/")
	return strings.Trim(h, `"`)
}
