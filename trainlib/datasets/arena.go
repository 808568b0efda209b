package datasets

import "unsafe"

// strArena stores a sequence of strings in large byte chunks that are never reallocated: appending
// never copies earlier bytes, so loading N bytes of text peaks at about N bytes (a growing single
// slice would peak near 2N while it doubles). A string never spans two chunks.
//
// ends[k] locates string k: chunk index << 40 | end offset in that chunk. String k starts where
// string k-1 ends when both are in the same chunk, else at offset 0.
type strArena struct {
	chunks [][]byte
	ends   []uint64
}

const (
	arenaOffsetBits = 40
	arenaOffsetMask = 1<<arenaOffsetBits - 1
	arenaMinChunk   = 4 << 10
	arenaMaxChunk   = 16 << 20
)

// count is the number of strings.
func (a *strArena) count() int { return len(a.ends) }

func (a *strArena) appendBytes(s []byte) { a.appendString(unsafe.String(unsafe.SliceData(s), len(s))) }

func (a *strArena) appendString(s string) {
	if len(s) == 0 {
		a.ends = append(a.ends, a.position())
		return
	}
	last := len(a.chunks) - 1
	if last < 0 || len(a.chunks[last])+len(s) > cap(a.chunks[last]) {
		size := arenaMinChunk
		if last >= 0 {
			size = min(2*cap(a.chunks[last]), arenaMaxChunk)
		}
		a.chunks = append(a.chunks, make([]byte, 0, max(size, len(s))))
		last++
	}
	a.chunks[last] = append(a.chunks[last], s...)
	a.ends = append(a.ends, uint64(last)<<arenaOffsetBits|uint64(len(a.chunks[last])))
}

// position is the end of the last string (where an empty string appended now sits).
func (a *strArena) position() uint64 {
	if len(a.chunks) == 0 {
		return 0
	}
	last := len(a.chunks) - 1
	return uint64(last)<<arenaOffsetBits | uint64(len(a.chunks[last]))
}

// at returns string k without copying: chunks are only appended to, so the bytes stay valid.
func (a *strArena) at(k int) string {
	e := a.ends[k]
	ch, end := e>>arenaOffsetBits, e&arenaOffsetMask
	var start uint64
	if k > 0 && a.ends[k-1]>>arenaOffsetBits == ch {
		start = a.ends[k-1] & arenaOffsetMask
	}
	if start == end {
		return ""
	}
	return unsafe.String(&a.chunks[ch][start], int(end-start))
}

func (a *strArena) memSize() int64 {
	n := int64(len(a.ends) * 8)
	for _, c := range a.chunks {
		n += int64(cap(c))
	}
	return n
}
