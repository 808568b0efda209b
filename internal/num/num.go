// Package num converts numbers of any Go numeric type held in an interface — values decoded from YAML or
// JSON (int, float64), or given by callers — to float64: the one home of that conversion.
//
//	f, ok := num.Float(m["learning_rate"]) // 3e-5, true; "abc" gives 0, false
package num

import "reflect"

// Float returns v as a float64 when v holds an integer, unsigned or floating-point number.
func Float(v any) (float64, bool) {
	r := reflect.ValueOf(v)
	switch {
	case r.CanInt():
		return float64(r.Int()), true
	case r.CanUint():
		return float64(r.Uint()), true
	case r.CanFloat():
		return r.Float(), true
	}
	return 0, false
}
