// Package safetensors reads and writes the safetensors format
// (https://huggingface.co/docs/safetensors), the weight format of Hugging Face models.
//
// A file is: 8 bytes little-endian uint64 N, then N bytes of UTF-8 JSON header, then the data
// buffer. The header maps tensor names to {"dtype", "shape", "data_offsets": [begin, end]} (offsets
// relative to the data buffer) plus an optional "__metadata__" string→string map. The reader
// validates everything the reference Rust implementation validates — header length within the
// file and under a sane cap, JSON syntax, known dtypes, offsets in bounds, contiguous and
// non-overlapping, covering the whole buffer, and end-begin == prod(shape)·sizeof(dtype) — and
// reports the file and tensor at fault. The writer pads the header with spaces to a multiple of 8
// bytes, orders tensors like the reference (by dtype alignment, then name) and writes atomically.
//
// Example:
//
//	f, err := safetensors.Open("model.safetensors")
//	if err != nil { return err }
//	defer f.Close()
//	w, err := f.Float32("embeddings.word_embeddings.weight") // F16/BF16 are widened exactly
package safetensors
