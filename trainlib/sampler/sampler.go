// Package sampler groups dataset rows into training batches, like sentence-transformers' batch
// samplers (BatchSamplers.BATCH_SAMPLER and BatchSamplers.NO_DUPLICATES).
//
// Every epoch draws a fresh permutation of the rows from a generator seeded with seed + epoch
// (Go's PCG; the permutations differ from PyTorch's, the algorithms on a given permutation do
// not). Batches are computed up front, so Len is the real number of batches of the epoch.
//
// Example:
//
//	s, _ := sampler.New(sampler.NoDuplicates, rows, 16, false, 42)
//	for _, batch := range s.Batches(0) { ... }
package sampler

import (
	"fmt"
	"math/rand/v2"
)

//go:generate go run github.com/embedtune/embedtune/internal/enumgen -type BatchSamplers -setting batch_sampler -unsupported no_duplicates_hashed,group_by_label

// BatchSamplers names a batch sampler (batch_sampler), spelled as sentence-transformers' BatchSamplers
// enum. Its other values (no_duplicates_hashed, group_by_label) are recognized and refused as not
// implemented.
type BatchSamplers string

// The implemented batch samplers.
const (
	BatchSampler BatchSamplers = "batch_sampler" // shuffle, then consecutive batches (the default)
	NoDuplicates BatchSamplers = "no_duplicates" // no two rows sharing a text in one batch
)

// Rows gives the values of each row that NoDuplicates compares (all text columns, label
// columns excluded).
type Rows interface {
	Len() int
	Values(row int) []string
}

// Sampler yields the batches of each epoch.
type Sampler interface {
	// Batches returns the row indices of every batch of the epoch.
	Batches(epoch int) [][]int
	// Name is BatchSampler or NoDuplicates.
	Name() BatchSamplers
}

// New returns the named sampler ("" is BatchSampler).
func New(name BatchSamplers, rows Rows, batchSize int, dropLast bool, seed int64) (Sampler, error) {
	if batchSize <= 0 {
		return nil, fmt.Errorf("batch size must be positive, got %d", batchSize)
	}
	switch name {
	case BatchSampler, "":
		return &random{n: rows.Len(), batchSize: batchSize, dropLast: dropLast, seed: seed}, nil
	case NoDuplicates:
		return &noDuplicates{rows: rows, batchSize: batchSize, dropLast: dropLast, seed: seed}, nil
	}
	return nil, name.Validate()
}

// Permutation returns the row order of an epoch: a Fisher–Yates shuffle driven by PCG seeded
// with seed + epoch.
func Permutation(n int, seed int64, epoch int) []int {
	rng := rand.New(rand.NewPCG(uint64(seed+int64(epoch)), 0x5eed))
	return rng.Perm(n)
}

// random is sentence-transformers' default: shuffle, then consecutive chunks.
type random struct {
	n, batchSize int
	dropLast     bool
	seed         int64
}

func (r *random) Name() BatchSamplers { return BatchSampler }

func (r *random) Batches(epoch int) [][]int {
	perm := Permutation(r.n, r.seed, epoch)
	var out [][]int
	for start := 0; start < len(perm); start += r.batchSize {
		end := start + r.batchSize
		if end > len(perm) {
			if r.dropLast {
				break
			}
			end = len(perm)
		}
		out = append(out, perm[start:end:end])
	}
	return out
}

// noDuplicates never puts two rows sharing a value (compared as strings, across all columns) in
// the same batch.
type noDuplicates struct {
	rows      Rows
	batchSize int
	dropLast  bool
	seed      int64
}

func (s *noDuplicates) Name() BatchSamplers { return NoDuplicates }

func (s *noDuplicates) Batches(epoch int) [][]int {
	return NoDuplicatesBatches(Permutation(s.rows.Len(), s.seed, epoch), s.rows, s.batchSize, s.dropLast)
}

// NoDuplicatesBatches runs sentence-transformers' NoDuplicatesBatchSampler pass over a given
// permutation: scanning the remaining rows in order, a row joins the current batch unless one of
// its values is already in the batch, in which case it stays, in place, for a later batch. A full
// batch is emitted as soon as it has batchSize rows; a scan that reaches the end with a partial
// batch emits it unless dropLast, and the next scan starts over with the rows still waiting. So
// with dropLast=false every row appears exactly once per epoch (near the end, rows that clash
// with each other form small batches); with dropLast=true partial batches are dropped.
func NoDuplicatesBatches(perm []int, rows Rows, batchSize int, dropLast bool) [][]int {
	n := len(perm)
	next := make([]int, n) // Singly linked list over permutation positions; -1 ends it.
	for i := range next {
		next[i] = i + 1
	}
	if n > 0 {
		next[n-1] = -1
	}
	head := 0
	if n == 0 {
		head = -1
	}
	var out [][]int
	for head != -1 {
		seen := map[string]struct{}{}
		batch := make([]int, 0, batchSize)
		cur, prev := head, -1
		full := false
		for cur != -1 {
			nxt := next[cur]
			row := perm[cur]
			vals := rows.Values(row)
			clash := false
			for _, v := range vals {
				if _, ok := seen[v]; ok {
					clash = true
					break
				}
			}
			if clash {
				prev, cur = cur, nxt
				continue
			}
			batch = append(batch, row)
			if prev == -1 {
				head = nxt
			} else {
				next[prev] = nxt
			}
			if len(batch) == batchSize {
				full = true
				out = append(out, batch)
				break
			}
			for _, v := range vals {
				seen[v] = struct{}{}
			}
			cur = nxt
		}
		if !full && !dropLast {
			out = append(out, batch)
		}
	}
	return out
}
