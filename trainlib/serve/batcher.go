package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/embedtune/embedtune/trainlib/model"
)

// embedder runs one forward pass over tokenized texts ([model.SentenceTransformer.EmbedIDs]).
type embedder interface {
	EmbedIDs(seqs [][]int, promptLen, maxRows int) ([][]float32, error)
}

// Errors of [batcher.submit].
var (
	errQueueFull = errors.New("queue full")
	errClosed    = errors.New("server shutting down")
)

// job is one request's texts, embedded by one or more forward passes, possibly together with texts
// of other requests.
type job struct {
	ctx       context.Context
	seqs      [][]int
	promptLen int
	enqueued  time.Time

	// Guarded by the batcher's mutex.
	out      [][]float32
	left     int
	err      error
	finished bool
	done     chan struct{}
}

func newJob(ctx context.Context, seqs [][]int, promptLen int) *job {
	return &job{ctx: ctx, seqs: seqs, promptLen: promptLen, out: make([][]float32, len(seqs)), left: len(seqs),
		done: make(chan struct{})}
}

// finish records the outcome and wakes the waiting handler (once). Called with the batcher's mutex held.
func (j *job) finish(err error) {
	if j.finished {
		return
	}
	j.finished, j.err = true, err
	close(j.done)
}

// item is one text of a job waiting in the queue.
type item struct {
	j      *job
	i      int
	bucket int // model.SeqBucket of the text's length: texts of one bucket pad to the same length
}

// batcher is the dynamic batching queue of one model: handlers submit jobs; a single worker collects
// waiting texts into forward passes of up to maxBatch texts, waiting at most maxWait after the oldest
// text arrived for the batch to fill. A pass takes the oldest text's length bucket (and prompt), the
// texts of that bucket in arrival order, then fills the rows that padding to a power of two would
// waste with shorter texts. Texts of cancelled or timed-out requests leave the queue at once and never run.
type batcher struct {
	name     string
	model    embedder
	maxSeq   int
	maxBatch int
	maxWait  time.Duration
	maxQueue int
	metrics  *metrics
	log      *slog.Logger

	mu      sync.Mutex
	pending []item
	closing bool
	lastErr error   // error of the last forward pass, nil after a success (health)
	rate    float64 // texts per second, moving average (Retry-After estimates)

	wake    chan struct{}
	stopped chan struct{}
}

func newBatcher(name string, m embedder, maxSeq int, c *config, met *metrics) *batcher {
	b := &batcher{name: name, model: m, maxSeq: maxSeq, maxBatch: c.maxBatch, maxWait: c.maxWait, maxQueue: c.maxQueue,
		metrics: met, log: c.logger, wake: make(chan struct{}, 1), stopped: make(chan struct{})}
	go b.loop()
	return b
}

// submit queues the job's texts. It fails with errQueueFull (and a Retry-After estimate in seconds)
// when they do not fit in the queue, and with errClosed once the batcher is closing.
func (b *batcher) submit(j *job) (retryAfter int, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closing {
		return 0, errClosed
	}
	if len(b.pending)+len(j.seqs) > b.maxQueue {
		return b.retryAfterLocked(len(j.seqs)), errQueueFull
	}
	j.enqueued = time.Now()
	for i, s := range j.seqs {
		b.pending = append(b.pending, item{j: j, i: i, bucket: model.SeqBucket(len(s), b.maxSeq)})
	}
	b.metrics.setQueueDepth(b.name, len(b.pending))
	b.signal()
	return 0, nil
}

// retryAfterLocked estimates the seconds until n more texts would fit: the texts ahead of them at
// the measured throughput, between 1 and 60.
func (b *batcher) retryAfterLocked(n int) int {
	rate := b.rate
	if rate <= 0 {
		rate = float64(b.maxBatch) // Unknown yet: assume one batch per second.
	}
	s := math.Ceil(float64(len(b.pending)+n-b.maxQueue) / rate)
	return int(min(max(s, 1), 60))
}

func (b *batcher) signal() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// healthErr returns the error of the last forward pass if it failed.
func (b *batcher) healthErr() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.lastErr
}

// close stops accepting jobs, lets the worker finish the queued texts, and waits for it.
func (b *batcher) close() {
	b.mu.Lock()
	b.closing = true
	b.mu.Unlock()
	b.signal()
	<-b.stopped
}

// loop is the worker: wait for texts, let a batch fill for up to maxWait, run it, repeat.
func (b *batcher) loop() {
	defer close(b.stopped)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		b.mu.Lock()
		n, closing := len(b.pending), b.closing
		var oldest time.Time
		if n > 0 {
			oldest = b.pending[0].j.enqueued
		}
		b.mu.Unlock()
		if n == 0 {
			if closing {
				return
			}
			<-b.wake
			continue
		}
		if wait := time.Until(oldest.Add(b.maxWait)); n < b.maxBatch && !closing && wait > 0 {
			timer.Reset(wait)
			select {
			case <-b.wake:
				timer.Stop()
				continue // More texts or closing: look again.
			case <-timer.C:
			}
		}
		if batch, promptLen := b.take(); len(batch) > 0 {
			b.run(batch, promptLen)
		}
	}
}

// take removes the next batch from the queue (see batcher), dropping the texts of requests that
// were cancelled or timed out.
func (b *batcher) take() ([]item, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.keepLocked(func(it item) bool {
		if it.j.finished {
			return false
		}
		if err := it.j.ctx.Err(); err != nil {
			it.j.finish(err)
			return false
		}
		return true
	})
	live := b.pending
	if len(live) == 0 {
		b.metrics.setQueueDepth(b.name, 0)
		return nil, 0
	}
	head := live[0]
	prompt := head.j.promptLen
	picked := make([]bool, len(live))
	var batch []item
	for k, it := range live {
		if len(batch) == b.maxBatch {
			break
		}
		if it.bucket == head.bucket && it.j.promptLen == prompt {
			batch, picked[k] = append(batch, it), true
		}
	}
	free := model.BatchBucket(len(batch), b.maxBatch) - len(batch)
	for k, it := range live {
		if free == 0 {
			break
		}
		if !picked[k] && it.bucket < head.bucket && it.j.promptLen == prompt {
			batch, picked[k] = append(batch, it), true
			free--
		}
	}
	rest := live[:0]
	for k, it := range live {
		if !picked[k] {
			rest = append(rest, it)
		}
	}
	clear(live[len(rest):])
	b.pending = rest
	b.metrics.setQueueDepth(b.name, len(rest))
	return batch, prompt
}

// run embeds one batch and hands each text's embedding to its job.
func (b *batcher) run(batch []item, promptLen int) {
	seqs := make([][]int, len(batch))
	tokens, padded := 0, 0
	start := time.Now()
	for k, it := range batch {
		seqs[k] = it.j.seqs[it.i]
		tokens += len(seqs[k])
		padded = max(padded, it.bucket)
		b.metrics.observeQueueWait(b.name, start.Sub(it.j.enqueued))
	}
	emb, err := b.embed(seqs, promptLen)
	elapsed := time.Since(start)
	b.metrics.observeBatch(b.name, len(batch), tokens, elapsed)
	b.mu.Lock()
	defer b.mu.Unlock()
	if err != nil {
		b.lastErr = err
		b.log.Error("forward pass failed", "model", b.name, "batch", len(batch), "error", err.Error())
		for _, it := range batch {
			it.j.finish(err)
		}
		return
	}
	b.lastErr = nil
	if s := elapsed.Seconds(); s > 0 {
		r := float64(len(batch)) / s
		if b.rate == 0 {
			b.rate = r
		} else {
			b.rate = 0.8*b.rate + 0.2*r
		}
	}
	for k, it := range batch {
		it.j.out[it.i] = emb[k]
		if it.j.left--; it.j.left == 0 {
			it.j.finish(nil)
		}
	}
	b.log.Debug("batch", "model", b.name, "texts", len(batch), "tokens", tokens, "padded_len", padded,
		"ms", float64(elapsed.Microseconds())/1000)
}

// embed runs the forward pass, turning a panic of the compute backend into an error so that the
// server keeps serving.
func (b *batcher) embed(seqs [][]int, promptLen int) (emb [][]float32, err error) {
	defer func() {
		if r := recover(); r != nil {
			emb, err = nil, fmt.Errorf("forward pass panicked: %v", r)
		}
	}()
	emb, err = b.model.EmbedIDs(seqs, promptLen, b.maxBatch)
	if err == nil && len(emb) != len(seqs) {
		err = fmt.Errorf("forward pass returned %d embeddings for %d texts", len(emb), len(seqs))
	}
	return emb, err
}

// dropLocked removes the job's texts still waiting in the queue, so that a request that was cancelled or
// timed out stops taking queue room at once (not only when the worker next takes a batch: while a long
// forward pass runs, the room is what new requests need). Called with the mutex held.
func (b *batcher) dropLocked(j *job) {
	if b.keepLocked(func(it item) bool { return it.j != j }) > 0 {
		b.metrics.setQueueDepth(b.name, len(b.pending))
	}
}

// keepLocked keeps, in order, the queued texts for which keep returns true and returns how many it removed.
// Called with the mutex held.
func (b *batcher) keepLocked(keep func(item) bool) int {
	live := b.pending[:0]
	for _, it := range b.pending {
		if keep(it) {
			live = append(live, it)
		}
	}
	removed := len(b.pending) - len(live)
	clear(b.pending[len(live):])
	b.pending = live
	return removed
}

// wait blocks until the job is done or its context ends, and returns its embeddings.
func (j *job) wait(b *batcher) ([][]float32, error) {
	select {
	case <-j.done:
	case <-j.ctx.Done():
		b.mu.Lock()
		j.finish(j.ctx.Err()) // a no-op if it finished meanwhile
		b.dropLocked(j)
		b.mu.Unlock()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return j.out, j.err
}
