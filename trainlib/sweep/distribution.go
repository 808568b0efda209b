package sweep

import (
	"math"
)

//go:generate go run github.com/embedtune/embedtune/internal/enumgen -type Distribution -setting distribution

// Distribution is how a parameter's values are drawn: the "distribution" key of a W&B sweep parameter,
// with W&B's spellings and meanings. min/max are values, except for log_uniform, q_log_uniform and
// inv_log_uniform, whose min/max are natural logarithms (W&B's older forms; the *_values forms take
// values).
type Distribution string

// The distributions of the W&B sweep schema.
const (
	Constant                  Distribution = "constant"                    // value
	Categorical               Distribution = "categorical"                 // values, equally likely
	CategoricalWProbabilities Distribution = "categorical_w_probabilities" // values with probabilities
	IntUniform                Distribution = "int_uniform"                 // integers min..max
	Uniform                   Distribution = "uniform"                     // reals in [min, max]
	QUniform                  Distribution = "q_uniform"                   // round(uniform/q)·q
	LogUniform                Distribution = "log_uniform"                 // exp(uniform(min, max))
	LogUniformValues          Distribution = "log_uniform_values"          // log-uniform in [min, max]
	QLogUniform               Distribution = "q_log_uniform"               // round(exp(uniform(min, max))/q)·q
	QLogUniformValues         Distribution = "q_log_uniform_values"        // round(log_uniform_values/q)·q
	InvLogUniform             Distribution = "inv_log_uniform"             // exp(-uniform(min, max))
	InvLogUniformValues       Distribution = "inv_log_uniform_values"      // 1/x, log x uniform in [log(1/max), log(1/min)]
	Normal                    Distribution = "normal"                      // normal(mu, sigma)
	QNormal                   Distribution = "q_normal"                    // round(normal/q)·q
	LogNormal                 Distribution = "log_normal"                  // exp(normal(mu, sigma))
	QLogNormal                Distribution = "q_log_normal"                // round(log_normal/q)·q
	Beta                      Distribution = "beta"                        // beta(a, b)
	QBeta                     Distribution = "q_beta"                      // round(beta/q)·q
)

// quantized reports whether the distribution rounds to multiples of q.
func (d Distribution) quantized() bool {
	switch d {
	case QUniform, QLogUniform, QLogUniformValues, QNormal, QLogNormal, QBeta:
		return true
	}
	return false
}

// ppf is the quantile function of a continuous distribution before quantization (W&B's ppf, from
// scipy.stats): the value below which a fraction x of draws falls.
func (p *Parameter) ppf(x float64) float64 {
	lo, hi := p.Min, p.Max
	switch p.Distribution {
	case Uniform, QUniform:
		return lo + x*(hi-lo)
	case LogUniform, QLogUniform:
		return math.Exp(lo + x*(hi-lo))
	case LogUniformValues, QLogUniformValues:
		a, b := math.Log(lo), math.Log(hi)
		return math.Exp(a + x*(b-a))
	case InvLogUniform:
		return math.Exp(-(lo + (1-x)*(hi-lo)))
	case InvLogUniformValues:
		a, b := -math.Log(hi), -math.Log(lo)
		return math.Exp(-(a + (1-x)*(b-a)))
	case Normal, QNormal:
		return p.Mu + p.Sigma*normalPPF(x)
	case LogNormal, QLogNormal:
		return math.Exp(p.Mu + p.Sigma*normalPPF(x))
	case Beta, QBeta:
		return betaPPF(x, p.A, p.B)
	}
	return math.NaN()
}

// cdf is the inverse of ppf: the fraction of draws below v.
func (p *Parameter) cdf(v float64) float64 {
	lo, hi := p.Min, p.Max
	clamp := func(x float64) float64 { return math.Min(1, math.Max(0, x)) }
	switch p.Distribution {
	case Uniform, QUniform:
		return clamp((v - lo) / (hi - lo))
	case LogUniform, QLogUniform:
		return clamp((math.Log(v) - lo) / (hi - lo))
	case LogUniformValues, QLogUniformValues:
		return clamp((math.Log(v) - math.Log(lo)) / (math.Log(hi) - math.Log(lo)))
	case InvLogUniform:
		return clamp(1 - (math.Log(1/v)-lo)/(hi-lo))
	case InvLogUniformValues:
		a, b := -math.Log(hi), -math.Log(lo)
		return clamp(1 - (math.Log(1/v)-a)/(b-a))
	case Normal, QNormal:
		return normalCDF((v - p.Mu) / p.Sigma)
	case LogNormal, QLogNormal:
		if v <= 0 {
			return 0
		}
		return normalCDF((math.Log(v) - p.Mu) / p.Sigma)
	case Beta, QBeta:
		return betaCDF(clamp(v), p.A, p.B)
	}
	return math.NaN()
}

// normalCDF is Φ, the standard normal distribution function.
func normalCDF(z float64) float64 { return 0.5 * math.Erfc(-z/math.Sqrt2) }

// normalPDF is φ, the standard normal density.
func normalPDF(z float64) float64 { return math.Exp(-z*z/2) / math.Sqrt(2*math.Pi) }

// normalPPF is Φ⁻¹; ±Inf at 0 and 1.
func normalPPF(x float64) float64 { return -math.Sqrt2 * math.Erfcinv(2*x) }

// betaCDF is the regularized incomplete beta function I_x(a, b), by its continued fraction
// (modified Lentz's method), using the symmetry I_x(a, b) = 1 - I_{1-x}(b, a) where it converges
// faster.
func betaCDF(x, a, b float64) float64 {
	switch {
	case x <= 0:
		return 0
	case x >= 1:
		return 1
	}
	if x > (a+1)/(a+b+2) {
		return 1 - betaCDF(1-x, b, a)
	}
	la, _ := math.Lgamma(a)
	lb, _ := math.Lgamma(b)
	lab, _ := math.Lgamma(a + b)
	front := math.Exp(lab-la-lb+a*math.Log(x)+b*math.Log1p(-x)) / a
	const tiny = 1e-300
	f, c, d := 1.0, 1.0, 0.0
	for i := 0; i <= 400; i++ {
		m := float64(i / 2)
		var num float64
		switch {
		case i == 0:
			num = 1
		case i%2 == 0:
			num = m * (b - m) * x / ((a + 2*m - 1) * (a + 2*m))
		default:
			num = -(a + m) * (a + b + m) * x / ((a + 2*m) * (a + 2*m + 1))
		}
		d = 1 + num*d
		if math.Abs(d) < tiny {
			d = tiny
		}
		d = 1 / d
		c = 1 + num/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		cd := c * d
		f *= cd
		if math.Abs(1-cd) < 1e-15 {
			break
		}
	}
	return front * (f - 1)
}

// betaPPF inverts betaCDF by bisection (to float64 resolution).
func betaPPF(x, a, b float64) float64 {
	lo, hi := 0.0, 1.0
	for i := 0; i < 200 && hi-lo > 1e-16; i++ {
		mid := (lo + hi) / 2
		if betaCDF(mid, a, b) < x {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}
