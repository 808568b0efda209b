package datasets

import (
	"encoding/json"
	"fmt"
)

// Column is a read-only view of one column of a Dataset. The typed element accessors (Str, Int,
// Float, Bool, List) take a row number in [0, Len()) and, like slice indexing or a type assertion,
// panic outside it or on a column of another type; a null row reads as the zero value (check
// IsNull). Value, Values and Strings never panic on type.
type Column struct {
	name  string
	c     *column
	index []int
	n     int
}

// Name returns the column name.
func (c *Column) Name() string { return c.name }

// Type returns the column type.
func (c *Column) Type() Type { return c.c.typ }

// Len returns the number of rows.
func (c *Column) Len() int { return c.n }

func (c *Column) at(i int) int {
	if i < 0 || i >= c.n {
		panic(fmt.Sprintf("datasets: column %q: row %d out of range [0, %d)", c.name, i, c.n))
	}
	if c.index == nil {
		return i
	}
	return c.index[i]
}

func (c *Column) want(method string, types ...Type) {
	for _, t := range types {
		if c.c.typ == t {
			return
		}
	}
	panic(fmt.Sprintf("datasets: column %q has type %s: %s does not apply", c.name, c.c.typ, method))
}

// IsNull reports whether row i is null.
func (c *Column) IsNull(i int) bool { return c.c.isNull(c.at(i)) }

// NullCount counts the null rows.
func (c *Column) NullCount() int {
	if c.index == nil {
		return c.c.nullCount()
	}
	n := 0
	for _, k := range c.index {
		if c.c.isNull(k) {
			n++
		}
	}
	return n
}

// Value returns row i like Dataset.Row does for one column.
func (c *Column) Value(i int) any { return c.c.value(c.at(i)) }

// Str returns row i of a string or json column ("" for null).
func (c *Column) Str(i int) string {
	k := c.at(i)
	c.want("Str", String, JSON)
	return c.c.strAt(k)
}

// Int returns row i of an int64 column (0 for null).
func (c *Column) Int(i int) int64 {
	k := c.at(i)
	c.want("Int", Int)
	return c.c.ints[k]
}

// Float returns row i of a float64 or int64 column (0 for null).
func (c *Column) Float(i int) float64 {
	k := c.at(i)
	c.want("Float", Float, Int)
	if c.c.typ == Int {
		return float64(c.c.ints[k])
	}
	return c.c.floats[k]
}

// Bool returns row i of a bool column (false for null).
func (c *Column) Bool(i int) bool {
	k := c.at(i)
	c.want("Bool", Bool)
	return c.c.bools[k]
}

// List returns row i of a list<string> column (nil for null).
func (c *Column) List(i int) []string {
	k := c.at(i)
	c.want("List", StringList)
	if c.c.isNull(k) {
		return nil
	}
	return c.c.listAt(k)
}

// Strings returns all values of a string column; an error names the type otherwise or the first
// null row.
func (c *Column) Strings() ([]string, error) {
	if c.c.typ != String {
		return nil, fmt.Errorf("datasets: column %q has type %s, not string", c.name, c.c.typ)
	}
	out := make([]string, c.n)
	for i := range out {
		k := c.at(i)
		if c.c.isNull(k) {
			return nil, fmt.Errorf("datasets: column %q: row %d is null", c.name, i)
		}
		out[i] = c.c.strAt(k)
	}
	return out, nil
}

// Values returns all values as Dataset.Row would give them.
func (c *Column) Values() []any {
	out := make([]any, c.n)
	for i := range out {
		out[i] = c.Value(i)
	}
	return out
}

// MarshalJSON encodes the column as a JSON array.
func (c *Column) MarshalJSON() ([]byte, error) { return json.Marshal(c.Values()) }
