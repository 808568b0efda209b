package datasets

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// builder appends values to a column, widening its type when the values call for it:
//
//	null          -> any type (earlier rows stay null)
//	int64 + float -> float64 (ints converted, like Arrow's type inference)
//	list<string> + other array or object -> json (earlier lists re-encoded as JSON arrays)
//
// Any other mix (a string after numbers, a bool after strings, ...) is an error naming both types.
type builder struct {
	c column
}

func newBuilder() *builder {
	return &builder{c: column{typ: Null}}
}

func (b *builder) len() int { return b.c.n }

// markValid records whether the row being appended is non-null.
func (b *builder) markValid(ok bool) {
	i := b.c.n
	if b.c.valid == nil {
		if ok {
			return
		}
		b.c.valid = make([]uint64, (i+64)/64)
		for k := 0; k < i; k++ {
			b.c.valid[k>>6] |= 1 << (uint(k) & 63)
		}
	}
	for len(b.c.valid) <= i>>6 {
		b.c.valid = append(b.c.valid, 0)
	}
	if ok {
		b.c.valid[i>>6] |= 1 << (uint(i) & 63)
	}
}

// appendNull appends a null row (zero value in the slot).
func (b *builder) appendNull() {
	b.markValid(false)
	switch b.c.typ {
	case String, JSON:
		b.c.strs.appendString("")
	case StringList:
		b.c.lists = append(b.c.lists, b.c.lists[len(b.c.lists)-1])
	case Int:
		b.c.ints = append(b.c.ints, 0)
	case Float:
		b.c.floats = append(b.c.floats, 0)
	case Bool:
		b.c.bools = append(b.c.bools, false)
	}
	b.c.n++
}

// promote makes the column able to take values of type t, or says why it cannot.
func (b *builder) promote(t Type) error {
	c := &b.c
	if c.typ == t {
		return nil
	}
	switch {
	case c.typ == Null:
		n := c.n
		c.typ = t
		switch t {
		case String, JSON:
			c.strs.ends = make([]uint64, n, n+64)
		case StringList:
			c.lists = make([]int64, n+1, n+64)
		case Int:
			c.ints = make([]int64, n, n+64)
		case Float:
			c.floats = make([]float64, n, n+64)
		case Bool:
			c.bools = make([]bool, n, n+64)
		}
		if n > 0 && c.valid == nil {
			c.valid = make([]uint64, (n+63)/64) // All earlier rows are null.
		}
		return nil
	case c.typ == Int && t == Float:
		c.floats = make([]float64, len(c.ints), cap(c.ints))
		for i, v := range c.ints {
			c.floats[i] = float64(v)
		}
		c.ints, c.typ = nil, Float
		return nil
	case c.typ == StringList && t == JSON:
		old := *c
		c.typ, c.strs, c.lists = JSON, strArena{}, nil
		for i := 0; i < old.n; i++ {
			if old.isNull(i) {
				c.strs.appendString("")
				continue
			}
			enc, _ := json.Marshal(old.listAt(i))
			c.strs.appendBytes(enc)
		}
		return nil
	}
	return fmt.Errorf("a %s value after %s values", t, c.typ)
}

func (b *builder) appendString(s []byte) error {
	if b.c.typ != String {
		if err := b.promote(String); err != nil {
			return err
		}
	}
	b.markValid(true)
	b.c.strs.appendBytes(s)
	b.c.n++
	return nil
}

func (b *builder) appendStr(s string) error {
	if b.c.typ != String {
		if err := b.promote(String); err != nil {
			return err
		}
	}
	b.markValid(true)
	b.c.strs.appendString(s)
	b.c.n++
	return nil
}

// appendJSON appends nested JSON text; an open list<string> column becomes a json column.
func (b *builder) appendJSON(raw []byte) error {
	if b.c.typ != JSON {
		if err := b.promote(JSON); err != nil {
			return err
		}
	}
	b.markValid(true)
	b.c.strs.appendBytes(raw)
	b.c.n++
	return nil
}

func (b *builder) appendInt(v int64) error {
	if b.c.typ == Float {
		return b.appendFloat(float64(v))
	}
	if b.c.typ != Int {
		if err := b.promote(Int); err != nil {
			return err
		}
	}
	b.markValid(true)
	b.c.ints = append(b.c.ints, v)
	b.c.n++
	return nil
}

func (b *builder) appendFloat(v float64) error {
	if b.c.typ != Float {
		if err := b.promote(Float); err != nil {
			return err
		}
	}
	b.markValid(true)
	b.c.floats = append(b.c.floats, v)
	b.c.n++
	return nil
}

func (b *builder) appendBool(v bool) error {
	if b.c.typ != Bool {
		if err := b.promote(Bool); err != nil {
			return err
		}
	}
	b.markValid(true)
	b.c.bools = append(b.c.bools, v)
	b.c.n++
	return nil
}

// appendList appends a list of strings; in a json column it is stored as a JSON array.
func (b *builder) appendList(items []string) error {
	if b.c.typ == JSON {
		enc, _ := json.Marshal(items)
		return b.appendJSON(enc)
	}
	if b.c.typ != StringList {
		if err := b.promote(StringList); err != nil {
			return err
		}
	}
	b.markValid(true)
	for _, s := range items {
		b.c.strs.appendString(s)
	}
	b.c.lists = append(b.c.lists, int64(b.c.strs.count()))
	b.c.n++
	return nil
}

// appendListItem adds one string to the list being built by a streaming reader, which then calls
// endList; the row is non-null.
func (b *builder) appendListItem(s []byte) { b.c.strs.appendBytes(s) }

func (b *builder) endList() {
	b.markValid(true)
	b.c.lists = append(b.c.lists, int64(b.c.strs.count()))
	b.c.n++
}

// appendValue appends a Go value: nil, string, []byte, json.RawMessage, any Go integer, float32/64,
// bool, []string, []any of strings, or any other JSON-encodable value (stored as JSON).
func (b *builder) appendValue(v any) error {
	switch x := v.(type) {
	case nil:
		b.appendNull()
		return nil
	case string:
		return b.appendStr(x)
	case []byte:
		return b.appendString(x)
	case json.RawMessage: // A value of a json column stays JSON text.
		if !json.Valid(x) {
			return fmt.Errorf("invalid JSON text %q", truncate(string(x), 40))
		}
		return b.appendJSON(trimJSONSpace(x))
	case bool:
		return b.appendBool(x)
	case int:
		return b.appendInt(int64(x))
	case int8:
		return b.appendInt(int64(x))
	case int16:
		return b.appendInt(int64(x))
	case int32:
		return b.appendInt(int64(x))
	case int64:
		return b.appendInt(x)
	case uint8:
		return b.appendInt(int64(x))
	case uint16:
		return b.appendInt(int64(x))
	case uint32:
		return b.appendInt(int64(x))
	case uint:
		if uint64(x) > math.MaxInt64 {
			return b.appendFloat(float64(x))
		}
		return b.appendInt(int64(x))
	case uint64:
		if x > math.MaxInt64 {
			return b.appendFloat(float64(x))
		}
		return b.appendInt(int64(x))
	case float32:
		return b.appendFloat(float64(x))
	case float64:
		return b.appendFloat(x)
	case json.Number:
		return b.appendNumber(string(x))
	case []string:
		return b.appendList(x)
	case []any:
		items := make([]string, len(x))
		for i, e := range x {
			s, ok := e.(string)
			if !ok {
				enc, err := json.Marshal(x)
				if err != nil {
					return fmt.Errorf("a %T value that cannot be stored: %w", v, err)
				}
				return b.appendJSON(enc)
			}
			items[i] = s
		}
		return b.appendList(items)
	}
	enc, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("a %T value that cannot be stored: %w", v, err)
	}
	return b.appendJSON(enc)
}

// appendNumber appends a JSON number: int64 when it is an integer literal that fits, else float64.
func (b *builder) appendNumber(lit string) error {
	if isIntLiteral(lit) {
		if v, err := strconv.ParseInt(lit, 10, 64); err == nil {
			return b.appendInt(v)
		}
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil {
		return fmt.Errorf("invalid number %q", lit)
	}
	return b.appendFloat(f)
}

func isIntLiteral(s string) bool {
	if s == "" {
		return false
	}
	i := 0
	if s[0] == '-' || s[0] == '+' {
		i = 1
	}
	if i == len(s) {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// appendJSONValue appends one JSON value given as text, choosing the column type from it.
func (b *builder) appendJSONValue(raw []byte) error {
	raw = trimJSONSpace(raw)
	if len(raw) == 0 {
		return fmt.Errorf("empty JSON value")
	}
	switch raw[0] {
	case 'n':
		b.appendNull()
		return nil
	case 't':
		return b.appendBool(true)
	case 'f':
		return b.appendBool(false)
	case '"':
		if s, ok := unquoteFast(raw); ok {
			return b.appendString(s)
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return fmt.Errorf("invalid JSON string: %w", err)
		}
		return b.appendStr(s)
	case '[':
		if b.c.typ != JSON {
			if items, ok := stringArray(raw); ok {
				return b.appendList(items)
			}
		}
		return b.appendJSON(raw)
	case '{':
		return b.appendJSON(raw)
	}
	return b.appendNumber(string(raw))
}

// stringArray decodes a JSON array whose elements are all strings (null elements do not qualify).
func stringArray(raw []byte) ([]string, bool) {
	var items []*string
	if json.Unmarshal(raw, &items) != nil {
		return nil, false
	}
	out := make([]string, len(items))
	for i, p := range items {
		if p == nil {
			return nil, false
		}
		out[i] = *p
	}
	return out, true
}

// unquoteFast returns the content of a JSON string literal that has no escapes (the common case),
// without allocating; ok is false when it needs full decoding.
func unquoteFast(raw []byte) ([]byte, bool) {
	if len(raw) < 2 || raw[len(raw)-1] != '"' {
		return nil, false
	}
	s := raw[1 : len(raw)-1]
	for _, c := range s {
		if c == '\\' || c == '"' || c < 0x20 {
			return nil, false
		}
	}
	return s, true
}

func trimJSONSpace(b []byte) []byte {
	for len(b) > 0 && isJSONSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isJSONSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// finish returns the built column; the builder must not be used afterwards.
func (b *builder) finish() *column {
	c := b.c
	if c.typ == StringList && c.lists == nil {
		c.lists = []int64{0}
	}
	if c.valid != nil {
		for len(c.valid) < (c.n+63)/64 {
			c.valid = append(c.valid, 0)
		}
	}
	return &c
}
