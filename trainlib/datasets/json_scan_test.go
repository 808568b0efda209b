package datasets

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
)

// TestParseObjectAgreesWithEncodingJSON: the fast scanner accepts exactly the objects
// encoding/json.Valid accepts, on hand-written cases and on random mutations of valid lines.
func TestParseObjectAgreesWithEncodingJSON(t *testing.T) {
	cases := []string{
		`{}`, ` { } `, `{"a":1}`, `{"a":-0.5e+10,"b":[1,{"c":null}],"d":"x\"\\\/\b\f\n\r\t\u00e9"}`,
		`{"a":01}`, `{"a":1.}`, `{"a":.5}`, `{"a":1e}`, `{"a":-}`, `{"a":tru}`, `{"a":"\x"}`, `{"a":"\u12"}`,
		`{"a":1,}`, `{"a" 1}`, `{a:1}`, `{"a":1}}`, `{"a":1} x`, `{"a":[1,]}`, `{"a":"tab	in string"}`,
		`[1]`, `"s"`, `{"a":1`, `{"a":{"b":[]}}`, `{"\u0041":true,"b":false}`, `{"a":"é"}`, `{"a":1E5}`,
	}
	r := rand.New(rand.NewPCG(1, 1))
	base := []byte(`{"question": "What is \"x\"?", "n": -12.5e3, "ok": true, "l": ["a", "b"], "m": {"k": [null, 1]}}`)
	alphabet := []byte(`{}[]",:\ 0123456789.eE+-truefalsn`)
	for k := 0; k < 20000; k++ {
		b := append([]byte(nil), base...)
		for m := 0; m < 1+r.IntN(3); m++ {
			b[r.IntN(len(b))] = alphabet[r.IntN(len(alphabet))]
		}
		cases = append(cases, string(b))
	}
	for _, c := range cases {
		want := json.Valid([]byte(c)) && len(trimJSONSpace([]byte(c))) > 0 && trimJSONSpace([]byte(c))[0] == '{'
		var keys []string
		err := parseObject([]byte(c), func(k string, v []byte) error {
			keys = append(keys, k)
			if !json.Valid(v) {
				t.Errorf("%s: value %q of key %q is not valid JSON", c, v, k)
			}
			return nil
		})
		if (err == nil) != want {
			t.Fatalf("%s: parseObject error %v, encoding/json valid object = %v", c, err, want)
		}
		if want {
			var m map[string]json.RawMessage
			json.Unmarshal([]byte(c), &m)
			if len(dedupe(keys)) != len(m) {
				t.Errorf("%s: keys %v, encoding/json has %d", c, keys, len(m))
			}
		}
	}
}

func dedupe(keys []string) map[string]bool {
	out := map[string]bool{}
	for _, k := range keys {
		out[k] = true
	}
	return out
}
