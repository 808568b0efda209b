package sweep

import (
	"math"
)

// gp is a Gaussian process regression model on [0, 1]^d with a Matérn ν=3/2 kernel (W&B's choice),
// fitted to observations normalized to mean 0 and standard deviation 1.
//
//	k(x, x') = (1 + √3·r/ℓ)·exp(−√3·r/ℓ),  r = ‖x − x'‖,   K = k(X, X) + α·I
//
// The length scale ℓ and the noise α are chosen by maximum marginal likelihood over a fixed grid (so
// the fit is deterministic), the best of log p(y|X) = −½·yᵀK⁻¹y − Σ log Lᵢᵢ − n/2·log 2π.
type gp struct {
	x       [][]float64
	alpha   []float64   // K⁻¹y
	l       [][]float64 // Cholesky factor of K (lower)
	scale   float64     // ℓ
	yBest   float64     // best (lowest) normalized observation
	ok      bool
	yMean   float64
	yStdDev float64
}

// fitGP fits the process to X (n points) and y (n values, lower is better).
func fitGP(X [][]float64, y []float64) *gp {
	n := len(y)
	mean := 0.0
	for _, v := range y {
		mean += v
	}
	mean /= float64(n)
	sd := 0.0
	for _, v := range y {
		sd += (v - mean) * (v - mean)
	}
	sd = math.Sqrt(sd / float64(n))
	if !(sd > 0) {
		sd = 1
	}
	yn := make([]float64, n)
	for i, v := range y {
		yn[i] = (v - mean) / sd
	}
	best := &gp{x: X, yMean: mean, yStdDev: sd}
	bestLL := math.Inf(-1)
	for _, noise := range []float64{1e-6, 1e-4, 1e-2, 1e-1} {
		for k := 0; k < 24; k++ {
			scale := 0.02 * math.Pow(10, float64(k)*2.5/23) // 0.02 … 6.3, log-spaced
			K := make([][]float64, n)
			for i := range K {
				K[i] = make([]float64, n)
				for j := range K[i] {
					K[i][j] = matern32(X[i], X[j], scale)
				}
				K[i][i] += noise
			}
			L, ok := cholesky(K)
			if !ok {
				continue
			}
			a := cholSolve(L, yn)
			ll := 0.0
			for i := range yn {
				ll -= 0.5*yn[i]*a[i] + math.Log(L[i][i])
			}
			if ll > bestLL {
				bestLL = ll
				*best = gp{x: X, alpha: a, l: L, scale: scale, ok: true, yMean: mean, yStdDev: sd}
			}
		}
	}
	best.yBest = math.Inf(1)
	for _, v := range yn {
		best.yBest = math.Min(best.yBest, v)
	}
	return best
}

// predict returns the posterior mean and standard deviation at x (normalized units).
func (g *gp) predict(x []float64) (mu, sigma float64) {
	k := make([]float64, len(g.x))
	for i, xi := range g.x {
		k[i] = matern32(x, xi, g.scale)
		mu += k[i] * g.alpha[i]
	}
	v := forwardSubst(g.l, k)
	variance := 1.0
	for _, vi := range v {
		variance -= vi * vi
	}
	return mu, math.Sqrt(math.Max(variance, 1e-12))
}

// expectedImprovement is E[max(y* − f(x), 0)] for the best observation y* (minimization).
func (g *gp) expectedImprovement(x []float64) float64 {
	if !g.ok {
		return 0
	}
	mu, sigma := g.predict(x)
	z := (g.yBest - mu) / sigma
	return (g.yBest-mu)*normalCDF(z) + sigma*normalPDF(z)
}

// matern32 is the Matérn ν=3/2 kernel with unit variance.
func matern32(a, b []float64, scale float64) float64 {
	d := 0.0
	for i := range a {
		d += (a[i] - b[i]) * (a[i] - b[i])
	}
	r := math.Sqrt(3*d) / scale
	return (1 + r) * math.Exp(-r)
}

// cholesky returns the lower factor L of a symmetric positive definite A = L·Lᵀ.
func cholesky(a [][]float64) ([][]float64, bool) {
	n := len(a)
	l := make([][]float64, n)
	for i := range l {
		l[i] = make([]float64, n)
		for j := 0; j <= i; j++ {
			s := a[i][j]
			for k := 0; k < j; k++ {
				s -= l[i][k] * l[j][k]
			}
			if i == j {
				if s <= 0 {
					return nil, false
				}
				l[i][i] = math.Sqrt(s)
			} else {
				l[i][j] = s / l[j][j]
			}
		}
	}
	return l, true
}

// forwardSubst solves L·x = b.
func forwardSubst(l [][]float64, b []float64) []float64 {
	x := make([]float64, len(b))
	for i := range b {
		s := b[i]
		for k := 0; k < i; k++ {
			s -= l[i][k] * x[k]
		}
		x[i] = s / l[i][i]
	}
	return x
}

// cholSolve solves L·Lᵀ·x = b.
func cholSolve(l [][]float64, b []float64) []float64 {
	y := forwardSubst(l, b)
	n := len(b)
	x := make([]float64, n)
	for i := n - 1; i >= 0; i-- {
		s := y[i]
		for k := i + 1; k < n; k++ {
			s -= l[k][i] * x[k]
		}
		x[i] = s / l[i][i]
	}
	return x
}
