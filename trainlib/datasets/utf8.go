package datasets

import (
	"bytes"
	"fmt"
	"io"
	"unicode/utf8"
)

// Text in every format must be UTF-8, as Hugging Face datasets requires (pyarrow's JSON and CSV
// readers reject other bytes): invalid bytes are an error naming the line, never silently replaced
// (a replacement would change the text that is then trained on, converted or saved).

// invalidUTF8 returns the offset of the first byte of b that is not valid UTF-8, or -1.
func invalidUTF8(b []byte) int {
	if utf8.Valid(b) {
		return -1
	}
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return -1
}

// utf8Error describes a byte that is not UTF-8.
func utf8Error(b byte) error {
	return fmt.Errorf("invalid UTF-8 (byte 0x%02x): the file must be UTF-8 encoded", b)
}

// checkUTF8 returns an error when s is not valid UTF-8.
func checkUTF8(s []byte) error {
	if i := invalidUTF8(s); i >= 0 {
		return utf8Error(s[i])
	}
	return nil
}

// lineError is a read error at a known line.
type lineError struct {
	line int
	err  error
}

func (e *lineError) Error() string { return fmt.Sprintf("line %d: %v", e.line, e.err) }
func (e *lineError) Unwrap() error { return e.err }

// utf8Reader passes a stream through, failing with a *lineError at the first byte that is not
// UTF-8. A character cut by a Read boundary is completed by the next Read.
type utf8Reader struct {
	r       io.Reader
	line    int    // line of the next byte
	pending []byte // start of a character cut by the previous Read
	err     error
}

func newUTF8Reader(r io.Reader) *utf8Reader { return &utf8Reader{r: r, line: 1} }

func (u *utf8Reader) Read(p []byte) (int, error) {
	if u.err != nil {
		return 0, u.err
	}
	n, err := u.r.Read(p)
	chunk := append(u.pending, p[:n]...)
	// Hold back an incomplete character at the end unless the stream is over.
	end := len(chunk)
	if err == nil {
		for k := 1; k <= 3 && k <= len(chunk); k++ {
			c := chunk[len(chunk)-k]
			if c < 0x80 {
				break
			}
			if utf8.RuneStart(c) {
				if !utf8.FullRune(chunk[len(chunk)-k:]) {
					end = len(chunk) - k
				}
				break
			}
		}
	}
	if i := invalidUTF8(chunk[:end]); i >= 0 {
		u.err = &lineError{line: u.line + bytes.Count(chunk[:i], []byte{'\n'}), err: utf8Error(chunk[i])}
		return 0, u.err
	}
	u.line += bytes.Count(chunk[:end], []byte{'\n'})
	u.pending = append(u.pending[:0], chunk[end:]...)
	return n, err
}
