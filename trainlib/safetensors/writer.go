package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"

	"github.com/embedtune/embedtune/internal/atomicio"
)

// Tensor is one tensor to write: raw little-endian bytes of the given dtype and shape.
type Tensor struct {
	Name  string
	DType DType
	Shape []int
	Data  []byte
}

// dtypeOrder ranks dtypes like the reference implementation's enum, so files list wide types first.
var dtypeOrder = map[DType]int{
	Bool: 0, U8: 1, I8: 2, F8E5: 3, F8E4: 4, I16: 5, U16: 6, F16: 7, BF16: 8,
	I32: 9, U32: 10, F32: 11, F64: 12, I64: 13, U64: 14,
}

// Encode serializes tensors and optional metadata into safetensors bytes.
func Encode(tensors []Tensor, metadata map[string]string) ([]byte, error) {
	ts := append([]Tensor(nil), tensors...)
	seen := map[string]bool{}
	for _, t := range ts {
		if t.Name == "" || t.Name == "__metadata__" {
			return nil, fmt.Errorf("safetensors: invalid tensor name %q", t.Name)
		}
		if seen[t.Name] {
			return nil, fmt.Errorf("safetensors: tensor %q given twice", t.Name)
		}
		seen[t.Name] = true
		es, err := t.DType.Size()
		if err != nil {
			return nil, fmt.Errorf("safetensors: tensor %q: %w", t.Name, err)
		}
		n := es
		for _, d := range t.Shape {
			if d < 0 {
				return nil, fmt.Errorf("safetensors: tensor %q: negative dimension in shape %v", t.Name, t.Shape)
			}
			n *= d
		}
		if n != len(t.Data) {
			return nil, fmt.Errorf("safetensors: tensor %q: %d bytes of data but dtype %s × shape %v needs %d", t.Name, len(t.Data), t.DType, t.Shape, n)
		}
	}
	sort.SliceStable(ts, func(i, j int) bool {
		if oi, oj := dtypeOrder[ts[i].DType], dtypeOrder[ts[j].DType]; oi != oj {
			return oi > oj
		}
		return ts[i].Name < ts[j].Name
	})

	var hdr bytes.Buffer
	hdr.WriteByte('{')
	first := true
	writeKey := func(k string) {
		if !first {
			hdr.WriteByte(',')
		}
		first = false
		kb, _ := json.Marshal(k)
		hdr.Write(kb)
		hdr.WriteByte(':')
	}
	if len(metadata) > 0 {
		writeKey("__metadata__")
		mb, err := json.Marshal(metadata) // Sorted keys.
		if err != nil {
			return nil, fmt.Errorf("safetensors: metadata: %w", err)
		}
		hdr.Write(mb)
	}
	var offset int64
	for _, t := range ts {
		writeKey(t.Name)
		hdr.WriteString(`{"dtype":"` + string(t.DType) + `","shape":[`)
		for i, d := range t.Shape {
			if i > 0 {
				hdr.WriteByte(',')
			}
			hdr.WriteString(strconv.Itoa(d))
		}
		end := offset + int64(len(t.Data))
		hdr.WriteString(`],"data_offsets":[` + strconv.FormatInt(offset, 10) + "," + strconv.FormatInt(end, 10) + "]}")
		offset = end
	}
	hdr.WriteByte('}')
	for hdr.Len()%8 != 0 {
		hdr.WriteByte(' ')
	}
	out := make([]byte, 8, 8+hdr.Len()+int(offset))
	binary.LittleEndian.PutUint64(out, uint64(hdr.Len()))
	out = append(out, hdr.Bytes()...)
	for _, t := range ts {
		out = append(out, t.Data...)
	}
	return out, nil
}

// WriteFile writes tensors to path atomically: a temporary file in the same folder, fsync, rename.
func WriteFile(path string, tensors []Tensor, metadata map[string]string) error {
	data, err := Encode(tensors, metadata)
	if err != nil {
		return err
	}
	return atomicio.WriteFile(path, data, 0o644)
}
