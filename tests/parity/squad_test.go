package parity

import (
	"strings"
	"testing"

	"github.com/embedtune/embedtune/trainlib/datasets"
	"github.com/embedtune/embedtune/trainlib/tokenizer"
)

// squad is SQuAD v1.1 dev organized by article, in file order.
type squad struct {
	rows     *datasets.Dataset // id, title, context, question, answers
	articles []article
}

type article struct {
	title    string
	contexts []string // distinct, in order
	pairs    [][2]string
}

func loadSQuAD(t testing.TB) *squad {
	t.Helper()
	d, err := datasets.ReadSQuAD(sharedData(t, "squad-v1.1/dev-v1.1.json"))
	if err != nil {
		t.Fatal(err)
	}
	titles, _ := d.Column("title")
	ctxs, _ := d.Column("context")
	qs, _ := d.Column("question")
	s := &squad{rows: d}
	index := map[string]int{}
	for i := 0; i < d.Len(); i++ {
		k, ok := index[titles.Str(i)]
		if !ok {
			k = len(s.articles)
			index[titles.Str(i)] = k
			s.articles = append(s.articles, article{title: titles.Str(i)})
		}
		a := &s.articles[k]
		if n := len(a.contexts); n == 0 || a.contexts[n-1] != ctxs.Str(i) {
			a.contexts = append(a.contexts, ctxs.Str(i))
		}
		a.pairs = append(a.pairs, [2]string{qs.Str(i), ctxs.Str(i)})
	}
	return s
}

// spread picks n items evenly spaced over xs (all of them when n ≥ len(xs)).
func spread[T any](xs []T, n int) []T {
	if n >= len(xs) {
		return xs
	}
	out := make([]T, n)
	for i := range out {
		out[i] = xs[i*len(xs)/n]
	}
	return out
}

// encodeTexts returns questions, distinct contexts and long texts (consecutive contexts of one
// article joined until they exceed maxSeq tokens by at least 16) spread over the whole file.
func (s *squad) encodeTexts(t testing.TB, tok tokenizer.Tokenizer, maxSeq, nq, nc, nl int) (qs, cs, long []string) {
	t.Helper()
	var allQ, allC []string
	for _, a := range s.articles {
		for _, p := range a.pairs {
			allQ = append(allQ, p[0])
		}
		allC = append(allC, a.contexts...)
	}
	qs, cs = spread(allQ, nq), spread(allC, nc)
	for _, a := range spread(s.articles, nl) {
		var sb strings.Builder
		for _, c := range a.contexts {
			if sb.Len() > 0 {
				sb.WriteByte(' ')
			}
			sb.WriteString(c)
			ids, err := tok.Encode(sb.String(), 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(ids) > maxSeq+16 {
				break
			}
		}
		long = append(long, sb.String())
	}
	return qs, cs, long
}

// passages returns n distinct texts of at least length tokens each (so that max_seq_length ==
// length truncates every one to exactly length ids): the i-th joins consecutive contexts of the
// file starting at an offset spread over all contexts.
func (s *squad) passages(t testing.TB, tok tokenizer.Tokenizer, length, n int) []string {
	t.Helper()
	var all []string
	for _, a := range s.articles {
		all = append(all, a.contexts...)
	}
	if n > len(all) {
		t.Fatalf("%d passages asked, SQuAD has %d contexts", n, len(all))
	}
	out := make([]string, n)
	for i := range out {
		var sb strings.Builder
		for j := i * len(all) / n; ; j = (j + 1) % len(all) {
			if sb.Len() > 0 {
				sb.WriteByte(' ')
			}
			sb.WriteString(all[j])
			ids, err := tok.Encode(sb.String(), 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(ids) >= length {
				break
			}
		}
		out[i] = sb.String()
	}
	return out
}
