package safetensors

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"testing"
)

// FuzzOpen feeds arbitrary bytes to the reader (header length, JSON header, data offsets). An
// accepted file must be fully readable and survive a write → read round trip unchanged; a rejected
// one must get an error naming the file.
func FuzzOpen(f *testing.F) {
	if py, err := os.ReadFile(pyFixture); err == nil {
		f.Add(py)
	}
	small, _ := Encode([]Tensor{
		{Name: "w", DType: F32, Shape: []int{2}, Data: make([]byte, 8)},
		{Name: "b", DType: BF16, Shape: []int{1, 1}, Data: []byte{1, 2}},
		{Name: "s", DType: I64, Shape: []int{}, Data: make([]byte, 8)},
	}, map[string]string{"format": "pt"})
	f.Add(small)
	f.Add(build(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}`, nil))
	f.Add(build(`{"__metadata__":{"k":"v"},"a":{"dtype":"U8","shape":[2,1],"data_offsets":[0,2]}}  `, []byte{7, 8}))
	f.Add([]byte{})
	const name = "fuzz.safetensors"
	f.Fuzz(func(t *testing.T, data []byte) {
		sf, err := OpenReader(name, bytes.NewReader(data), int64(len(data)))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "safetensors: "+name+": ") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		var ts []Tensor
		for _, n := range sf.Names() {
			info, ok := sf.Info(n)
			if !ok {
				t.Fatalf("Names lists %q but Info does not know it", n)
			}
			raw, err := sf.Raw(n)
			if err != nil {
				t.Fatalf("accepted file, but tensor %q cannot be read: %v", n, err)
			}
			es, _ := info.DType.Size()
			if len(raw) != es*info.NumElements() {
				t.Fatalf("tensor %q: %d bytes for dtype %s × shape %v", n, len(raw), info.DType, info.Shape)
			}
			if info.DType.IsFloat() {
				vals, err := sf.Float32(n)
				if err != nil || len(vals) != info.NumElements() {
					t.Fatalf("tensor %q: Float32 gave %d values, error %v", n, len(vals), err)
				}
			}
			ts = append(ts, Tensor{Name: n, DType: info.DType, Shape: info.Shape, Data: raw})
		}
		again, err := Encode(ts, sf.Metadata())
		if err != nil {
			t.Fatalf("an accepted file cannot be written back: %v", err)
		}
		sf2, err := OpenReader(name, bytes.NewReader(again), int64(len(again)))
		if err != nil {
			t.Fatalf("the rewritten file is rejected: %v", err)
		}
		if !slices.Equal(sf2.Names(), sf.Names()) || len(sf2.Metadata()) != len(sf.Metadata()) {
			t.Fatalf("round trip changed the names or metadata: %v %v → %v %v", sf.Names(), sf.Metadata(), sf2.Names(), sf2.Metadata())
		}
		for k, v := range sf.Metadata() {
			if sf2.Metadata()[k] != v {
				t.Fatalf("round trip changed metadata %q: %q → %q", k, v, sf2.Metadata()[k])
			}
		}
		for _, tt := range ts {
			info, _ := sf2.Info(tt.Name)
			raw, _ := sf2.Raw(tt.Name)
			if info.DType != tt.DType || !slices.Equal(info.Shape, tt.Shape) || !bytes.Equal(raw, tt.Data) {
				t.Fatalf("round trip changed tensor %q", tt.Name)
			}
		}
	})
}
