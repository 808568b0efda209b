package evaluation

import (
	"math/big"
	"math/bits"
)

// log2Int returns log2(n) for an integer n ≥ 1, correctly rounded to float64. sentence-transformers'
// NDCG divides by numpy.log2(i + 2), which is the C library's log2 (correctly rounded in glibc);
// Go's math.Log2 can be one unit in the last place away, which would change NDCG's last bit.
//
// n = m·2^e with m in [1, 2), and log2(n) = e + ln(m)/ln(2), each logarithm summed in 192-bit
// floating point as 2·atanh((x−1)/(x+1)) = 2·Σ z^(2i+1)/(2i+1).
func log2Int(n int) float64 {
	if n <= 0 {
		panic("log2Int: n must be positive")
	}
	e := bits.Len(uint(n)) - 1
	if n == 1<<e {
		return float64(e)
	}
	const prec = 192
	m := new(big.Float).SetPrec(prec).SetInt64(int64(n))
	m.SetMantExp(m, -e) // m = n / 2^e in [1, 2).
	two := new(big.Float).SetPrec(prec).SetInt64(2)
	r := new(big.Float).SetPrec(prec).Quo(lnBig(m), lnBig(two))
	r.Add(r, new(big.Float).SetPrec(prec).SetInt64(int64(e)))
	f, _ := r.Float64()
	return f
}

// lnBig returns ln(x) for x in [1, 2], at x's precision.
func lnBig(x *big.Float) *big.Float {
	prec := x.Prec()
	one := new(big.Float).SetPrec(prec).SetInt64(1)
	num := new(big.Float).SetPrec(prec).Sub(x, one)
	den := new(big.Float).SetPrec(prec).Add(x, one)
	z := new(big.Float).SetPrec(prec).Quo(num, den) // z ≤ 1/3
	z2 := new(big.Float).SetPrec(prec).Mul(z, z)
	sum := new(big.Float).SetPrec(prec)
	term := new(big.Float).SetPrec(prec).Set(z)
	t := new(big.Float).SetPrec(prec)
	for i := int64(1); term.Sign() != 0 && term.MantExp(nil) > -int(prec)-8; i += 2 {
		t.Quo(term, new(big.Float).SetPrec(prec).SetInt64(i))
		sum.Add(sum, t)
		term.Mul(term, z2)
	}
	return sum.Mul(sum, new(big.Float).SetPrec(prec).SetInt64(2))
}
