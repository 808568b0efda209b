// Package pyrandom reproduces the draws of Python's random module (CPython 3.x, random.Random with
// its Mersenne Twister), so code that samples like a Python reference gives the same choices for
// the same seed: sentence-transformers' mine_hard_negatives(sampling_strategy="random") draws with
// the global random.sample after the user's random.seed(n).
//
// Covered: seeding from a non-negative or negative integer (random.seed(n): init_by_array over the
// 32-bit words of |n|), getrandbits(k) for k ≤ 32, _randbelow(n) (rejection sampling on
// n.bit_length() bits) and sample(range(n), k) with both of CPython's strategies (a pool for small
// populations, a set of selected indices for large ones).
//
//	r := pyrandom.New(42)      // random.seed(42)
//	picks := r.Sample(100, 3)  // random.sample(range(100), k=3)
package pyrandom

import (
	"fmt"
	"math"
)

const (
	mtN         = 624
	mtM         = 397
	matrixA     = 0x9908b0df
	upperMask   = 0x80000000
	lowerMask   = 0x7fffffff
	initialSeed = 19650218
)

// Rand is one Python random.Random state. It is not safe for concurrent use.
type Rand struct {
	mt  [mtN]uint32
	mti int
}

// New returns the state of random.Random(seed) (equivalently random.seed(seed)).
func New(seed int64) *Rand {
	r := &Rand{}
	u := uint64(seed)
	if seed < 0 {
		u = uint64(-seed) // CPython seeds with abs(n); -2⁶³ wraps to 2⁶³, also its absolute value
	}
	key := []uint32{uint32(u)}
	if hi := uint32(u >> 32); hi != 0 {
		key = append(key, hi)
	}
	r.initByArray(key)
	return r
}

func (r *Rand) initGenrand(s uint32) {
	r.mt[0] = s
	for i := 1; i < mtN; i++ {
		r.mt[i] = 1812433253*(r.mt[i-1]^(r.mt[i-1]>>30)) + uint32(i)
	}
	r.mti = mtN
}

func (r *Rand) initByArray(key []uint32) {
	r.initGenrand(initialSeed)
	i, j := 1, 0
	k := max(mtN, len(key))
	for ; k > 0; k-- {
		r.mt[i] = (r.mt[i] ^ ((r.mt[i-1] ^ (r.mt[i-1] >> 30)) * 1664525)) + key[j] + uint32(j)
		i++
		j++
		if i >= mtN {
			r.mt[0] = r.mt[mtN-1]
			i = 1
		}
		if j >= len(key) {
			j = 0
		}
	}
	for k = mtN - 1; k > 0; k-- {
		r.mt[i] = (r.mt[i] ^ ((r.mt[i-1] ^ (r.mt[i-1] >> 30)) * 1566083941)) - uint32(i)
		i++
		if i >= mtN {
			r.mt[0] = r.mt[mtN-1]
			i = 1
		}
	}
	r.mt[0] = 0x80000000
}

// Uint32 is genrand_uint32: the next 32 random bits.
func (r *Rand) Uint32() uint32 {
	if r.mti >= mtN {
		var kk int
		for kk = 0; kk < mtN-mtM; kk++ {
			y := (r.mt[kk] & upperMask) | (r.mt[kk+1] & lowerMask)
			r.mt[kk] = r.mt[kk+mtM] ^ (y >> 1) ^ (y&1)*matrixA
		}
		for ; kk < mtN-1; kk++ {
			y := (r.mt[kk] & upperMask) | (r.mt[kk+1] & lowerMask)
			r.mt[kk] = r.mt[kk+(mtM-mtN)] ^ (y >> 1) ^ (y&1)*matrixA
		}
		y := (r.mt[mtN-1] & upperMask) | (r.mt[0] & lowerMask)
		r.mt[mtN-1] = r.mt[mtM-1] ^ (y >> 1) ^ (y&1)*matrixA
		r.mti = 0
	}
	y := r.mt[r.mti]
	r.mti++
	y ^= y >> 11
	y ^= (y << 7) & 0x9d2c5680
	y ^= (y << 15) & 0xefc60000
	y ^= y >> 18
	return y
}

// GetRandBits is random.getrandbits(k) for 0 ≤ k ≤ 32.
func (r *Rand) GetRandBits(k int) uint32 {
	if k < 0 || k > 32 {
		panic(fmt.Sprintf("pyrandom: GetRandBits(%d): k must be in [0, 32]", k))
	}
	if k == 0 {
		return 0
	}
	return r.Uint32() >> (32 - k)
}

// RandBelow is random._randbelow(n): uniform in [0, n) for 0 < n < 2³².
func (r *Rand) RandBelow(n int) int {
	if n <= 0 || n > math.MaxUint32 {
		panic(fmt.Sprintf("pyrandom: RandBelow(%d): n must be in [1, 2^32)", n))
	}
	k := bitLength(n)
	x := int(r.GetRandBits(k))
	for x >= n {
		x = int(r.GetRandBits(k))
	}
	return x
}

func bitLength(n int) int {
	b := 0
	for ; n > 0; n >>= 1 {
		b++
	}
	return b
}

// Sample is random.sample(range(n), k): k distinct values of [0, n) in selection order. It fails,
// as Python raises ValueError, unless 0 ≤ k ≤ n.
func (r *Rand) Sample(n, k int) ([]int, error) {
	if k < 0 || k > n {
		return nil, fmt.Errorf("pyrandom: sample of %d from a population of %d: sample larger than population or is negative", k, n)
	}
	result := make([]int, k)
	setsize := 21
	if k > 5 {
		setsize += int(math.Pow(4, math.Ceil(math.Log(float64(k*3))/math.Log(4))))
	}
	if n <= setsize {
		pool := make([]int, n)
		for i := range pool {
			pool[i] = i
		}
		for i := 0; i < k; i++ {
			j := r.RandBelow(n - i)
			result[i] = pool[j]
			pool[j] = pool[n-i-1]
		}
		return result, nil
	}
	selected := make(map[int]bool, k)
	for i := 0; i < k; i++ {
		j := r.RandBelow(n)
		for selected[j] {
			j = r.RandBelow(n)
		}
		selected[j] = true
		result[i] = j
	}
	return result, nil
}
