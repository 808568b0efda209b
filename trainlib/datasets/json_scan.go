package datasets

import (
	"encoding/json"
	"errors"
)

// parseObject validates a JSON object (RFC 8259 grammar, as encoding/json.Valid accepts it) and
// calls fn with each key and raw value, in one pass. It is the fast path of the JSON Lines reader;
// on a syntax error it returns errJSONSyntax and the caller asks encoding/json for the details.
func parseObject(b []byte, fn func(key string, val []byte) error) error {
	s := jsonScanner{b: b}
	s.ws()
	if s.i >= len(b) || b[s.i] != '{' {
		return errJSONSyntax
	}
	s.i++
	s.ws()
	if s.i < len(b) && b[s.i] == '}' {
		s.i++
		return s.end()
	}
	for {
		if s.i >= len(b) || b[s.i] != '"' {
			return errJSONSyntax
		}
		kStart := s.i
		esc, ok := s.str()
		if !ok {
			return errJSONSyntax
		}
		var key string
		if esc {
			if err := json.Unmarshal(b[kStart:s.i], &key); err != nil {
				return errJSONSyntax
			}
		} else {
			key = string(b[kStart+1 : s.i-1])
		}
		s.ws()
		if s.i >= len(b) || b[s.i] != ':' {
			return errJSONSyntax
		}
		s.i++
		s.ws()
		vStart := s.i
		if !s.value(0) {
			return errJSONSyntax
		}
		if err := fn(key, b[vStart:s.i]); err != nil {
			return err
		}
		s.ws()
		if s.i >= len(b) {
			return errJSONSyntax
		}
		switch b[s.i] {
		case ',':
			s.i++
			s.ws()
		case '}':
			s.i++
			return s.end()
		default:
			return errJSONSyntax
		}
	}
}

var errJSONSyntax = errors.New("invalid JSON")

type jsonScanner struct {
	b []byte
	i int
}

func (s *jsonScanner) ws() {
	for s.i < len(s.b) && isJSONSpace(s.b[s.i]) {
		s.i++
	}
}

// end accepts only trailing white space.
func (s *jsonScanner) end() error {
	s.ws()
	if s.i != len(s.b) {
		return errJSONSyntax
	}
	return nil
}

// str scans the string starting at s.b[s.i] == '"'; esc reports escape sequences.
func (s *jsonScanner) str() (esc, ok bool) {
	b := s.b
	i := s.i + 1
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			s.i = i + 1
			return esc, true
		case c == '\\':
			esc = true
			if i+1 >= len(b) {
				return esc, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) {
					return esc, false
				}
				for _, h := range b[i+2 : i+6] {
					if !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
						return esc, false
					}
				}
				i += 6
			default:
				return esc, false
			}
		case c < 0x20:
			return esc, false
		default:
			i++
		}
	}
	return esc, false
}

const maxJSONDepth = 10000 // as encoding/json

// value scans one JSON value.
func (s *jsonScanner) value(depth int) bool {
	if depth > maxJSONDepth || s.i >= len(s.b) {
		return false
	}
	b := s.b
	switch c := b[s.i]; {
	case c == '"':
		_, ok := s.str()
		return ok
	case c == '{':
		return s.container('}', func() bool {
			if s.i >= len(b) || b[s.i] != '"' {
				return false
			}
			if _, ok := s.str(); !ok {
				return false
			}
			s.ws()
			if s.i >= len(b) || b[s.i] != ':' {
				return false
			}
			s.i++
			s.ws()
			return s.value(depth + 1)
		})
	case c == '[':
		return s.container(']', func() bool { return s.value(depth + 1) })
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return s.number()
	}
	return false
}

// container scans an object or an array from its opening byte: members (scanned by member) separated by
// commas, up to the closing byte.
func (s *jsonScanner) container(closing byte, member func() bool) bool {
	s.i++
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == closing {
		s.i++
		return true
	}
	for {
		if !member() {
			return false
		}
		s.ws()
		if s.i >= len(s.b) {
			return false
		}
		switch s.b[s.i] {
		case closing:
			s.i++
			return true
		case ',':
			s.i++
			s.ws()
		default:
			return false
		}
	}
}

func (s *jsonScanner) literal(lit string) bool {
	if len(s.b)-s.i < len(lit) || string(s.b[s.i:s.i+len(lit)]) != lit {
		return false
	}
	s.i += len(lit)
	return true
}

// number scans -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *jsonScanner) number() bool {
	b, i := s.b, s.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b):
		return false
	case b[i] == '0':
		i++
	case b[i] >= '1' && b[i] <= '9':
		i = digits(b, i)
	default:
		return false
	}
	if i < len(b) && b[i] == '.' {
		if i = digits(b, i+1); i < 0 {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i = digits(b, i); i < 0 {
			return false
		}
	}
	s.i = i
	return true
}

// digits returns the index after the decimal digits that start at i, or -1 when there are none.
func digits(b []byte, i int) int {
	start := i
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	if i == start {
		return -1
	}
	return i
}
