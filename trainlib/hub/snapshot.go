package hub

import (
	"context"
	"fmt"
	"os"
	"strings"
)

// Snapshot downloads every file of a revision that keep accepts (all files when keep is nil) and
// returns the snapshot folder, snapshots/{commit}, whose entries are the repository's paths. This is
// huggingface_hub's snapshot_download with a filter function instead of glob patterns (see
// MatchAny for glob patterns).
//
// Offline, or when the Hub cannot be reached, the revision is resolved from the cache: all kept
// files must be in the snapshot, otherwise the error (ErrNotCached) names the missing ones.
func (c *Client) Snapshot(ctx context.Context, t RepoType, repoID, rev string, keep func(FileInfo) bool) (string, error) {
	if rev == "" {
		rev = "main"
	}
	info, err := c.RepoInfo(ctx, t, repoID, rev)
	if err != nil {
		return "", err
	}
	if _, err := c.DownloadFiles(ctx, info, keep); err != nil {
		return "", err
	}
	dir := c.repoCache(t, repoID).snapshotDir(info.SHA)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("hub: creating %s: %w", dir, err)
	}
	return dir, nil
}

// DownloadFiles makes the files of info that keep accepts available in the cache and returns their
// local paths (snapshots/{commit}/{path}) by repository path. With an info from the cache
// (FromCache) nothing is downloaded: a missing file is an ErrNotCached error.
func (c *Client) DownloadFiles(ctx context.Context, info *RepoInfo, keep func(FileInfo) bool) (map[string]string, error) {
	rc := c.repoCache(info.Type, info.ID)
	out := map[string]string{}
	var missing []string
	for _, f := range info.Files {
		if keep != nil && !keep(f) {
			continue
		}
		if err := ValidateRepoPath(f.Path); err != nil {
			return nil, err
		}
		if p := rc.cachedFile(info.SHA, f.Path); p != "" {
			out[f.Path] = p
			continue
		}
		if info.FromCache {
			missing = append(missing, f.Path)
			continue
		}
		p, err := c.Download(ctx, info.Type, info.ID, info.SHA, f.Path)
		if err != nil {
			return nil, err
		}
		out[f.Path] = p
	}
	if len(missing) > 0 {
		shown := missing
		if len(shown) > 5 {
			shown = shown[:5]
		}
		list := strings.Join(shown, ", ")
		if len(missing) > len(shown) {
			list += fmt.Sprintf(", ... (%d more)", len(missing)-len(shown))
		}
		what := fmt.Sprintf("%s at revision %q (commit %s): %d file(s) missing from the cached snapshot: %s",
			describe(info.Type, info.ID), info.Revision, info.SHA, len(missing), list)
		return nil, c.notCached(what, info.cause)
	}
	return out, nil
}

// MatchAny returns a Snapshot filter keeping the files whose path matches one of the patterns with
// Python fnmatch rules, as huggingface_hub's allow_patterns: "*" and "?" also match "/", "[...]" is
// a character set ("[!...]" negated), and a pattern ending in "/" matches everything below that
// folder. No pattern keeps nothing.
func MatchAny(patterns ...string) func(FileInfo) bool {
	return func(f FileInfo) bool {
		for _, p := range patterns {
			if strings.HasSuffix(p, "/") {
				p += "*"
			}
			if FnMatch(p, f.Path) {
				return true
			}
		}
		return false
	}
}

// FnMatch matches name against a Python fnmatch pattern (case-sensitive, fnmatch.fnmatchcase):
// "*" any characters (including "/"), "?" one character, "[...]" a set ("[!...]" negated, ranges),
// an unclosed "[" literally.
func FnMatch(pattern, name string) bool {
	p, n := []rune(pattern), []rune(name)
	var match func(pi, ni int) bool
	match = func(pi, ni int) bool {
		for pi < len(p) {
			switch p[pi] {
			case '*':
				for pi < len(p) && p[pi] == '*' {
					pi++
				}
				if pi == len(p) {
					return true
				}
				for k := ni; k <= len(n); k++ {
					if match(pi, k) {
						return true
					}
				}
				return false
			case '?':
				if ni >= len(n) {
					return false
				}
				pi, ni = pi+1, ni+1
			case '[':
				end, ok := classEnd(p, pi)
				if !ok { // No closing bracket: a literal "[".
					if ni >= len(n) || n[ni] != '[' {
						return false
					}
					pi, ni = pi+1, ni+1
					continue
				}
				if ni >= len(n) || !inClass(p[pi+1:end], n[ni]) {
					return false
				}
				pi, ni = end+1, ni+1
			default:
				if ni >= len(n) || n[ni] != p[pi] {
					return false
				}
				pi, ni = pi+1, ni+1
			}
		}
		return ni == len(n)
	}
	return match(0, 0)
}

// classEnd finds the "]" closing the set opening at p[open]; a "]" right after "[" or "[!" is literal.
func classEnd(p []rune, open int) (int, bool) {
	i := open + 1
	if i < len(p) && p[i] == '!' {
		i++
	}
	if i < len(p) && p[i] == ']' {
		i++
	}
	for ; i < len(p); i++ {
		if p[i] == ']' {
			return i, true
		}
	}
	return 0, false
}

func inClass(set []rune, r rune) bool {
	neg := len(set) > 0 && set[0] == '!'
	if neg {
		set = set[1:]
	}
	found := false
	for i := 0; i < len(set); i++ {
		if i+2 < len(set) && set[i+1] == '-' {
			if set[i] <= r && r <= set[i+2] {
				found = true
			}
			i += 2
			continue
		}
		if set[i] == r {
			found = true
		}
	}
	return found != neg
}
