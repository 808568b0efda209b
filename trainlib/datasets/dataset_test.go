package datasets

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func sample(t *testing.T) *Dataset {
	t.Helper()
	d, err := FromRows([]Row{
		{"question": "q0", "context": "c0", "n": 0, "score": 0.5, "ok": true, "negs": []string{"x"}},
		{"question": "q1", "context": "c1", "n": 1, "score": nil, "ok": false, "negs": []string{}},
		{"question": "q2", "context": "c0", "n": 2, "score": 2.0, "ok": nil, "negs": nil},
		{"question": "q3", "context": "c2", "n": 3, "score": 3.5, "ok": true, "negs": []any{"y", "z"}},
	}, "question", "context", "n", "score", "ok", "negs")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestFromRowsTypesAndValues(t *testing.T) {
	d := sample(t)
	wantTypes := []Type{String, String, Int, Float, Bool, StringList}
	if !reflect.DeepEqual(d.Types(), wantTypes) {
		t.Errorf("types %v, want %v", d.Types(), wantTypes)
	}
	r, err := d.Row(2)
	if err != nil {
		t.Fatal(err)
	}
	want := Row{"question": "q2", "context": "c0", "n": int64(2), "score": 2.0, "ok": nil, "negs": nil}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("row 2 = %#v, want %#v", r, want)
	}
	if _, err := d.Row(4); err == nil || !strings.Contains(err.Error(), "out of range [0, 4)") {
		t.Errorf("Row(4): %v", err)
	}
	c, _ := d.Column("negs")
	if got := c.List(3); !reflect.DeepEqual(got, []string{"y", "z"}) {
		t.Errorf("negs[3] = %v", got)
	}
	if c.NullCount() != 1 || !c.IsNull(2) {
		t.Errorf("null count %d", c.NullCount())
	}
}

func TestFromRowsAndColumnsErrors(t *testing.T) {
	tests := []struct {
		name string
		fn   func() error
		want string
	}{
		{"mixed types", func() error {
			_, err := FromRows([]Row{{"a": 1}, {"a": "x"}})
			return err
		}, `row 1, column "a": a string value after int64 values`},
		{"key not a column", func() error {
			_, err := FromRows([]Row{{"a": 1, "b": 2}}, "a")
			return err
		}, `key "b", which is not one of the columns ["a"]`},
		{"unequal lengths", func() error {
			_, err := FromColumns(Col("a", []string{"x"}), Col("b", []int{1, 2}))
			return err
		}, `column "b" has 2 values, column "a" has 1`},
		{"not a slice", func() error {
			_, err := FromColumns(Col("a", "x"))
			return err
		}, "must be a slice"},
		{"duplicate column", func() error {
			_, err := FromColumns(Col("a", []int{1}), Col("a", []int{2}))
			return err
		}, `column "a" given twice`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.fn()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestIntFloatPromotionAndJSON(t *testing.T) {
	d, err := FromRows([]Row{{"x": 1}, {"x": 2.5}, {"x": nil}, {"y": map[string]any{"k": 1}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Types(); !reflect.DeepEqual(got, []Type{Float, JSON}) {
		t.Fatalf("types %v", got)
	}
	c, _ := d.Column("x")
	if c.Float(0) != 1 || c.Float(1) != 2.5 || !c.IsNull(2) || !c.IsNull(3) {
		t.Errorf("x = %v", c.Values())
	}
	y, _ := d.Column("y")
	if got := string(y.Value(3).(json.RawMessage)); got != `{"k":1}` {
		t.Errorf("y[3] = %s", got)
	}
	// A list column that meets a non-string array becomes JSON, earlier lists re-encoded.
	d, err = FromRows([]Row{{"l": []string{"a"}}, {"l": []any{1, 2}}})
	if err != nil {
		t.Fatal(err)
	}
	l, _ := d.Column("l")
	if l.Type() != JSON || string(l.Value(0).(json.RawMessage)) != `["a"]` || string(l.Value(1).(json.RawMessage)) != `[1,2]` {
		t.Errorf("l = %v (%s)", l.Values(), l.Type())
	}
}

func TestSelectRenameRemove(t *testing.T) {
	d := sample(t)
	s, err := d.Select("context", "question")
	if err != nil || strings.Join(s.Columns(), ",") != "context,question" || s.Len() != 4 {
		t.Fatalf("select: %v %v", s, err)
	}
	if _, err := d.Select("answer"); err == nil || !strings.Contains(err.Error(), `no column "answer"; the columns are ["question", "context", "n", "score", "ok", "negs"]`) {
		t.Errorf("select missing: %v", err)
	}
	if _, err := d.Select("n", "n"); err == nil {
		t.Error("selecting a column twice accepted")
	}
	r, err := d.Rename("question", "anchor")
	if err != nil || r.Columns()[0] != "anchor" || d.Columns()[0] != "question" {
		t.Fatalf("rename: %v %v (original %v)", r.Columns(), err, d.Columns())
	}
	if _, err := d.Rename("question", "context"); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("rename onto an existing column: %v", err)
	}
	if _, err := d.Rename("nope", "x"); err == nil || !strings.Contains(err.Error(), `no column "nope"`) {
		t.Errorf("rename missing: %v", err)
	}
	rm, err := d.RemoveColumns("n", "score")
	if err != nil || strings.Join(rm.Columns(), ",") != "question,context,ok,negs" {
		t.Errorf("remove: %v %v", rm.Columns(), err)
	}
	if _, err := d.Column("missing"); err == nil || !strings.Contains(err.Error(), "the columns are") {
		t.Errorf("column missing: %v", err)
	}
}

func TestFilterMapUniqueConcat(t *testing.T) {
	d := sample(t)
	f := d.Filter(func(r Row) bool { return r["context"] == "c0" })
	if got := strs(t, f, "question"); strings.Join(got, ",") != "q0,q2" {
		t.Errorf("filter: %v", got)
	}
	// Views compose: a filter of a shuffle.
	sh := d.Shuffle(1).Filter(func(r Row) bool { return r["n"].(int64) >= 2 })
	if sh.Len() != 2 {
		t.Errorf("filter of shuffle: %d rows", sh.Len())
	}

	m, err := d.Map(func(r Row) (Row, error) {
		out := Row{"question": strings.ToUpper(r["question"].(string))}
		if r["n"].(int64)%2 == 1 {
			out["odd"] = true
		}
		return out, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(m.Columns(), ",") != "question,context,n,score,ok,negs,odd" {
		t.Errorf("map columns %v", m.Columns())
	}
	if got := strs(t, m, "question"); strings.Join(got, ",") != "Q0,Q1,Q2,Q3" {
		t.Errorf("map question: %v", got)
	}
	if got := strs(t, m, "odd"); strings.Join(got, ",") != "None,True,None,True" {
		t.Errorf("map odd: %v", got)
	}
	if got := strs(t, m, "context"); strings.Join(got, ",") != "c0,c1,c0,c2" {
		t.Errorf("map keeps untouched columns: %v", got)
	}
	if _, err := d.Map(func(Row) (Row, error) { return nil, errors.New("boom") }); err == nil || !strings.Contains(err.Error(), "row 0: boom") {
		t.Errorf("map error: %v", err)
	}

	u, err := d.Unique("context")
	if err != nil || fmt.Sprint(u) != "[c0 c1 c2]" {
		t.Errorf("unique: %v %v", u, err)
	}
	u, _ = d.Unique("negs")
	if len(u) != 4 {
		t.Errorf("unique lists: %v", u)
	}

	other, _ := FromRows([]Row{{"question": "q9", "context": "c9", "n": 1.5, "score": 1, "ok": true, "negs": []string{"w"}}},
		"negs", "ok", "score", "n", "context", "question")
	c, err := d.Concat(other)
	if err != nil {
		t.Fatal(err)
	}
	if c.Len() != 5 || strings.Join(c.Columns(), ",") != strings.Join(d.Columns(), ",") {
		t.Fatalf("concat: %d rows, %v", c.Len(), c.Columns())
	}
	if c.Types()[2] != Float {
		t.Errorf("int64 + float64 column is %s", c.Types()[2])
	}
	bad, _ := FromRows([]Row{{"question": 1}})
	if _, err := d.Concat(bad); err == nil || !strings.Contains(err.Error(), "columns") {
		t.Errorf("concat with other columns: %v", err)
	}
	wrongType, _ := FromRows([]Row{{"question": 5, "context": "c", "n": 1, "score": 1.0, "ok": true, "negs": []string{}}})
	if _, err := d.Concat(wrongType); err == nil || !strings.Contains(err.Error(), `column "question"`) {
		t.Errorf("concat with another type: %v", err)
	}
}

func TestColumnAccessorsPanicOnMisuse(t *testing.T) {
	d := sample(t)
	c, _ := d.Column("n")
	for name, fn := range map[string]func(){
		"Str on int64": func() { c.Str(0) },
		"out of range": func() { c.Int(9) },
	} {
		func() {
			defer func() {
				r := recover()
				if r == nil || !strings.Contains(fmt.Sprint(r), `column "n"`) {
					t.Errorf("%s: recover() = %v", name, r)
				}
			}()
			fn()
		}()
	}
	if _, err := c.Strings(); err == nil || !strings.Contains(err.Error(), "not string") {
		t.Errorf("Strings on int64: %v", err)
	}
}
