package evaluation

import (
	"math"
	"testing"
)

// TestLog2Int checks log2Int against numpy.log2 (glibc's log2) at integers where Go's math.Log2 is
// one unit in the last place away (values printed by numpy 2.4 with repr), and at powers of two.
func TestLog2Int(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want float64
	}{
		{3, 1.584962500721156}, {9, 3.169925001442312}, {107, 6.741466986401147}, {137, 7.098032082960526},
		{1, 0}, {2, 1}, {1024, 10}, {10, 3.321928094887362}, {11, 3.4594316186372973},
	} {
		if got := log2Int(tc.n); got != tc.want {
			t.Errorf("log2Int(%d) = %v, numpy %v (math.Log2 %v)", tc.n, got, tc.want, math.Log2(float64(tc.n)))
		}
	}
}
