package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sort"

	"github.com/gomlx/compute/dtypes/bfloat16"
	"github.com/gomlx/compute/dtypes/float16"
)

// MaxHeaderSize caps the JSON header length, as the reference implementation does (100 MB):
// a corrupt length field must not trigger a huge allocation.
const MaxHeaderSize = 100_000_000

// TensorInfo describes one tensor of a file.
type TensorInfo struct {
	Name  string
	DType DType
	Shape []int
	// Begin and End are byte offsets relative to the start of the data buffer.
	Begin, End int64
}

// NumElements returns the product of the shape (1 for a scalar).
func (t TensorInfo) NumElements() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// File is an open safetensors file. Tensors are read on demand.
type File struct {
	path       string
	r          io.ReaderAt
	closer     io.Closer // nil for OpenReader
	dataStart  int64
	tensors    map[string]TensorInfo
	names      []string
	metadata   map[string]string
	headerSize int64
}

// Open opens and validates a safetensors file.
func Open(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("safetensors: %s: %w", path, err)
	}
	sf, err := parse(path, f, st.Size())
	if err != nil {
		f.Close()
		return nil, err
	}
	sf.r, sf.closer = f, f
	return sf, nil
}

// OpenReader reads a safetensors file of size bytes from r (a file in memory, a section of a larger
// file); name stands for it in error messages. Close does not close r.
func OpenReader(name string, r io.ReaderAt, size int64) (*File, error) {
	sf, err := parse(name, r, size)
	if err != nil {
		return nil, err
	}
	sf.r = r
	return sf, nil
}

// parse reads and validates the header of a file of the given size.
func parse(path string, r io.ReaderAt, size int64) (*File, error) {
	if size < 8 {
		return nil, fmt.Errorf("safetensors: %s: file is %d bytes, too short for the 8-byte header length", path, size)
	}
	var lenBuf [8]byte
	if _, err := r.ReadAt(lenBuf[:], 0); err != nil {
		return nil, fmt.Errorf("safetensors: %s: reading header length: %w", path, err)
	}
	n := binary.LittleEndian.Uint64(lenBuf[:])
	if n > MaxHeaderSize {
		return nil, fmt.Errorf("safetensors: %s: header length %d exceeds the %d-byte limit (corrupt or not a safetensors file)", path, n, MaxHeaderSize)
	}
	if int64(n) > size-8 {
		return nil, fmt.Errorf("safetensors: %s: header length %d goes beyond the end of the %d-byte file", path, n, size)
	}
	header := make([]byte, n)
	if _, err := r.ReadAt(header, 8); err != nil {
		return nil, fmt.Errorf("safetensors: %s: reading header: %w", path, err)
	}
	sf := &File{path: path, dataStart: 8 + int64(n), headerSize: int64(n)}
	if err := sf.parseHeader(header); err != nil {
		return nil, fmt.Errorf("safetensors: %s: %w", path, err)
	}
	if err := sf.validate(size - sf.dataStart); err != nil {
		return nil, fmt.Errorf("safetensors: %s: %w", path, err)
	}
	return sf, nil
}

type rawInfo struct {
	DType       *string  `json:"dtype"`
	Shape       *[]int64 `json:"shape"`
	DataOffsets *[]int64 `json:"data_offsets"`
}

// parseHeader decodes the JSON header, rejecting duplicate keys and malformed entries.
func (sf *File) parseHeader(header []byte) error {
	trimmed := bytes.TrimRight(header, " ")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return errors.New("header is not a JSON object (it must start with '{')")
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("header is not valid JSON: %w", err)
	}
	sf.tensors = map[string]TensorInfo{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("header is not valid JSON: %w", err)
		}
		name, _ := tok.(string)
		if name == "__metadata__" {
			if sf.metadata != nil {
				return errors.New("header has two __metadata__ entries")
			}
			md := map[string]string{}
			if err := dec.Decode(&md); err != nil {
				return fmt.Errorf("header __metadata__ must map strings to strings: %w", err)
			}
			sf.metadata = md
			continue
		}
		if _, dup := sf.tensors[name]; dup {
			return fmt.Errorf("tensor %q appears twice in the header", name)
		}
		var ri rawInfo
		if err := dec.Decode(&ri); err != nil {
			return fmt.Errorf("tensor %q: invalid entry: %w", name, err)
		}
		if ri.DType == nil || ri.Shape == nil || ri.DataOffsets == nil {
			return fmt.Errorf("tensor %q: entry needs \"dtype\", \"shape\" and \"data_offsets\"", name)
		}
		dt := DType(*ri.DType)
		if _, err := dt.Size(); err != nil {
			return fmt.Errorf("tensor %q: %w", name, err)
		}
		if len(*ri.DataOffsets) != 2 {
			return fmt.Errorf("tensor %q: data_offsets must be [begin, end], got %d numbers", name, len(*ri.DataOffsets))
		}
		shape := make([]int, len(*ri.Shape))
		for i, d := range *ri.Shape {
			if d < 0 || d > math.MaxInt32 {
				return fmt.Errorf("tensor %q: invalid dimension %d in shape %v", name, d, *ri.Shape)
			}
			shape[i] = int(d)
		}
		off := *ri.DataOffsets
		sf.tensors[name] = TensorInfo{Name: name, DType: dt, Shape: shape, Begin: off[0], End: off[1]}
		sf.names = append(sf.names, name)
	}
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("header is not valid JSON: %w", err)
	}
	if dec.More() {
		return errors.New("header has trailing data after the JSON object")
	}
	slices.Sort(sf.names)
	return nil
}

// validate checks offsets: in bounds, contiguous without holes or overlaps, sizes matching shapes,
// and the tensors covering the data buffer exactly.
func (sf *File) validate(dataLen int64) error {
	infos := make([]TensorInfo, 0, len(sf.tensors))
	for _, t := range sf.tensors {
		infos = append(infos, t)
	}
	sort.Slice(infos, func(i, j int) bool {
		if infos[i].Begin != infos[j].Begin {
			return infos[i].Begin < infos[j].Begin
		}
		return infos[i].End < infos[j].End
	})
	var pos int64
	for _, t := range infos {
		if t.Begin < 0 || t.End < t.Begin {
			return fmt.Errorf("tensor %q: invalid data_offsets [%d, %d]", t.Name, t.Begin, t.End)
		}
		if t.End > dataLen {
			return fmt.Errorf("tensor %q: data_offsets [%d, %d] go beyond the %d-byte data buffer", t.Name, t.Begin, t.End, dataLen)
		}
		if t.Begin < pos {
			return fmt.Errorf("tensor %q: data_offsets [%d, %d] overlap the previous tensor (which ends at %d)", t.Name, t.Begin, t.End, pos)
		}
		if t.Begin > pos {
			return fmt.Errorf("tensor %q: data_offsets start at %d, leaving a hole after byte %d", t.Name, t.Begin, pos)
		}
		es, _ := t.DType.Size()
		want := int64(es)
		for _, d := range t.Shape {
			want *= int64(d)
			if want > dataLen {
				break
			}
		}
		if t.End-t.Begin != want {
			return fmt.Errorf("tensor %q: %d bytes in data_offsets but dtype %s × shape %v needs %d", t.Name, t.End-t.Begin, t.DType, t.Shape, want)
		}
		pos = t.End
	}
	if pos != dataLen {
		return fmt.Errorf("data buffer has %d bytes but the tensors cover only %d", dataLen, pos)
	}
	return nil
}

// Path returns the file path.
func (sf *File) Path() string { return sf.path }

// Names returns the tensor names, sorted.
func (sf *File) Names() []string { return append([]string(nil), sf.names...) }

// Metadata returns the "__metadata__" map (nil when absent).
func (sf *File) Metadata() map[string]string { return sf.metadata }

// Info returns the description of a tensor.
func (sf *File) Info(name string) (TensorInfo, bool) {
	t, ok := sf.tensors[name]
	return t, ok
}

// Raw returns the bytes of a tensor exactly as stored (little-endian).
func (sf *File) Raw(name string) ([]byte, error) {
	t, ok := sf.tensors[name]
	if !ok {
		return nil, fmt.Errorf("safetensors: %s: no tensor named %q", sf.path, name)
	}
	buf := make([]byte, t.End-t.Begin)
	// io.ReaderAt may report io.EOF with a full read that ends at the end of the input.
	if n, err := sf.r.ReadAt(buf, sf.dataStart+t.Begin); err != nil && !(n == len(buf) && errors.Is(err, io.EOF)) {
		return nil, fmt.Errorf("safetensors: %s: reading tensor %q: %w", sf.path, name, err)
	}
	return buf, nil
}

// Float32 reads a floating-point tensor (F32, F16, BF16 or F64) as float32 values.
// F16 and BF16 widen exactly; F64 rounds to nearest.
func (sf *File) Float32(name string) ([]float32, error) {
	t, ok := sf.tensors[name]
	if !ok {
		return nil, fmt.Errorf("safetensors: %s: no tensor named %q", sf.path, name)
	}
	if !t.DType.IsFloat() {
		return nil, fmt.Errorf("safetensors: %s: tensor %q has dtype %s, expected a floating-point dtype (F32, F16, BF16, F64)", sf.path, name, t.DType)
	}
	raw, err := sf.Raw(name)
	if err != nil {
		return nil, err
	}
	return DecodeFloat32(raw, t.DType)
}

// DecodeFloat32 converts little-endian raw bytes of a floating-point dtype to float32.
func DecodeFloat32(raw []byte, dt DType) ([]float32, error) {
	es, err := dt.Size()
	if err != nil {
		return nil, err
	}
	if len(raw)%es != 0 {
		return nil, fmt.Errorf("%d bytes is not a multiple of the %s element size %d", len(raw), dt, es)
	}
	n := len(raw) / es
	out := make([]float32, n)
	switch dt {
	case F32:
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
	case F16:
		for i := range out {
			out[i] = float16.FromBits(binary.LittleEndian.Uint16(raw[2*i:])).Float32()
		}
	case BF16:
		for i := range out {
			out[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(raw[2*i:])) << 16)
		}
	case F64:
		for i := range out {
			out[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:])))
		}
	default:
		return nil, fmt.Errorf("dtype %s is not floating point", dt)
	}
	return out, nil
}

// EncodeFloat32 converts float32 values to little-endian bytes of dtype dt (F32, F16, BF16 or F64),
// rounding to nearest-even as PyTorch does.
func EncodeFloat32(values []float32, dt DType) ([]byte, error) {
	es, err := dt.Size()
	if err != nil {
		return nil, err
	}
	out := make([]byte, len(values)*es)
	switch dt {
	case F32:
		for i, v := range values {
			binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(v))
		}
	case F16:
		for i, v := range values {
			binary.LittleEndian.PutUint16(out[2*i:], float32ToHalfBits(v))
		}
	case BF16:
		for i, v := range values {
			binary.LittleEndian.PutUint16(out[2*i:], bfloat16.FromFloat32(v).Bits())
		}
	case F64:
		for i, v := range values {
			binary.LittleEndian.PutUint64(out[8*i:], math.Float64bits(float64(v)))
		}
	default:
		return nil, fmt.Errorf("dtype %s is not floating point", dt)
	}
	return out, nil
}

// Close closes the underlying file.
func (sf *File) Close() error {
	if sf.closer == nil {
		return nil
	}
	err := sf.closer.Close()
	sf.closer, sf.r = nil, closedReader{}
	return err
}

// closedReader stands for the file after Close.
type closedReader struct{}

func (closedReader) ReadAt([]byte, int64) (int, error) { return 0, os.ErrClosed }
