package sweep

import (
	"fmt"

	"maps"
	"math"
	"slices"
	"strings"

	"github.com/embedtune/embedtune/internal/num"
)

// Parameter is one swept setting: a name (a dotted path into the run config, e.g. "learning_rate",
// "loss.scale", "lora.r"; nested W&B parameters are joined with dots) and how its values are chosen.
type Parameter struct {
	Name         string
	Distribution Distribution
	// Value is a constant's value; Values the choices of a categorical parameter, with
	// Probabilities for categorical_w_probabilities.
	Value         any
	Values        []any
	Probabilities []float64
	// Min and Max bound the uniform families (logarithms for log_uniform, q_log_uniform and
	// inv_log_uniform); Q quantizes the q_ families (default 1); Mu and Sigma parameterize the normal
	// families, A and B the beta ones.
	Min, Max, Q, Mu, Sigma, A, B float64
	// intValues makes drawn values integers: int_uniform, and q_ families with an integer q (W&B
	// returns ints there).
	intValues bool
}

// parameterKeys lists the keys each distribution accepts (besides "distribution").
var parameterKeys = map[Distribution][]string{
	Constant: {"value"}, Categorical: {"values", "probabilities"}, CategoricalWProbabilities: {"values", "probabilities"},
	IntUniform: {"min", "max"}, Uniform: {"min", "max"}, QUniform: {"min", "max", "q"},
	LogUniform: {"min", "max"}, LogUniformValues: {"min", "max"}, QLogUniform: {"min", "max", "q"},
	QLogUniformValues: {"min", "max", "q"}, InvLogUniform: {"min", "max"}, InvLogUniformValues: {"min", "max"},
	Normal: {"mu", "sigma"}, QNormal: {"mu", "sigma", "q"}, LogNormal: {"mu", "sigma"}, QLogNormal: {"mu", "sigma", "q"},
	Beta: {"a", "b"}, QBeta: {"a", "b", "q"},
}

// parseParameters reads a W&B "parameters" mapping into ps, flattening nested ones ({parameters:
// {...}}) into dotted names.
func parseParameters(where, prefix string, raw any, ps *[]*Parameter) error {
	m, ok := raw.(map[string]any)
	if !ok || len(m) == 0 {
		return fmt.Errorf("%s: expected a mapping from parameter names to their definitions, got %s", where, describe(raw))
	}
	for _, name := range slices.Sorted(maps.Keys(m)) {
		full := prefix + name
		at := where + "." + name
		if name == "" || strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".") || strings.Contains(name, "..") {
			return fmt.Errorf("%s: invalid parameter name %q", where, name)
		}
		def, ok := m[name].(map[string]any)
		if !ok {
			return fmt.Errorf("%s: expected a mapping (value, values, min/max, distribution, or parameters), got %s; for a fixed value write {value: %v}", at, describe(m[name]), m[name])
		}
		if nested, ok := def["parameters"]; ok {
			if len(def) != 1 {
				return fmt.Errorf("%s: a parameter with nested \"parameters\" can have no other key (found %s)", at, strings.Join(otherKeys(def, "parameters"), ", "))
			}
			if err := parseParameters(at+".parameters", full+".", nested, ps); err != nil {
				return err
			}
			continue
		}
		p, err := parseParameter(at, full, def)
		if err != nil {
			return err
		}
		*ps = append(*ps, p)
	}
	return nil
}

// otherKeys returns the sorted keys of m other than except.
func otherKeys(m map[string]any, except ...string) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if !slices.Contains(except, k) {
			out = append(out, k)
		}
	}
	return out
}

// parseParameter reads one parameter definition, inferring the distribution as W&B does when it is
// not given: value → constant, values → categorical (with probabilities:
// categorical_w_probabilities), integer min and max → int_uniform, other min and max → uniform.
func parseParameter(at, name string, def map[string]any) (*Parameter, error) {
	p := &Parameter{Name: name, Q: 1, Sigma: 1, A: 1, B: 1}
	if d, ok := def["distribution"]; ok {
		s, ok := d.(string)
		if !ok {
			return nil, fmt.Errorf("%s.distribution: expected a string, got %s", at, describe(d))
		}
		dist, err := ParseDistribution(s)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", at, err)
		}
		p.Distribution = dist
	} else {
		_, hasMin := def["min"]
		_, hasMax := def["max"]
		_, hasProb := def["probabilities"]
		switch {
		case has(def, "value"):
			p.Distribution = Constant
		case has(def, "values") && hasProb:
			p.Distribution = CategoricalWProbabilities
		case has(def, "values"):
			p.Distribution = Categorical
		case hasMin && hasMax && isInt(def["min"]) && isInt(def["max"]):
			p.Distribution = IntUniform
		case hasMin && hasMax:
			p.Distribution = Uniform
		default:
			return nil, fmt.Errorf("%s: cannot tell the distribution from keys %v: give value, values, min and max, or a distribution (%s)",
				at, otherKeys(def), strings.Join(distributionNames(), ", "))
		}
	}
	if p.Distribution == Categorical && has(def, "probabilities") {
		p.Distribution = CategoricalWProbabilities
	}
	allowed := append([]string{"distribution"}, parameterKeys[p.Distribution]...)
	if extra := otherKeys(def, allowed...); len(extra) > 0 {
		return nil, fmt.Errorf("%s: unknown key %q for distribution %s (it takes %s)", at, extra[0], p.Distribution, strings.Join(parameterKeys[p.Distribution], ", "))
	}
	number := func(key string, def0 float64, required bool) (float64, error) {
		v, ok := def[key]
		if !ok {
			if required {
				return 0, fmt.Errorf("%s: distribution %s needs %q", at, p.Distribution, key)
			}
			return def0, nil
		}
		f, ok := num.Float(v)
		if !ok || math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, fmt.Errorf("%s.%s: expected a finite number, got %s", at, key, describe(v))
		}
		return f, nil
	}
	var err error
	switch d := p.Distribution; d {
	case Constant:
		v, ok := def["value"]
		if !ok {
			return nil, fmt.Errorf("%s: distribution constant needs \"value\"", at)
		}
		p.Value = v
	case Categorical, CategoricalWProbabilities:
		vs, ok := def["values"].([]any)
		if !ok || len(vs) == 0 {
			return nil, fmt.Errorf("%s.values: expected a non-empty list, got %s", at, describe(def["values"]))
		}
		p.Values = vs
		if d == CategoricalWProbabilities {
			ps, ok := def["probabilities"].([]any)
			if !ok || len(ps) != len(vs) {
				return nil, fmt.Errorf("%s.probabilities: expected a list of %d numbers (one per value), got %s", at, len(vs), describe(def["probabilities"]))
			}
			sum := 0.0
			for i, x := range ps {
				f, ok := num.Float(x)
				if !ok || !(f >= 0) || math.IsInf(f, 0) {
					return nil, fmt.Errorf("%s.probabilities[%d]: expected a number ≥ 0, got %s", at, i, describe(x))
				}
				p.Probabilities = append(p.Probabilities, f)
				sum += f
			}
			if math.Abs(sum-1) > 1e-6 {
				return nil, fmt.Errorf("%s.probabilities: they sum to %g, expected 1", at, sum)
			}
		}
	case IntUniform:
		for _, k := range []string{"min", "max"} {
			if v, ok := def[k]; ok && !isInt(v) {
				return nil, fmt.Errorf("%s.%s: int_uniform needs a whole number, got %s", at, k, describe(v))
			}
		}
		fallthrough
	case Uniform, QUniform, LogUniform, LogUniformValues, QLogUniform, QLogUniformValues, InvLogUniform, InvLogUniformValues:
		if p.Min, err = number("min", 0, true); err != nil {
			return nil, err
		}
		if p.Max, err = number("max", 0, true); err != nil {
			return nil, err
		}
		if p.Min > p.Max {
			return nil, fmt.Errorf("%s: min (%v) is greater than max (%v)", at, def["min"], def["max"])
		}
		switch d {
		case LogUniformValues, QLogUniformValues, InvLogUniformValues:
			if !(p.Min > 0) {
				return nil, fmt.Errorf("%s.min: %s needs min > 0 (min and max are values; for exponents use %s), got %v", at, d, strings.TrimSuffix(string(d), "_values"), def["min"])
			}
		}
	case Normal, QNormal, LogNormal, QLogNormal:
		if p.Mu, err = number("mu", 0, false); err != nil {
			return nil, err
		}
		if p.Sigma, err = number("sigma", 1, false); err != nil {
			return nil, err
		}
		if !(p.Sigma > 0) {
			return nil, fmt.Errorf("%s.sigma: must be positive, got %g", at, p.Sigma)
		}
	case Beta, QBeta:
		if p.A, err = number("a", 1, false); err != nil {
			return nil, err
		}
		if p.B, err = number("b", 1, false); err != nil {
			return nil, err
		}
		if !(p.A > 0) || !(p.B > 0) {
			return nil, fmt.Errorf("%s: beta needs a > 0 and b > 0, got a %g, b %g", at, p.A, p.B)
		}
	}
	if p.Distribution.quantized() {
		if p.Q, err = number("q", 1, false); err != nil {
			return nil, err
		}
		if !(p.Q > 0) {
			return nil, fmt.Errorf("%s.q: must be positive, got %g", at, p.Q)
		}
		q, ok := def["q"]
		p.intValues = ok && isInt(q) // W&B's default q is 1.0, a float; an integer q gives integers
	}
	if p.Distribution == IntUniform {
		p.intValues = true
	}
	return p, nil
}

// Searchable reports whether the parameter takes more than one value (not a constant).
func (p *Parameter) Searchable() bool { return p.Distribution != Constant }

// Sample returns the value at quantile x ∈ [0, 1] of the distribution (W&B's ppf): x uniform in
// [0, 1) gives a random draw. A categorical parameter's choice i covers [i/n, (i+1)/n), and
// int_uniform's integers likewise.
func (p *Parameter) Sample(x float64) any {
	switch p.Distribution {
	case Constant:
		return p.Value
	case Categorical:
		return p.Values[min(int(math.Floor(x*float64(len(p.Values)))), len(p.Values)-1)]
	case CategoricalWProbabilities:
		c := 0.0
		for i, pr := range p.Probabilities {
			c += pr
			if x < c {
				return p.Values[i]
			}
		}
		return p.Values[len(p.Values)-1]
	case IntUniform:
		lo, hi := int(p.Min), int(p.Max)
		return min(lo+int(math.Floor(x*float64(hi-lo+1))), hi)
	}
	v := p.ppf(x)
	if p.Distribution.quantized() {
		v = math.RoundToEven(v/p.Q) * p.Q // numpy's round
	}
	if p.intValues {
		return int(math.Round(v))
	}
	return v
}

// Quantile maps a value of the parameter to [0, 1], inverting Sample (W&B's cdf; it normalizes the
// Bayesian optimizer's inputs): a categorical or int_uniform value maps to the middle of the
// interval of quantiles that Sample turns into it. It is NaN for a value the parameter cannot take.
func (p *Parameter) Quantile(v any) float64 {
	switch p.Distribution {
	case Constant:
		return 0
	case Categorical, CategoricalWProbabilities:
		lo := 0.0
		for i, c := range p.Values {
			w := 1 / float64(len(p.Values))
			if p.Distribution == CategoricalWProbabilities {
				w = p.Probabilities[i]
			}
			if equalValues(c, v) {
				return lo + w/2
			}
			lo += w
		}
		return math.NaN()
	case IntUniform:
		f, ok := num.Float(v)
		if !ok || f != math.Trunc(f) || f < p.Min || f > p.Max {
			return math.NaN()
		}
		return (f - p.Min + 0.5) / (p.Max - p.Min + 1)
	}
	f, ok := num.Float(v)
	if !ok {
		return math.NaN()
	}
	return p.cdf(f)
}

// GridValues returns the values a grid search takes, in order: constants and categorical values
// as listed, int_uniform's min..max, and q_uniform's min, min+q, … below max (numpy.arange, as W&B).
// Other distributions have no grid.
func (p *Parameter) GridValues() ([]any, error) {
	switch p.Distribution {
	case Constant:
		return []any{p.Value}, nil
	case Categorical:
		return p.Values, nil
	case IntUniform:
		var out []any
		for v := int(p.Min); v <= int(p.Max); v++ {
			out = append(out, v)
		}
		return out, nil
	case QUniform:
		n := int(math.Ceil((p.Max - p.Min) / p.Q))
		out := make([]any, 0, n)
		for k := 0; k < n; k++ {
			v := p.Min + float64(k)*p.Q
			if p.intValues && p.Min == math.Trunc(p.Min) {
				out = append(out, int(math.Round(v)))
			} else {
				out = append(out, v)
			}
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("parameter %q: q_uniform from %g below %g by %g has no grid value", p.Name, p.Min, p.Max, p.Q)
		}
		return out, nil
	}
	what := string(p.Distribution)
	if p.Distribution == CategoricalWProbabilities {
		what = "categorical with probabilities"
	}
	return nil, fmt.Errorf("parameter %q: grid search takes constant, categorical (without probabilities), int_uniform and q_uniform parameters, not %s; use method random or bayes, or list values", p.Name, what)
}

// probeValues are values to check a parameter against the run config before any run: every choice
// of a categorical, the ends of a bounded range, the mean of an unbounded one.
func (p *Parameter) probeValues() []any {
	switch p.Distribution {
	case Constant:
		return []any{p.Value}
	case Categorical, CategoricalWProbabilities:
		return p.Values
	case Normal, QNormal, LogNormal, QLogNormal:
		return []any{p.Sample(0.5)}
	}
	lo, hi := p.Sample(0), p.Sample(1)
	if equalValues(lo, hi) {
		return []any{lo}
	}
	return []any{lo, hi}
}

// distributionNames lists the accepted distribution spellings.
func distributionNames() []string {
	values := DistributionValues()
	out := make([]string, len(values))
	for i, d := range values {
		out[i] = string(d)
	}
	return out
}

// has reports whether m has key.
func has(m map[string]any, key string) bool {
	_, ok := m[key]
	return ok
}

// isInt reports whether v is a whole number written as an integer (YAML/JSON integer).
func isInt(v any) bool {
	switch v.(type) {
	case int, int64, int32, uint64, uint32, uint:
		return true
	}
	return false
}

// equalValues compares decoded values, numbers by value (1 == 1.0).
func equalValues(a, b any) bool {
	fa, oka := num.Float(a)
	fb, okb := num.Float(b)
	if oka && okb {
		return fa == fb
	}
	return fmt.Sprintf("%#v", a) == fmt.Sprintf("%#v", b)
}

// describe names a decoded value and its kind for error messages.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "nothing"
	case string:
		return fmt.Sprintf("the string %q", x)
	case []any:
		return fmt.Sprintf("a list of %d", len(x))
	case map[string]any:
		return "a mapping"
	case bool:
		return fmt.Sprintf("the boolean %v", x)
	}
	return fmt.Sprintf("%v", v)
}
