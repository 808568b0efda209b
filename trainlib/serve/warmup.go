package serve

import (
	"context"
	"fmt"
	"time"

	"github.com/embedtune/embedtune/trainlib/model"
)

// Warmup runs one forward pass of every batch shape the server can use — rows 1, 2, 4, … up to the
// max batch, times each length bucket up to max_seq_length — so that no request waits for a graph
// compilation. Compiling is cheap on the pure-Go backend but takes a moment per shape with XLA, where
// the first requests of each new shape would otherwise be slow. Call it before serving traffic; it
// returns how many shapes ran and stops early when ctx ends. [Start] calls it with [WithWarmup].
func (s *Server) Warmup(ctx context.Context) (int, error) {
	n := 0
	for _, sv := range s.models.order {
		m := sv.m
		sp := m.Tokenizer.Special()
		var lengths []int
		for k := 1; ; {
			b := model.SeqBucket(k, m.MaxSeqLength)
			lengths = append(lengths, b)
			if b >= m.MaxSeqLength {
				break
			}
			k = b + 1
		}
		for _, L := range lengths {
			seq := make([]int, L)
			for i := range seq {
				seq[i] = max(sp.UNK, 0)
			}
			seq[0], seq[L-1] = max(sp.CLS, 0), max(sp.SEP, 0)
			for rows := 1; ; rows *= 2 {
				rows = min(rows, s.cfg.maxBatch)
				if err := ctx.Err(); err != nil {
					return n, err
				}
				seqs := make([][]int, rows)
				for i := range seqs {
					seqs[i] = seq
				}
				start := time.Now()
				if _, err := m.EmbedIDs(seqs, 0, s.cfg.maxBatch); err != nil {
					return n, fmt.Errorf("warm-up of model %s, %d×%d tokens: %w", sv.name, rows, L, err)
				}
				s.cfg.logger.Debug("warm-up", "model", sv.name, "rows", rows, "length", L, "ms", time.Since(start).Milliseconds())
				n++
				if rows == s.cfg.maxBatch {
					break
				}
			}
		}
	}
	return n, nil
}
