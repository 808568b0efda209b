package datasets

import (
	"fmt"
	"strings"
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

// matchSegment matches one path segment (no "/") against one pattern segment.
func matchSegment(pattern, name string) bool {
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
				end := classEnd(p, pi)
				if end < 0 {
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

// classEnd finds the "]" closing the set that opens at p[open], or -1; a "]" right after "[" or
// "[!" is part of the set.
func classEnd(p []rune, open int) int {
	i := open + 1
	if i < len(p) && p[i] == '!' {
		i++
	}
	if i < len(p) && p[i] == ']' {
		i++
	}
	for ; i < len(p); i++ {
		if p[i] == ']' {
			return i
		}
	}
	return -1
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
