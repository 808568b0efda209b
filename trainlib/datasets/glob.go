package datasets

import (
	"fmt"
	"strings"

	"github.com/embedtune/embedtune/trainlib/hub"
)

// globMatch matches a "/"-separated relative path against a glob pattern with the semantics of
// fsspec >= 2023.12 (which Hugging Face datasets uses to resolve data files): "*" matches any
// characters but "/", "?" one such character, "[...]" a character set ("[!...]" negated, ranges
// "a-z"), and "**" as a whole path segment zero or more folders; "**" inside a segment acts as "*".
func globMatch(pattern, path string) bool {
	return matchSegments(strings.Split(pattern, "/"), strings.Split(path, "/"))
}

func matchSegments(p, s []string) bool {
	for len(p) > 0 {
		if p[0] == "**" {
			// Collapse runs of "**" then try every split point.
			for len(p) > 1 && p[1] == "**" {
				p = p[1:]
			}
			if len(p) == 1 {
				return len(s) > 0 // "**" at the end: one or more segments (a file below).
			}
			for k := 0; k <= len(s); k++ {
				if matchSegments(p[1:], s[k:]) {
					return true
				}
			}
			return false
		}
		if len(s) == 0 || !matchSegment(p[0], s[0]) {
			return false
		}
		p, s = p[1:], s[1:]
	}
	return len(s) == 0
}

// validatePattern rejects patterns fsspec rejects: "**" must be a whole path segment.
func validatePattern(pattern string) error {
	for _, seg := range strings.Split(pattern, "/") {
		if seg != "**" && strings.Contains(seg, "**") {
			return fmt.Errorf("invalid pattern %q: '**' can only be an entire path component", pattern)
		}
	}
	return nil
}

// hasMagic reports whether a pattern has glob characters (Python glob.has_magic: *, ?, [).
func hasMagic(p string) bool { return strings.ContainsAny(p, "*?[") }

// matchSegment matches one path segment (no "/") against one pattern segment: within a segment
// fsspec's rules are Python fnmatch's.
func matchSegment(pattern, name string) bool { return hub.FnMatch(pattern, name) }
