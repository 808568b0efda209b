package safetensors

import "fmt"

// DType is a safetensors element type name, e.g. "F32".
type DType string

// The element types of the safetensors specification.
const (
	Bool DType = "BOOL"
	U8   DType = "U8"
	I8   DType = "I8"
	F8E5 DType = "F8_E5M2"
	F8E4 DType = "F8_E4M3"
	I16  DType = "I16"
	U16  DType = "U16"
	F16  DType = "F16"
	BF16 DType = "BF16"
	I32  DType = "I32"
	U32  DType = "U32"
	F32  DType = "F32"
	F64  DType = "F64"
	I64  DType = "I64"
	U64  DType = "U64"
)

var dtypeSizes = map[DType]int{
	Bool: 1, U8: 1, I8: 1, F8E5: 1, F8E4: 1,
	I16: 2, U16: 2, F16: 2, BF16: 2,
	I32: 4, U32: 4, F32: 4,
	F64: 8, I64: 8, U64: 8,
}

// Size returns the size in bytes of one element, or an error for unknown dtypes.
func (d DType) Size() (int, error) {
	if s, ok := dtypeSizes[d]; ok {
		return s, nil
	}
	return 0, fmt.Errorf("unknown dtype %q (known: BOOL, U8, I8, F8_E5M2, F8_E4M3, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64)", string(d))
}

// IsFloat reports whether the dtype is one of the floating-point types the loader widens to float32.
func (d DType) IsFloat() bool { return d == F32 || d == F16 || d == BF16 || d == F64 }
