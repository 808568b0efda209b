package num

import (
	"math"
	"testing"
)

func TestFloat(t *testing.T) {
	for _, c := range []struct {
		in   any
		want float64
		ok   bool
	}{
		{3, 3, true}, {int64(-2), -2, true}, {uint8(7), 7, true}, {float32(0.5), 0.5, true}, {1e-5, 1e-5, true},
		{math.Inf(1), math.Inf(1), true}, {"3", 0, false}, {nil, 0, false}, {true, 0, false}, {[]int{1}, 0, false},
	} {
		if got, ok := Float(c.in); got != c.want || ok != c.ok {
			t.Errorf("Float(%#v) = %v, %v; want %v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}
