package evaluation

import (
	"fmt"
	"html"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode/utf8"
)

// rankText renders a best-relevant rank: "3", "-" (no relevant document), ">100" (not within depth).
func (c *RetrievalComparison) rankText(judged bool, rank int) string {
	switch {
	case !judged:
		return "-"
	case rank == 0:
		return ">" + strconv.Itoa(c.RankDepth)
	}
	return strconv.Itoa(rank)
}

// clip shortens a text to the configured length (in characters), on one line.
func (c *RetrievalComparison) clip(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if c.maxTextLen < 0 || utf8.RuneCountInString(s) <= c.maxTextLen {
		return s
	}
	r := []rune(s)
	return string(r[:max(c.maxTextLen-1, 0)]) + "…"
}

// Summary is the one-line result: "fine-tuned vs base over N judged queries: W wins, L losses, T ties".
func (c *RetrievalComparison) Summary() string {
	return fmt.Sprintf("%s vs %s over %d judged queries: %d wins, %d losses, %d ties (rank of the best relevant document, searched to depth %d)",
		c.TunedName, c.BaseName, c.Wins+c.Losses+c.Ties, c.Wins, c.Losses, c.Ties, c.RankDepth)
}

func (c *RetrievalComparison) docCell(d RetrievedDoc) string {
	mark := " "
	if d.Relevant {
		mark = "*"
	}
	return fmt.Sprintf("%s %.4f %s: %s", mark, d.Score, d.CorpusID, c.clip(d.Text))
}

// String renders the comparison as text tables: for each query, the top K of both models side by
// side (relevant documents marked with *), then one row per query with the ranks and the outcome,
// and the summary.
func (c *RetrievalComparison) String() string {
	var b strings.Builder
	for _, q := range c.Queries {
		judged := len(q.Relevant) > 0
		fmt.Fprintf(&b, "query %s: %s\n", q.QueryID, c.clip(q.Query))
		if judged {
			fmt.Fprintf(&b, "relevant: %s\n", strings.Join(q.Relevant, ", "))
		}
		tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "#\t%s (relevant at %s)\t%s (relevant at %s)\n",
			c.BaseName, c.rankText(judged, q.BaseRank), c.TunedName, c.rankText(judged, q.TunedRank))
		for i := range max(len(q.Base), len(q.Tuned)) {
			var l, r string
			if i < len(q.Base) {
				l = c.docCell(q.Base[i])
			}
			if i < len(q.Tuned) {
				r = c.docCell(q.Tuned[i])
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\n", i+1, l, r)
		}
		_ = tw.Flush()
		b.WriteString("\n")
	}
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "query\t%s rank\t%s rank\toutcome\n", c.BaseName, c.TunedName)
	for _, q := range c.Queries {
		judged := len(q.Relevant) > 0
		out := string(q.Outcome)
		if !judged {
			out = "not judged"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", q.QueryID, c.rankText(judged, q.BaseRank), c.rankText(judged, q.TunedRank), out)
	}
	_ = tw.Flush()
	b.WriteString(c.Summary())
	b.WriteString("\n")
	return b.String()
}

// HTML renders the comparison as an HTML fragment (self-contained, inline styles) for notebooks:
// one side-by-side table per query, relevant documents highlighted, then the rank table and the
// summary. All texts are escaped.
func (c *RetrievalComparison) HTML() string {
	esc := html.EscapeString
	var b strings.Builder
	const cell = `style="border:1px solid #ccc;padding:2px 6px;text-align:left;vertical-align:top"`
	b.WriteString(`<div class="embedtune-retrieval-comparison">`)
	fmt.Fprintf(&b, `<p><b>%s</b></p>`, esc(c.Summary()))
	for _, q := range c.Queries {
		judged := len(q.Relevant) > 0
		fmt.Fprintf(&b, `<p><b>query %s</b>: %s`, esc(q.QueryID), esc(q.Query))
		if judged {
			fmt.Fprintf(&b, ` — relevant: %s`, esc(strings.Join(q.Relevant, ", ")))
		}
		b.WriteString(`</p><table style="border-collapse:collapse">`)
		fmt.Fprintf(&b, `<tr><th %s>#</th><th %s>%s (relevant at %s)</th><th %s>%s (relevant at %s)</th></tr>`,
			cell, cell, esc(c.BaseName), esc(c.rankText(judged, q.BaseRank)), cell, esc(c.TunedName), esc(c.rankText(judged, q.TunedRank)))
		for i := range max(len(q.Base), len(q.Tuned)) {
			fmt.Fprintf(&b, `<tr><td %s>%d</td>`, cell, i+1)
			for _, docs := range [][]RetrievedDoc{q.Base, q.Tuned} {
				if i >= len(docs) {
					fmt.Fprintf(&b, `<td %s></td>`, cell)
					continue
				}
				d := docs[i]
				style := cell
				if d.Relevant {
					style = `style="border:1px solid #ccc;padding:2px 6px;text-align:left;vertical-align:top;background:#d9f2d9"`
				}
				fmt.Fprintf(&b, `<td %s>%.4f <code>%s</code> %s</td>`, style, d.Score, esc(d.CorpusID), esc(c.clip(d.Text)))
			}
			b.WriteString(`</tr>`)
		}
		b.WriteString(`</table>`)
	}
	b.WriteString(`<table style="border-collapse:collapse;margin-top:8px">`)
	fmt.Fprintf(&b, `<tr><th %s>query</th><th %s>%s rank</th><th %s>%s rank</th><th %s>outcome</th></tr>`,
		cell, cell, esc(c.BaseName), cell, esc(c.TunedName), cell)
	for _, q := range c.Queries {
		judged := len(q.Relevant) > 0
		out := string(q.Outcome)
		if !judged {
			out = "not judged"
		}
		fmt.Fprintf(&b, `<tr><td %s>%s</td><td %s>%s</td><td %s>%s</td><td %s>%s</td></tr>`, cell, esc(q.QueryID),
			cell, esc(c.rankText(judged, q.BaseRank)), cell, esc(c.rankText(judged, q.TunedRank)), cell, out)
	}
	b.WriteString(`</table></div>`)
	return b.String()
}
