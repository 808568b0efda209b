package pyrandom_test

import (
	"slices"
	"testing"

	"github.com/embedtune/embedtune/internal/pyrandom"
	"github.com/embedtune/embedtune/internal/testutil"
)

// TestMatchesPython draws with CPython's random module and with this package from the same seeds:
// raw 32-bit words, getrandbits, _randbelow and sample (both of its strategies) must agree.
func TestMatchesPython(t *testing.T) {
	type sampleCase struct{ N, K int }
	req := struct {
		Seeds   []int64      `json:"seeds"`
		Samples []sampleCase `json:"samples"`
	}{
		Seeds:   []int64{0, 1, 42, 12345, -7, 1 << 40, 4294967295, 4294967296},
		Samples: []sampleCase{{10, 3}, {21, 21}, {30, 3}, {100, 5}, {100, 6}, {50, 10}, {1000, 10}, {7, 0}, {1, 1}, {200, 50}},
	}
	var resp struct {
		Words     [][]uint32 `json:"words"`
		Bits      [][]uint32 `json:"bits"`
		Below     [][]int    `json:"below"`
		Samples   [][][]int  `json:"samples"`
		BitsWidth []int      `json:"bits_width"`
		BelowN    []int      `json:"below_n"`
	}
	testutil.PythonJSON(t, "tests/reference/pyrandom_reference.py", req, &resp)
	for i, seed := range req.Seeds {
		r := pyrandom.New(seed)
		for j, w := range resp.Words[i] {
			if got := r.Uint32(); got != w {
				t.Fatalf("seed %d: word %d = %d, Python %d", seed, j, got, w)
			}
		}
		r = pyrandom.New(seed)
		for j, w := range resp.Bits[i] {
			if got := r.GetRandBits(resp.BitsWidth[j]); got != w {
				t.Fatalf("seed %d: getrandbits(%d) #%d = %d, Python %d", seed, resp.BitsWidth[j], j, got, w)
			}
		}
		r = pyrandom.New(seed)
		for j, w := range resp.Below[i] {
			if got := r.RandBelow(resp.BelowN[j]); got != w {
				t.Fatalf("seed %d: _randbelow(%d) #%d = %d, Python %d", seed, resp.BelowN[j], j, got, w)
			}
		}
		r = pyrandom.New(seed)
		for j, c := range req.Samples {
			got, err := r.Sample(c.N, c.K)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, resp.Samples[i][j]) {
				t.Fatalf("seed %d: sample(range(%d), %d) = %v, Python %v", seed, c.N, c.K, got, resp.Samples[i][j])
			}
		}
	}
}

func TestSampleRejectsTooLarge(t *testing.T) {
	if _, err := pyrandom.New(1).Sample(3, 4); err == nil {
		t.Fatal("sample of 4 from 3 did not fail")
	}
	if _, err := pyrandom.New(1).Sample(3, -1); err == nil {
		t.Fatal("sample of -1 did not fail")
	}
}
