package sampler

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/embedtune/embedtune/internal/testutil"
)

// table is a Rows over in-memory columns.
type table [][]string

func (t table) Len() int                { return len(t) }
func (t table) Values(row int) []string { return t[row] }

// duplicated builds (question, context) rows where every context appears `repeat` times, like the
// tutorial data (each context twice).
func duplicated(n, repeat int) table {
	t := make(table, n)
	for i := range t {
		t[i] = []string{fmt.Sprintf("question %d", i), fmt.Sprintf("context %d", i/repeat)}
	}
	return t
}

func TestNoDuplicatesProperties(t *testing.T) {
	for _, tc := range []struct {
		name     string
		rows     table
		batch    int
		dropLast bool
	}{
		{"pairs-twice", duplicated(1340, 2), 16, false},
		{"pairs-twice-droplast", duplicated(1340, 2), 16, true},
		{"heavy-duplicates", duplicated(200, 25), 8, false},
		{"heavy-duplicates-droplast", duplicated(200, 25), 8, true},
		{"all-same-context", duplicated(10, 10), 4, false},
		{"batch-larger-than-data", duplicated(5, 1), 16, false},
		{"empty", table{}, 4, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(NoDuplicates, tc.rows, tc.batch, tc.dropLast, 42)
			if err != nil {
				t.Fatal(err)
			}
			for epoch := 0; epoch < 2; epoch++ {
				batches := s.Batches(epoch)
				seenRow := map[int]bool{}
				for bi, b := range batches {
					if len(b) == 0 || len(b) > tc.batch || (tc.dropLast && len(b) != tc.batch) {
						t.Fatalf("batch %d has %d rows (batch size %d, drop_last %v)", bi, len(b), tc.batch, tc.dropLast)
					}
					vals := map[string]bool{}
					for _, r := range b {
						if seenRow[r] {
							t.Fatalf("row %d appears twice in epoch %d", r, epoch)
						}
						seenRow[r] = true
						for _, v := range tc.rows[r] {
							if vals[v] {
								t.Fatalf("batch %d has duplicate value %q", bi, v)
							}
							vals[v] = true
						}
					}
				}
				if !tc.dropLast && len(seenRow) != tc.rows.Len() {
					t.Fatalf("epoch %d covers %d of %d rows without drop_last", epoch, len(seenRow), tc.rows.Len())
				}
			}
			a, b := s.Batches(0), s.Batches(0)
			if fmt.Sprint(a) != fmt.Sprint(b) {
				t.Fatal("same epoch gave different batches")
			}
			if tc.rows.Len() > 20 && fmt.Sprint(s.Batches(0)) == fmt.Sprint(s.Batches(1)) {
				t.Fatal("epochs 0 and 1 gave the same batches: seed + epoch reseeding not applied")
			}
		})
	}
}

func TestDefaultSampler(t *testing.T) {
	s, err := New(BatchSampler, duplicated(10, 1), 4, false, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(s.Batches(0)); got != 3 {
		t.Fatalf("10 rows / 4 without drop_last = %d batches, want 3", got)
	}
	s, _ = New(BatchSampler, duplicated(10, 1), 4, true, 1)
	if got := len(s.Batches(0)); got != 2 {
		t.Fatalf("10 rows / 4 with drop_last = %d batches, want 2", got)
	}
	if _, err := New("group_by_label", duplicated(3, 1), 2, false, 1); err == nil {
		t.Fatal("unknown sampler accepted")
	}
	if _, err := New(BatchSampler, duplicated(3, 1), 0, false, 1); err == nil {
		t.Fatal("batch size 0 accepted")
	}
}

// TestNoDuplicatesMatchesSentenceTransformers runs sentence-transformers' own sampler with
// torch.randperm patched to return our permutation, and expects the same batches.
func TestNoDuplicatesMatchesSentenceTransformers(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	cases := []struct {
		rows     table
		batch    int
		dropLast bool
	}{
		{duplicated(300, 2), 16, false},
		{duplicated(300, 2), 16, true},
		{duplicated(120, 7), 8, false},
		{duplicated(64, 16), 4, true},
		{duplicated(64, 16), 3, false},
	}
	var reqs []map[string]any
	var perms [][]int
	for _, tc := range cases {
		perm := rng.Perm(tc.rows.Len())
		perms = append(perms, perm)
		rows := make([]map[string]string, tc.rows.Len())
		for i, r := range tc.rows {
			rows[i] = map[string]string{"anchor": r[0], "positive": r[1]}
		}
		reqs = append(reqs, map[string]any{"rows": rows, "perm": perm, "batch_size": tc.batch, "drop_last": tc.dropLast})
	}
	var ref struct{ Batches [][][]int }
	testutil.PythonJSON(t, "tests/reference/sampler_reference.py", map[string]any{"cases": reqs}, &ref)
	for i, tc := range cases {
		got := NoDuplicatesBatches(perms[i], tc.rows, tc.batch, tc.dropLast)
		if len(got) == 0 {
			t.Fatalf("case %d: no batches", i)
		}
		if fmt.Sprint(got) != fmt.Sprint(ref.Batches[i]) {
			t.Fatalf("case %d: batches differ from sentence-transformers:\n got %v\nwant %v", i, got, ref.Batches[i])
		}
		t.Logf("%d rows, batch %d, drop_last %v: %d batches identical", tc.rows.Len(), tc.batch, tc.dropLast, len(got))
	}
}
