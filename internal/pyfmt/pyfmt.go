// Package pyfmt formats floats as Python prints them, for the files and tables that embedtune writes
// next to Python's: sentence-transformers' CSV results, pandas-style dataset previews, transformers'
// notebook log table.
//
// Repr is repr(float) (and str(float), str(numpy.float64), json.dumps for finite values): the shortest
// digits that round-trip, positional for 1e-4 ≤ |v| < 1e16 with ".0" on integral values, scientific
// otherwise ("1e-05", "1.5e+16"), and "nan", "inf", "-inf". Fixed is format(v, ".<prec>f"), f"{v:.6f}".
package pyfmt

import (
	"math"
	"strconv"
	"strings"
)

// Repr formats v like Python's repr(float).
func Repr(v float64) string {
	if s, ok := nonFinite(v); ok {
		return s
	}
	if v == 0 {
		if math.Signbit(v) {
			return "-0.0"
		}
		return "0.0"
	}
	// The shortest scientific form carries the decimal exponent of the shortest representation.
	e := strconv.FormatFloat(v, 'e', -1, 64)
	exp, _ := strconv.Atoi(e[strings.IndexByte(e, 'e')+1:])
	if exp < -4 || exp >= 16 {
		return e
	}
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if !strings.ContainsRune(s, '.') {
		s += ".0"
	}
	return s
}

// Fixed formats v like Python's format(v, f".{prec}f"): prec digits after the point, rounded half to even
// on the exact binary value, as Python and Go both do.
func Fixed(v float64, prec int) string {
	if s, ok := nonFinite(v); ok {
		return s
	}
	return strconv.FormatFloat(v, 'f', prec, 64)
}

// nonFinite spells NaN and the infinities as Python does.
func nonFinite(v float64) (string, bool) {
	switch {
	case math.IsNaN(v):
		return "nan", true
	case math.IsInf(v, 1):
		return "inf", true
	case math.IsInf(v, -1):
		return "-inf", true
	}
	return "", false
}

// Thousands formats n with comma thousands separators, as Python's f"{n:,}": 109482240 → "109,482,240".
func Thousands[T ~int | ~int64](n T) string {
	s := strconv.FormatInt(int64(n), 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
