package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/embedtune/embedtune/internal/testutil"
)

const pyFixture = "testdata/python_written.safetensors"

// TestReadPythonWritten reads a file written by the reference implementation
// (tests/reference/gen_safetensors_fixture.py) and checks every value.
func TestReadPythonWritten(t *testing.T) {
	f, err := Open(pyFixture)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := strings.Join(f.Names(), ","); got != "bf16,f16,f32,i64" {
		t.Fatalf("names = %s", got)
	}
	if md := f.Metadata(); md["format"] != "pt" || md["note"] != "fixture" {
		t.Fatalf("metadata = %v", md)
	}
	f32, err := f.Float32("f32")
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range f32 {
		if want := float32(i) / 7; v != want {
			t.Errorf("f32[%d] = %v, want %v", i, v, want)
		}
	}
	f16, err := f.Float32("f16")
	if err != nil {
		t.Fatal(err)
	}
	// Exact half-precision values of 0.1, -2.5, 65504 (max half) and 6e-8 (a subnormal: 1 × 2^-24).
	wantF16 := []float32{0.0999755859375, -2.5, 65504, float32(math.Ldexp(1, -24))}
	for i := range wantF16 {
		if f16[i] != wantF16[i] {
			t.Errorf("f16[%d] = %v, want %v", i, f16[i], wantF16[i])
		}
	}
	bf16, err := f.Float32("bf16")
	if err != nil {
		t.Fatal(err)
	}
	wantBF16 := []float32{0.333984375, -1.0002555517425873e+30, 3}
	for i := range wantBF16 {
		if math.Abs(float64(bf16[i]-wantBF16[i])) > 1e-6*math.Abs(float64(wantBF16[i])) {
			t.Errorf("bf16[%d] = %v, want %v", i, bf16[i], wantBF16[i])
		}
	}
	if _, err := f.Float32("i64"); err == nil || !strings.Contains(err.Error(), "I64") {
		t.Errorf("Float32 on an I64 tensor: err = %v, want a dtype error", err)
	}
	raw, err := f.Raw("i64")
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []int64{1, -2, 3, 4} {
		if got := int64(binary.LittleEndian.Uint64(raw[8*i:])); got != want {
			t.Errorf("i64[%d] = %d, want %d", i, got, want)
		}
	}
}

// TestEncodeMatchesReferenceBytes re-encodes the fixture's tensors and expects the reference
// implementation's exact bytes: same tensor order, header layout and padding.
func TestEncodeMatchesReferenceBytes(t *testing.T) {
	want, err := os.ReadFile(pyFixture)
	if err != nil {
		t.Fatal(err)
	}
	f, err := Open(pyFixture)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ts []Tensor
	for _, name := range []string{"f32", "i64", "f16", "bf16"} { // Deliberately unsorted.
		info, _ := f.Info(name)
		var data []byte
		if info.DType.IsFloat() {
			vals, err := f.Float32(name)
			if err != nil {
				t.Fatal(err)
			}
			if data, err = EncodeFloat32(vals, info.DType); err != nil {
				t.Fatal(err)
			}
		} else if data, err = f.Raw(name); err != nil {
			t.Fatal(err)
		}
		ts = append(ts, Tensor{Name: name, DType: info.DType, Shape: info.Shape, Data: data})
	}
	got, err := Encode(ts, f.Metadata())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		i := 0
		for i < len(got) && i < len(want) && got[i] == want[i] {
			i++
		}
		t.Fatalf("encoded bytes differ from the reference file at byte %d (len %d vs %d):\n got %q\nwant %q", i, len(got), len(want), got[i:min(len(got), i+40)], want[i:min(len(want), i+40)])
	}
}

// TestWrittenFileLoadsInPython checks files we write with the reference reader.
func TestWrittenFileLoadsInPython(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.safetensors")
	vals := []float32{1.5, -2.25, 1e-3, 3.14159, 0, -0.0}
	var ts []Tensor
	for _, dt := range []DType{F32, F16, BF16} {
		data, err := EncodeFloat32(vals, dt)
		if err != nil {
			t.Fatal(err)
		}
		ts = append(ts, Tensor{Name: "w." + string(dt), DType: dt, Shape: []int{2, 3}, Data: data})
	}
	if err := WriteFile(path, ts, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	out := testutil.RunPython(t, "tests/reference/check_safetensors.py", path)
	var res struct {
		Tensors map[string]struct {
			DType  string
			Shape  []int
			Values []float64
		}
		Metadata map[string]string
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if res.Metadata["format"] != "pt" {
		t.Errorf("metadata = %v", res.Metadata)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, tt := range ts {
		py, ok := res.Tensors[tt.Name]
		if !ok {
			t.Fatalf("python did not see %s", tt.Name)
		}
		ours, _ := f.Float32(tt.Name)
		for i := range ours {
			if float64(ours[i]) != py.Values[i] {
				t.Errorf("%s[%d]: python reads %v, we read %v", tt.Name, i, py.Values[i], ours[i])
			}
		}
	}
}

// build assembles a file from a raw header and a data buffer.
func build(header string, data []byte) []byte {
	out := make([]byte, 8)
	binary.LittleEndian.PutUint64(out, uint64(len(header)))
	return append(append(out, header...), data...)
}

func TestBadFiles(t *testing.T) {
	huge := make([]byte, 8)
	binary.LittleEndian.PutUint64(huge, 1<<62)
	beyond := make([]byte, 16)
	binary.LittleEndian.PutUint64(beyond, 1000)
	eight := make([]byte, 8)
	tests := []struct {
		name    string
		content []byte
		want    string
	}{
		{"empty file", nil, "too short"},
		{"header length above cap", huge, "exceeds"},
		{"header length beyond file", beyond, "beyond the end"},
		{"non-JSON header", build("not json", nil), "not a JSON object"},
		{"truncated JSON", build(`{"a":{"dtype":"F32"`, nil), "invalid entry"},
		{"unknown dtype", build(`{"a":{"dtype":"F7","shape":[1],"data_offsets":[0,4]}}`, eight[:4]), `unknown dtype "F7"`},
		{"missing field", build(`{"a":{"dtype":"F32","shape":[1]}}`, eight[:4]), "needs"},
		{"offsets out of bounds", build(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, eight[:4]), "beyond the 4-byte data buffer"},
		{"overlap", build(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}}`, eight[:6]), "overlap"},
		{"hole", build(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, eight), "hole"},
		{"size mismatch", build(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, eight), "needs 12"},
		{"uncovered tail", build(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, eight), "cover only 4"},
		{"negative dim", build(`{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`, eight[:4]), "invalid dimension"},
		{"reversed offsets", build(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}}`, eight[:4]), "invalid data_offsets"},
		{"duplicate name", build(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}`, eight[:2]), "twice"},
		{"bad metadata", build(`{"__metadata__":{"x":1}}`, nil), "__metadata__"},
		{"trailing garbage", build(`{}{}`, nil), "trailing"},
		{"huge shape", build(`{"a":{"dtype":"F32","shape":[2147483647,2147483647],"data_offsets":[0,4]}}`, eight[:4]), "needs"},
	}
	dir := t.TempDir()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".safetensors")
			if err := os.WriteFile(p, tc.content, 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := Open(p)
			if err == nil {
				f.Close()
				t.Fatalf("Open succeeded, want error containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), p) {
				t.Fatalf("error %q should name the file and contain %q", err, tc.want)
			}
		})
	}
}

func TestEncodeRejectsBadTensors(t *testing.T) {
	tests := []struct {
		name string
		ts   []Tensor
		want string
	}{
		{"size", []Tensor{{Name: "a", DType: F32, Shape: []int{2}, Data: make([]byte, 4)}}, "needs 8"},
		{"dtype", []Tensor{{Name: "a", DType: "Q4", Shape: []int{1}, Data: make([]byte, 1)}}, "unknown dtype"},
		{"duplicate", []Tensor{{Name: "a", DType: U8, Shape: []int{1}, Data: []byte{1}}, {Name: "a", DType: U8, Shape: []int{1}, Data: []byte{1}}}, "twice"},
		{"reserved name", []Tensor{{Name: "__metadata__", DType: U8, Shape: []int{1}, Data: []byte{1}}}, "invalid tensor name"},
	}
	for _, tc := range tests {
		if _, err := Encode(tc.ts, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestRoundTripBitIdentical(t *testing.T) {
	vals := make([]float32, 1000)
	for i := range vals {
		vals[i] = float32(math.Sin(float64(i))) * float32(i)
	}
	vals[3] = float32(math.NaN())
	vals[4] = float32(math.Inf(-1))
	p := filepath.Join(t.TempDir(), "x.safetensors")
	data, _ := EncodeFloat32(vals, F32)
	if err := WriteFile(p, []Tensor{{Name: "x", DType: F32, Shape: []int{10, 100}, Data: data}}, nil); err != nil {
		t.Fatal(err)
	}
	f, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	raw, _ := f.Raw("x")
	if !bytes.Equal(raw, data) {
		t.Fatal("raw bytes changed in the round trip")
	}
	if entries, _ := os.ReadDir(filepath.Dir(p)); len(entries) != 1 {
		t.Fatalf("temporary files left behind: %v", entries)
	}
}

// TestHalfConversionExhaustive checks float32→half against widening: every half value must survive
// the round trip, and midpoints must round to even.
func TestHalfConversionExhaustive(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		data := []byte{byte(h), byte(h >> 8)}
		v, _ := DecodeFloat32(data, F16)
		got := float32ToHalfBits(v[0])
		if math.IsNaN(float64(v[0])) {
			if got&0x7c00 != 0x7c00 || got&0x3ff == 0 {
				t.Fatalf("NaN %#04x converted to non-NaN %#04x", h, got)
			}
			continue
		}
		if got != uint16(h) {
			t.Fatalf("half %#04x → %v → %#04x", h, v[0], got)
		}
	}
	// Midpoint between the two smallest subnormals (1 and 2 × 2^-24) rounds to even (2).
	if got := float32ToHalfBits(float32(math.Ldexp(3, -25))); got != 2 {
		t.Errorf("1.5×2^-24 → %#04x, want 0x0002", got)
	}
	if got := float32ToHalfBits(65520); got != 0x7c00 {
		t.Errorf("65520 → %#04x, want +Inf", got)
	}
}
