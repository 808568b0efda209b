package datasets

import (
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
)

// Random row selection is deterministic for a seed, on every platform and Go version:
//
//   - the generator is PCG-DXSM (math/rand/v2.NewPCG(seed, 0)), whose output sequence is fixed by
//     its specification;
//   - a bounded integer in [0, n) is drawn with Lemire's multiply-shift method with rejection
//     (unbiased);
//   - a permutation is the Fisher–Yates shuffle (Durstenfeld's variant): for i from n-1 down to 1,
//     swap element i with element j drawn in [0, i].
//
// The rows chosen differ from Python's numpy-based ones for the same seed; the guarantee is
// reproducibility within this package.

// rng draws bounded integers from PCG-DXSM.
type rng struct{ src *rand.PCG }

func newRNG(seed uint64) rng { return rng{src: rand.NewPCG(seed, 0)} }

// intn returns a uniform integer in [0, n), n > 0 (Lemire, "Fast Random Integer Generation in an
// Interval", 2019).
func (r rng) intn(n uint64) uint64 {
	hi, lo := bits.Mul64(r.src.Uint64(), n)
	if lo < n {
		thresh := -n % n
		for lo < thresh {
			hi, lo = bits.Mul64(r.src.Uint64(), n)
		}
	}
	return hi
}

// permutation returns a seeded random permutation of [0, n).
func permutation(n int, seed uint64) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	r := newRNG(seed)
	for i := n - 1; i > 0; i-- {
		j := int(r.intn(uint64(i + 1)))
		p[i], p[j] = p[j], p[i]
	}
	return p
}

// Shuffle returns the rows in a random order determined by seed.
func (d *Dataset) Shuffle(seed uint64) *Dataset {
	perm := permutation(d.n, seed)
	idx := make([]int, d.n)
	for i, p := range perm {
		idx[i] = d.rowOf(p)
	}
	return d.withIndex(idx)
}

// Sample returns n distinct rows chosen at random (the first n rows of Shuffle(seed)).
func (d *Dataset) Sample(n int, seed uint64) (*Dataset, error) {
	if n < 0 || n > d.n {
		return nil, fmt.Errorf("datasets: cannot sample %d rows from a dataset of %d rows", n, d.n)
	}
	s := d.Shuffle(seed)
	s.index, s.n = s.index[:n], n
	return s, nil
}

// TrainTestSplit splits the rows at random into a train and a test set, as Hugging Face datasets'
// train_test_split does: testSize in (0, 1) is a fraction and the test set gets ceil(testSize*Len)
// rows; testSize >= 1 is a row count. The rows are shuffled with seed; the test set is the first
// part of the permutation, the train set the rest. Both sets must be non-empty.
func (d *Dataset) TrainTestSplit(testSize float64, seed uint64) (train, test *Dataset, err error) {
	var nTest int
	switch {
	case testSize > 0 && testSize < 1:
		nTest = int(math.Ceil(testSize * float64(d.n)))
	case testSize >= 1 && testSize == math.Trunc(testSize):
		nTest = int(testSize)
	default:
		return nil, nil, fmt.Errorf("datasets: test size %v must be a fraction in (0, 1) or a whole number of rows", testSize)
	}
	if nTest >= d.n || nTest == 0 {
		return nil, nil, fmt.Errorf("datasets: test size %v on %d rows leaves %d test and %d train rows; both must be non-empty",
			testSize, d.n, nTest, d.n-nTest)
	}
	s := d.Shuffle(seed)
	test = s.withIndex(s.index[:nTest:nTest])
	train = s.withIndex(s.index[nTest:])
	return train, test, nil
}
