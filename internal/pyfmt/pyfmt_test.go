package pyfmt

import (
	"math"
	"strconv"
	"testing"

	"github.com/embedtune/embedtune/internal/testutil"
)

// values covers the special values, both sides of the 1e-4 and 1e16 switches to scientific notation,
// integral values, shortest round-trip digits and halfway cases of rounding.
var values = []float64{
	math.NaN(), math.Inf(1), math.Inf(-1), 0, math.Copysign(0, -1), 1, -2.5, 0.1, 0.5, 1.0 / 3, 0.39999999999999997,
	1e-05, 0.0001, 0.00009999999999999999, 1.5e-07, 123456789.125, 123456789012345.6, 9999999999999998, 1e16,
	1.5e16, 1e22, 2.675, 0.125, 1e300, 5e-324, -1e-7, 0.8518, 0.71271,
}

// pythonValue writes v for the JSON request: Python's float() reads these strings.
func pythonValue(v float64) any {
	switch {
	case math.IsNaN(v):
		return "nan"
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	case v == 0 && math.Signbit(v):
		return "-0.0"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// TestAgainstPython compares Repr and Fixed with what the reference Python prints for the same values.
func TestAgainstPython(t *testing.T) {
	precisions := []int{0, 1, 4, 6}
	req := map[string]any{"precisions": precisions}
	var in []any
	for _, v := range values {
		in = append(in, pythonValue(v))
	}
	req["values"] = in
	integers := []int64{0, 7, -7, 999, 1000, -1000, 123456, 1234567, -1234567, 109482240, math.MaxInt64, math.MinInt64 + 1}
	req["integers"] = integers
	var resp struct {
		Repr      []string   `json:"repr"`
		Fixed     [][]string `json:"fixed"`
		Thousands []string   `json:"thousands"`
	}
	testutil.PythonJSON(t, "tests/reference/pyfmt_reference.py", req, &resp)
	if len(resp.Repr) != len(values) || len(resp.Fixed) != len(values) {
		t.Fatalf("Python answered for %d values, want %d", len(resp.Repr), len(values))
	}
	for i, n := range integers {
		if got := Thousands(n); got != resp.Thousands[i] {
			t.Errorf("Thousands(%d) = %q, Python f\"{n:,}\" %q", n, got, resp.Thousands[i])
		}
	}
	for i, v := range values {
		if got := Repr(v); got != resp.Repr[i] {
			t.Errorf("Repr(%v) = %q, Python repr %q", v, got, resp.Repr[i])
		}
		for j, p := range precisions {
			if got := Fixed(v, p); got != resp.Fixed[i][j] {
				t.Errorf("Fixed(%v, %d) = %q, Python format %q", v, p, got, resp.Fixed[i][j])
			}
		}
	}
}
