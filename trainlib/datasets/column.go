package datasets

import (
	"encoding/json"
	"fmt"
	"math/bits"
)

// Type is the type of a column's values.
type Type uint8

// Column types. Null columns hold only nulls (e.g. a JSON key that is always null); JSON columns
// hold nested values (objects, arrays that are not all strings) as JSON text.
const (
	Null Type = iota
	String
	Int
	Float
	Bool
	StringList
	JSON
)

// typeNames are the names of the types, by value.
var typeNames = [...]string{Null: "null", String: "string", Int: "int64", Float: "float64", Bool: "bool",
	StringList: "list<string>", JSON: "json"}

// String names the type: null, string, int64, float64, bool, list<string>, json.
func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("Type(%d)", uint8(t))
}

// column is an immutable array of n values of one type, stored column-wise:
//
//	String, JSON: value i is string i of strs
//	StringList:   row i holds strings lists[i]..lists[i+1]-1 of strs
//	Int, Float, Bool: one Go slice
//
// valid is a bitmap of non-null rows (bit i of valid[i/64]); nil means no nulls. Null entries
// still occupy their slot (an empty string, 0, false, an empty list).
type column struct {
	typ    Type
	n      int
	valid  []uint64
	strs   strArena
	lists  []int64
	ints   []int64
	floats []float64
	bools  []bool
}

func (c *column) isNull(i int) bool {
	return c.typ == Null || (c.valid != nil && c.valid[i>>6]&(1<<(uint(i)&63)) == 0)
}

// strAt returns string k of the column's strings without copying.
func (c *column) strAt(k int) string { return c.strs.at(k) }

func (c *column) listAt(i int) []string {
	a, b := int(c.lists[i]), int(c.lists[i+1])
	out := make([]string, b-a)
	for k := range out {
		out[k] = c.strAt(a + k)
	}
	return out
}

// value returns row i as nil (null), string, int64, float64, bool, []string or json.RawMessage.
func (c *column) value(i int) any {
	if c.isNull(i) {
		return nil
	}
	switch c.typ {
	case String:
		return c.strAt(i)
	case JSON:
		return json.RawMessage(c.strAt(i))
	case Int:
		return c.ints[i]
	case Float:
		return c.floats[i]
	case Bool:
		return c.bools[i]
	case StringList:
		return c.listAt(i)
	}
	return nil
}

// nullCount counts the null rows.
func (c *column) nullCount() int {
	if c.typ == Null {
		return c.n
	}
	if c.valid == nil {
		return 0
	}
	set := 0
	for _, w := range c.valid {
		set += bits.OnesCount64(w)
	}
	return c.n - set
}

// memSize is the number of bytes the column's arrays hold.
func (c *column) memSize() int64 {
	return int64(len(c.valid)*8+len(c.lists)*8+len(c.ints)*8+len(c.floats)*8) + int64(len(c.bools)) +
		c.strs.memSize()
}
