package datasets

import (
	"reflect"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/encoding"
	"github.com/parquet-go/parquet-go/format"
)

// orderedGroup is a Parquet group node whose fields keep the order given (parquet.Group sorts them
// by name, which would reorder a dataset's columns).
type orderedGroup []namedNode

// namedNode is a field of an orderedGroup.
type namedNode struct {
	parquet.Node
	name string
}

func (f namedNode) Name() string { return f.name }

func (f namedNode) Value(base reflect.Value) reflect.Value {
	switch base.Kind() {
	case reflect.Map:
		return base.MapIndex(reflect.ValueOf(f.name))
	case reflect.Struct:
		return base.FieldByName(f.name)
	}
	return reflect.Value{}
}

func (g orderedGroup) ID() int                     { return 0 }
func (g orderedGroup) String() string              { return g.asGroup().String() }
func (g orderedGroup) Type() parquet.Type          { return parquet.Group{}.Type() }
func (g orderedGroup) Optional() bool              { return false }
func (g orderedGroup) Repeated() bool              { return false }
func (g orderedGroup) Required() bool              { return true }
func (g orderedGroup) Leaf() bool                  { return false }
func (g orderedGroup) Encoding() encoding.Encoding { return nil }
func (g orderedGroup) Compression() compress.Codec { return nil }
func (g orderedGroup) GoType() reflect.Type        { return g.asGroup().GoType() }
func (g orderedGroup) asGroup() parquet.Group {
	m := parquet.Group{}
	for _, f := range g {
		m[f.name] = f.Node
	}
	return m
}

func (g orderedGroup) Fields() []parquet.Field {
	out := make([]parquet.Field, len(g))
	for i, f := range g {
		out[i] = f
	}
	return out
}

// nullColumnType is the type of a null column (every value null): INT32 annotated with the logical
// type NULL ("UNKNOWN"), as pyarrow writes Arrow's null type, so that readers (pyarrow, Hugging Face
// datasets, this package) read a null column back, not a string one. No value is ever encoded.
type nullColumnType struct{ parquet.Type }

func (nullColumnType) LogicalType() *format.LogicalType {
	return &format.LogicalType{Unknown: &format.NullType{}}
}
