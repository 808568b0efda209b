package evaluation

import (
	"math"
	"strconv"
	"strings"
)

// pyFloat formats v like Python's repr(float) / str(numpy.float64): the shortest representation
// that round-trips, in positional notation for 1e-4 ≤ |v| < 1e16 (with ".0" when integral) and
// scientific notation otherwise ("1e-05", "1.5e+16").
func pyFloat(v float64) string {
	switch {
	case math.IsNaN(v):
		return "nan"
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	case v == 0:
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

// pyEpoch formats an epoch as sentence-transformers' CSV does: the default -1 is an int ("-1"),
// a trainer's epoch is a Python float ("1.0", "0.5").
func pyEpoch(epoch float64) string {
	if epoch == -1 {
		return "-1"
	}
	return pyFloat(epoch)
}
