package datasets

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/embedtune/embedtune/internal/pyrandom"
	"github.com/embedtune/embedtune/trainlib/evaluation"
	"github.com/embedtune/embedtune/trainlib/internal/embcache"
	"github.com/embedtune/embedtune/trainlib/model"
)

// MineHardNegatives adds hard negatives to (anchor, positive) pairs, like sentence-transformers'
// util.mine_hard_negatives with the same options (MineOptions) and the same result, row for row:
//
//  1. Anchors are de-duplicated (an anchor repeated with several positives has them all); the
//     corpus is opts.Corpus followed by the positives, de-duplicated, in order of first appearance.
//  2. Anchors are encoded with the encoder's EncodeQuery and the corpus with EncodeDocument
//     (normalized embeddings, the prompts of opts), and each anchor keeps its top
//     range_max + max_positives corpus entries by the model's similarity (exact search).
//  3. Among them the anchor's positives are set aside (unless IncludePositives), then candidates too
//     close to the positive (AbsoluteMargin, RelativeMargin, against the anchor's lowest positive
//     score), above MaxScore or below MinScore. The best range_max that remain are ranked, the first
//     range_min skipped, and num_negatives are taken: the best ones ("top") or a random draw ("random",
//     Python's random.sample after random.seed(opts.Seed)), ordered by score.
//  4. The dataset is built in opts.OutputFormat (see OutputFormat); anchors that found fewer
//     negatives than asked give fewer rows, which the report counts (MiningReport.MissingSamples,
//     QueriesDropped) rather than shrinking the dataset silently.
//
// Memory: the corpus is encoded and searched ChunkSize texts at a time (evaluation.Searcher), so the
// embeddings held at any time are the anchors' (Q·D floats), the positives' (P·D), one chunk
// (ChunkSize·D) and the search's score block, plus the candidates (Q·(range_max + max_positives)
// scores and indices) — never the corpus matrix (N·D). What grows with the corpus is only its text
// index (about 100 bytes per distinct text besides the texts themselves). Measured
// (BenchmarkMineHardNegatives1M, dimension 384, 1,000 anchors): mining added 177 MiB of resident
// memory for 100k passages and 270 MiB for 1M, where the 1M corpus matrix alone is 1,465 MiB.
// Embeddings are cached on disk by content (opts.CacheFolder), so mining again with the same model
// and texts does not encode again.
//
// enc is usually a *model.SentenceTransformer; any evaluation.Encoder works (EncodeQuery /
// EncodeDocument and the similarity function are used when it has them). Ties between equal scores
// are broken by corpus order, where PyTorch's topk breaks them arbitrarily.
//
// Errors name the option at fault: contradictory options, too small a candidate window, a missing
// or non-string column, a null or empty anchor or positive.
//
//	mined, report, err := datasets.MineHardNegatives(pairs, model, datasets.MineOptions{
//		RangeMin: 10, RangeMax: 50, MaxScore: datasets.Ptr(0.8), RelativeMargin: datasets.Ptr(0.05),
//		NumNegatives: 5, SamplingStrategy: datasets.SamplingRandom})
//	fmt.Println(report) // the score statistics and what was skipped, as sentence-transformers prints them
func MineHardNegatives(d *Dataset, enc evaluation.Encoder, opts MineOptions) (*Dataset, *MiningReport, error) {
	o, err := opts.resolve()
	if err != nil {
		return nil, nil, err
	}
	fail := func(err error) (*Dataset, *MiningReport, error) {
		return nil, nil, fmt.Errorf("mine hard negatives: %w", err)
	}
	if d == nil || d.Len() == 0 {
		return fail(fmt.Errorf("the dataset is empty"))
	}
	if enc == nil {
		return fail(fmt.Errorf("no model to encode with"))
	}
	anchorCol, positiveCol, err := pairColumns(d, o.AnchorColumn, o.PositiveColumn)
	if err != nil {
		return fail(err)
	}
	anchors, err := textColumn(d, anchorCol, "anchor_column_name")
	if err != nil {
		return fail(err)
	}
	positives, err := textColumn(d, positiveCol, "positive_column_name")
	if err != nil {
		return fail(err)
	}
	for i, c := range o.Corpus {
		if c == "" {
			return fail(fmt.Errorf("corpus[%d] is empty", i))
		}
	}
	r := &MiningReport{Rows: d.Len(), NumNegatives: o.NumNegatives, AnchorColumn: anchorCol, PositiveColumn: positiveCol,
		Format: o.OutputFormat, Skipped: map[string]SkipCount{}, opts: o}
	logf := func(format string, args ...any) {
		if o.Log != nil {
			fmt.Fprintf(o.Log, format+"\n", args...)
		}
	}

	// Rows per anchor, as pandas' groupby(anchor).count(): duplicate pairs count.
	rowsPerAnchor := map[string]int{}
	for _, a := range anchors {
		rowsPerAnchor[a]++
	}
	maxPositives := 0
	for _, n := range rowsPerAnchor {
		maxPositives = max(maxPositives, n)
	}
	rangeMax := o.RangeMax
	if rangeMax == 0 {
		if o.AbsoluteMargin != nil || o.RelativeMargin != nil || o.MaxScore != nil {
			rangeMax = o.RangeMin + 10*o.NumNegatives + maxPositives
		} else {
			rangeMax = o.RangeMin + o.NumNegatives + maxPositives
		}
		r.Messages = append(r.Messages, fmt.Sprintf("Setting range_max to %d based on the provided parameters.", rangeMax))
	}
	if o.RangeMin >= rangeMax {
		return fail(fmt.Errorf("range_min must be smaller than range_max, got range_min=%d and range_max=%d", o.RangeMin, rangeMax))
	}
	if o.NumNegatives > rangeMax-o.RangeMin {
		return fail(fmt.Errorf("cannot mine %d negatives per query: only %d candidates remain after skipping the first range_min=%d of range_max=%d; decrease num_negatives or range_min, or increase range_max",
			o.NumNegatives, rangeMax-o.RangeMin, o.RangeMin, rangeMax))
	}
	r.RangeMax, r.MaxPositives = rangeMax, maxPositives

	// The corpus (given documents, then positives) and the queries, de-duplicated in order.
	corpus, corpusIdx := dedupeTexts(len(o.Corpus)+len(positives), func(yield func(string)) {
		for _, c := range o.Corpus {
			yield(c)
		}
		for _, p := range positives {
			yield(p)
		}
	})
	queries, queryIdx := dedupeTexts(len(anchors), func(yield func(string)) {
		for _, a := range anchors {
			yield(a)
		}
	})
	nq := len(queries)
	r.Queries, r.Corpus = nq, len(corpus)
	if nq != len(anchors) {
		r.Messages = append(r.Messages, fmt.Sprintf("Found %d unique queries out of %d total queries.", nq, len(anchors)))
	}
	if maxPositives > 1 {
		r.Messages = append(r.Messages, fmt.Sprintf("Found an average of %.3f positives per query.", float64(len(anchors))/float64(len(rowsPerAnchor))))
	}
	for _, m := range r.Messages {
		logf("%s", m)
	}
	// Each query's distinct positives, in order of appearance.
	posIdx := make([][]int, nq)
	isPositive := make([]bool, len(corpus))
	for i, a := range anchors {
		q, p := queryIdx[a], corpusIdx[positives[i]]
		if !slices.Contains(posIdx[q], p) {
			posIdx[q] = append(posIdx[q], p)
		}
		isPositive[p] = true
	}

	fn, err := scoreFunctionOf(enc)
	if err != nil {
		return fail(err)
	}
	enc, err = cachedEncoder(enc, o)
	if err != nil {
		return fail(err)
	}
	encodeQuery, encodeDoc := enc.Encode, enc.Encode
	if qe, ok := enc.(evaluation.QueryEncoder); ok {
		encodeQuery = qe.EncodeQuery
	}
	if de, ok := enc.(evaluation.DocumentEncoder); ok {
		encodeDoc = de.EncodeDocument
	}
	base := model.EncodeOptions{Context: o.Context, BatchSize: o.BatchSize, Normalize: true}
	qOpts, dOpts := base, base
	qOpts.Prompt, qOpts.PromptName = o.QueryPrompt, o.QueryPromptName
	dOpts.Prompt, dOpts.PromptName = o.CorpusPrompt, o.CorpusPromptName

	start := time.Now()
	qEmb := make([][]float32, 0, nq)
	for s := 0; s < nq; s += o.ChunkSize {
		e := min(s+o.ChunkSize, nq)
		emb, err := encodeChecked(encodeQuery, queries[s:e], &qOpts, "anchor", s, 0)
		if err != nil {
			return fail(err)
		}
		qEmb = append(qEmb, emb...)
		logf("encoded %d/%d queries", e, nq)
	}
	dim := len(qEmb[0])
	width := rangeMax + maxPositives // candidates kept per query, as sentence-transformers
	so := o.Search
	so.Context, so.ScoreFunction = o.Context, fn
	searcher, err := evaluation.NewSearcher(qEmb, min(width, len(corpus)), so)
	if err != nil {
		return fail(err)
	}
	defer searcher.Close()
	posEmb := map[int][]float32{}
	for s := 0; s < len(corpus); s += o.ChunkSize {
		e := min(s+o.ChunkSize, len(corpus))
		emb, err := encodeChecked(encodeDoc, corpus[s:e], &dOpts, "corpus", s, dim)
		if err != nil {
			return fail(err)
		}
		if err := searcher.Add(emb); err != nil {
			return fail(err)
		}
		for i, v := range emb {
			if isPositive[s+i] {
				posEmb[s+i] = v
			}
		}
		logf("encoded and searched %d/%d corpus texts", e, len(corpus))
	}
	hits, err := searcher.Results()
	if err != nil {
		return fail(err)
	}
	if ce, ok := enc.(*embcache.Encoder); ok {
		r.CacheHits, r.CacheMisses = ce.Stats()
		r.CacheFolder = ce.Dir()
	}
	r.EncodeSearchSeconds = time.Since(start).Seconds()

	// Candidates: [query][width] scores and corpus indices, -inf / -1 past the corpus size.
	negInf := float32(math.Inf(-1))
	scores := make([][]float32, nq)
	indices := make([][]int, nq)
	for q, hs := range hits {
		scores[q], indices[q] = make([]float32, width), make([]int, width)
		for j := range width {
			if j < len(hs) {
				scores[q][j], indices[q][j] = hs[j].Score, hs[j].Index
			} else {
				scores[q][j], indices[q][j] = negInf, -1
			}
		}
	}
	// Positive scores, per (query, positive) in query order.
	var posScores []float32
	pairQuery := []int{}
	pairPos := []int{}
	minPos := make([]float32, nq)
	for q := range nq {
		minPos[q] = float32(math.Inf(1))
		for _, p := range posIdx[q] {
			s := pairwise(fn, qEmb[q], posEmb[p])
			posScores = append(posScores, s)
			pairQuery = append(pairQuery, q)
			pairPos = append(pairPos, p)
			minPos[q] = min(minPos[q], s)
		}
	}
	if !o.IncludePositives {
		for q := range nq {
			for j, c := range indices[q] {
				if c >= 0 && slices.Contains(posIdx[q], c) {
					scores[q][j] = negInf
				}
			}
		}
	}
	numCandidates := nq * width
	remove := func(name string, decrement bool, drop func(q int, s float32) bool) {
		n := 0
		for q := range nq {
			for j, s := range scores[q] {
				if drop(q, s) {
					scores[q][j] = negInf
					n++
				}
			}
		}
		if n > 0 {
			r.Skipped[name] = SkipCount{Skipped: n, Ratio: float64(n) / float64(numCandidates)}
			if decrement {
				numCandidates -= n
			}
		}
	}
	if m := o.AbsoluteMargin; m != nil {
		margin := float32(*m)
		remove("absolute_margin", true, func(q int, s float32) bool { return s+margin > minPos[q] })
	}
	if m := o.RelativeMargin; m != nil {
		margin := float32(*m)
		remove("relative_margin", true, func(q int, s float32) bool {
			return s > minPos[q]-float32(math.Abs(float64(minPos[q])))*margin
		})
	}
	if m := o.MaxScore; m != nil {
		limit := float32(*m)
		remove("max_score", false, func(_ int, s float32) bool { return s > limit })
	}
	if m := o.MinScore; m != nil {
		limit := float32(*m)
		remove("min_score", false, func(_ int, s float32) bool { return s < limit })
	}

	// The best range_max candidates, minus the first range_min; then the negatives.
	negScores := make([][]float32, nq)
	negIdx := make([][]int, nq)
	rng := pyrandom.New(o.Seed)
	for q := range nq {
		order := make([]int, width)
		for j := range order {
			order[j] = j
		}
		sort.SliceStable(order, func(a, b int) bool { return scores[q][order[a]] > scores[q][order[b]] })
		order = order[o.RangeMin:rangeMax]
		switch o.SamplingStrategy {
		case SamplingTop:
			order = order[:o.NumNegatives]
		case SamplingRandom:
			options := len(order)
			for _, j := range order {
				if math.IsInf(float64(scores[q][j]), -1) {
					options--
				}
			}
			picks, err := rng.Sample(max(options, o.NumNegatives), o.NumNegatives)
			if err != nil {
				return fail(err)
			}
			sampled := make([]int, len(picks))
			for i, p := range picks {
				sampled[i] = order[p]
			}
			sort.SliceStable(sampled, func(a, b int) bool { return scores[q][sampled[a]] > scores[q][sampled[b]] })
			order = sampled
		}
		for _, j := range order {
			negScores[q] = append(negScores[q], scores[q][j])
			negIdx[q] = append(negIdx[q], indices[q][j])
		}
	}
	logf("Negative candidates mined, preparing dataset...")
	out, err := buildMined(r, o, queries, corpus, posIdx, posScores, pairQuery, pairPos, negScores, negIdx)
	if err != nil {
		return fail(err)
	}
	r.OutputRows = out.Len()
	for _, line := range r.stats() {
		logf("%s", line)
	}
	return out, r, nil
}

// pairColumns resolves the anchor and positive column names.
func pairColumns(d *Dataset, anchor, positive string) (string, string, error) {
	cols := d.Columns()
	if anchor == "" {
		anchor = cols[0]
	}
	if positive == "" {
		if len(cols) < 2 {
			return "", "", fmt.Errorf("the dataset has one column %q: it needs an anchor and a positive column", cols[0])
		}
		positive = cols[1]
	}
	for _, c := range []struct{ opt, name string }{{"anchor_column_name", anchor}, {"positive_column_name", positive}} {
		if !slices.Contains(cols, c.name) {
			return "", "", fmt.Errorf("%s %q is not a column; the columns are %s", c.opt, c.name, quoteList(cols))
		}
	}
	if anchor == positive {
		return "", "", fmt.Errorf("anchor_column_name and positive_column_name are both %q", anchor)
	}
	return anchor, positive, nil
}

// textColumn returns a string column's values; a null or empty value is an error naming the row.
func textColumn(d *Dataset, name, option string) ([]string, error) {
	c, err := d.Column(name)
	if err != nil {
		return nil, err
	}
	if c.Type() != String {
		return nil, fmt.Errorf("column %q (%s) has type %s; it must hold strings", name, option, c.Type())
	}
	out := make([]string, c.Len())
	for i := range out {
		if c.IsNull(i) || c.Str(i) == "" {
			return nil, fmt.Errorf("row %d: column %q (%s) is empty", i, name, option)
		}
		out[i] = c.Str(i)
	}
	return out, nil
}

// dedupeTexts returns the distinct texts in order of first appearance and the index of each.
func dedupeTexts(sizeHint int, texts func(yield func(string))) ([]string, map[string]int) {
	idx := make(map[string]int, sizeHint)
	var out []string
	texts(func(t string) {
		if _, ok := idx[t]; !ok {
			idx[t] = len(out)
			out = append(out, t)
		}
	})
	return out, idx
}

// scoreFunctionOf returns the encoder's similarity as a search score function (cosine by default).
func scoreFunctionOf(enc evaluation.Encoder) (evaluation.ScoreFunction, error) {
	sn, ok := enc.(evaluation.SimilarityNamer)
	if !ok || sn.SimilarityFnName() == "" {
		return evaluation.Cosine, nil
	}
	fn, err := evaluation.ParseScoreFunction(sn.SimilarityFnName())
	if err != nil {
		return "", fmt.Errorf("the model's similarity function: %w", err)
	}
	return fn, nil
}

// cachedEncoder wraps a model in the on-disk embedding cache unless opts turn it off.
func cachedEncoder(enc evaluation.Encoder, o MineOptions) (evaluation.Encoder, error) {
	m, ok := enc.(*model.SentenceTransformer)
	if !ok || o.NoCache {
		return enc, nil
	}
	return embcache.New(m, o.CacheFolder)
}

// encodeChecked encodes texts and checks the embeddings: one per text, of dimension dim (the first
// one's when 0), finite.
func encodeChecked(enc func([]string, *model.EncodeOptions) ([][]float32, error), texts []string,
	opts *model.EncodeOptions, what string, offset, dim int) ([][]float32, error) {
	emb, err := enc(texts, opts)
	if err != nil {
		return nil, fmt.Errorf("encoding %s texts %d..%d: %w", what, offset, offset+len(texts)-1, err)
	}
	if len(emb) != len(texts) {
		return nil, fmt.Errorf("encoding %d %s texts returned %d embeddings", len(texts), what, len(emb))
	}
	if dim == 0 {
		dim = len(emb[0])
	}
	for i, v := range emb {
		if len(v) != dim || dim == 0 {
			return nil, fmt.Errorf("%s text %d: embedding of dimension %d, expected %d", what, offset+i, len(v), dim)
		}
		for _, x := range v {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return nil, fmt.Errorf("%s text %d: the embedding holds a non-finite value", what, offset+i)
			}
		}
	}
	return emb, nil
}

// pairwise is sentence-transformers' similarity_pairwise of two vectors in float32: the dot product,
// of the L2-normalized vectors (by max(‖v‖, 1e-12)) for cosine.
func pairwise(fn evaluation.ScoreFunction, a, b []float32) float32 {
	if fn == evaluation.Cosine {
		a, b = normalized(a), normalized(b)
	}
	var s float32
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func normalized(v []float32) []float32 {
	var ss float32
	for _, x := range v {
		ss += x * x
	}
	n := float32(math.Sqrt(float64(ss)))
	n = max(n, 1e-12)
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = x / n
	}
	return out
}

// buildMined lays out the mined dataset in the output format and fills the report's counts and score
// lists.
func buildMined(r *MiningReport, o MineOptions, queries, corpus []string, posIdx [][]int, posScores []float32,
	pairQuery, pairPos []int, negScores [][]float32, negIdx [][]int) (*Dataset, error) {
	finite := func(s float32) bool { return !math.IsInf(float64(s), -1) }
	a, p := r.AnchorColumn, r.PositiveColumn
	var cols []NamedValues
	var negList, diffList []float64
	scoresJSON := func(vals []float32) json.RawMessage {
		f := make([]float64, len(vals))
		for i, v := range vals {
			f[i] = float64(v)
		}
		b, _ := json.Marshal(f)
		return b
	}
	for _, s := range posScores {
		r.positiveScores = append(r.positiveScores, float64(s))
	}
	switch o.OutputFormat {
	case OutputTriplet:
		var an, po, ne []string
		var sc []any
		for k, q := range pairQuery {
			for j, s := range negScores[q] {
				if !finite(s) {
					continue
				}
				an, po, ne = append(an, queries[q]), append(po, corpus[pairPos[k]]), append(ne, corpus[negIdx[q][j]])
				if o.OutputScores {
					sc = append(sc, scoresJSON([]float32{posScores[k], s}))
				}
				negList = append(negList, float64(s))
				diffList = append(diffList, float64(posScores[k]-s))
			}
		}
		r.MaximumPossibleSamples = len(pairQuery) * o.NumNegatives
		cols = []NamedValues{Col(a, an), Col(p, po), Col("negative", ne)}
		if o.OutputScores {
			cols = append(cols, Col("scores", sc))
		}
	case OutputLabeledPair:
		var an, po []string
		var lab []any
		k := 0
		for q := range queries {
			for range posIdx[q] {
				an, po = append(an, queries[q]), append(po, corpus[pairPos[k]])
				if o.OutputScores {
					lab = append(lab, float64(posScores[k]))
				} else {
					lab = append(lab, int64(1))
				}
				k++
			}
			for j, s := range negScores[q] {
				if !finite(s) {
					continue
				}
				an, po = append(an, queries[q]), append(po, corpus[negIdx[q][j]])
				if o.OutputScores {
					lab = append(lab, float64(s))
				} else {
					lab = append(lab, int64(0))
				}
			}
		}
		for k, q := range pairQuery {
			for _, s := range negScores[q] {
				if finite(s) {
					negList = append(negList, float64(s))
					diffList = append(diffList, float64(posScores[k]-s))
				}
			}
		}
		r.MaximumPossibleSamples = len(queries)*o.NumNegatives + r.Rows
		name := "label"
		if o.OutputScores {
			name = "score"
		}
		cols = []NamedValues{Col(a, an), Col(p, po), Col(name, lab)}
	case OutputNTuple:
		var an, po []string
		negs := make([][]string, o.NumNegatives)
		var sc []any
		for k, q := range pairQuery {
			if len(negScores[q]) < o.NumNegatives || slices.ContainsFunc(negScores[q], func(s float32) bool { return !finite(s) }) {
				continue
			}
			an, po = append(an, queries[q]), append(po, corpus[pairPos[k]])
			for j := range o.NumNegatives {
				negs[j] = append(negs[j], corpus[negIdx[q][j]])
				negList = append(negList, float64(negScores[q][j]))
				diffList = append(diffList, float64(posScores[k]-negScores[q][j]))
			}
			if o.OutputScores {
				sc = append(sc, scoresJSON(append([]float32{posScores[k]}, negScores[q]...)))
			}
		}
		r.MaximumPossibleSamples = len(pairQuery)
		cols = []NamedValues{Col(a, an), Col(p, po)}
		for j := range negs {
			cols = append(cols, Col("negative_"+strconv.Itoa(j+1), negs[j]))
		}
		if o.OutputScores {
			cols = append(cols, Col("scores", sc))
		}
	case OutputLabeledList:
		var an []string
		var docs []any
		var lab []any
		for k, q := range pairQuery {
			list := []string{corpus[pairPos[k]]}
			labels := []int64{1}
			sc := []float32{posScores[k]}
			for j, s := range negScores[q] {
				if finite(s) {
					list = append(list, corpus[negIdx[q][j]])
					labels = append(labels, 0)
					sc = append(sc, s)
					negList = append(negList, float64(s))
					diffList = append(diffList, float64(posScores[k]-s))
				}
			}
			if len(list) == 1 {
				continue
			}
			an, docs = append(an, queries[q]), append(docs, list)
			if o.OutputScores {
				lab = append(lab, scoresJSON(sc))
			} else {
				b, _ := json.Marshal(labels)
				lab = append(lab, json.RawMessage(b))
			}
		}
		r.MaximumPossibleSamples = len(pairQuery)
		name := "labels"
		if o.OutputScores {
			name = "scores"
		}
		cols = []NamedValues{Col(a, an), Col(p, docs), Col(name, lab)}
	}
	r.negativeScores, r.differences = negList, diffList
	// Anchors left with fewer negatives than asked, and those left with none.
	for q := range queries {
		n := 0
		for _, s := range negScores[q] {
			if finite(s) {
				n++
			}
		}
		if n < o.NumNegatives {
			r.QueriesShort++
		}
		if (n == 0 && o.OutputFormat != OutputLabeledPair) || (n < o.NumNegatives && o.OutputFormat == OutputNTuple) {
			r.QueriesDropped++
		}
	}
	return FromColumns(cols...)
}
