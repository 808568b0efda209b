package evaluation

import "testing"

// TestPyFloat compares with Python's repr(float), printed by Python 3.11 for these values.
func TestPyFloat(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		want string
	}{
		{1, "1.0"}, {0.5, "0.5"}, {0.39999999999999997, "0.39999999999999997"}, {1e-05, "1e-05"}, {0.0001, "0.0001"},
		{1.5e16, "1.5e+16"}, {1e16, "1e+16"}, {123456789012345.6, "123456789012345.6"}, {0, "0.0"}, {-2.5, "-2.5"},
		{1.0 / 3, "0.3333333333333333"},
	} {
		if got := pyFloat(tc.v); got != tc.want {
			t.Errorf("pyFloat(%v) = %q, Python %q", tc.v, got, tc.want)
		}
	}
	for epoch, want := range map[float64]string{-1: "-1", 0: "0.0", 1: "1.0", 0.5: "0.5"} {
		if got := pyEpoch(epoch); got != want {
			t.Errorf("pyEpoch(%v) = %q, want %q", epoch, got, want)
		}
	}
}
