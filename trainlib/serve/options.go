package serve

import (
	"fmt"
	"log/slog"
	"time"
)

// Option configures [New] and [Start].
type Option func(*config)

// config holds the server settings; defaults are in defaultConfig.
type config struct {
	maxBatch        int
	maxWait         time.Duration
	maxQueue        int
	maxInputs       int
	maxRequestBytes int64
	requestTimeout  time.Duration
	autoTruncate    bool
	apiKey          string
	logger          *slog.Logger
	warmup          bool
}

// Defaults. MaxInputs is OpenAI's limit of inputs per embeddings request (LangChain's
// OpenAIEmbeddings sends up to 1,000 per request by default).
const (
	DefaultMaxBatch        = 32
	DefaultMaxWait         = 5 * time.Millisecond
	DefaultMaxQueue        = 4096
	DefaultMaxInputs       = 2048
	DefaultMaxRequestBytes = 16 << 20
	DefaultRequestTimeout  = 60 * time.Second
)

func defaultConfig() config {
	return config{maxBatch: DefaultMaxBatch, maxWait: DefaultMaxWait, maxQueue: DefaultMaxQueue,
		maxInputs: DefaultMaxInputs, maxRequestBytes: DefaultMaxRequestBytes, requestTimeout: DefaultRequestTimeout,
		autoTruncate: true}
}

// WithMaxBatch sets the most texts one forward pass embeds (texts of concurrent requests are batched
// together). Default [DefaultMaxBatch].
func WithMaxBatch(n int) Option { return func(c *config) { c.maxBatch = n } }

// WithMaxWait sets how long the first text of a batch waits for more before the batch runs anyway.
// Default [DefaultMaxWait]; 0 runs at once with whatever is queued.
func WithMaxWait(d time.Duration) Option { return func(c *config) { c.maxWait = d } }

// WithMaxQueue bounds the texts waiting per model; a request that would exceed it is answered 429
// with Retry-After. Default [DefaultMaxQueue]. It must be at least the max inputs per request.
func WithMaxQueue(n int) Option { return func(c *config) { c.maxQueue = n } }

// WithMaxInputs bounds the texts in one request (413 above). Default [DefaultMaxInputs].
func WithMaxInputs(n int) Option { return func(c *config) { c.maxInputs = n } }

// WithMaxRequestBytes bounds the request body (413 above). Default [DefaultMaxRequestBytes].
func WithMaxRequestBytes(n int64) Option { return func(c *config) { c.maxRequestBytes = n } }

// WithRequestTimeout bounds a request's time in the server, queue and forward pass included (503
// with Retry-After when exceeded). Default [DefaultRequestTimeout]; 0 means no limit.
func WithRequestTimeout(d time.Duration) Option { return func(c *config) { c.requestTimeout = d } }

// WithAutoTruncate sets what happens to a text longer than the model's max_seq_length when the
// request does not say (TEI's "truncate" field): true (default, as sentence-transformers and TEI)
// keeps the first max_seq_length tokens; false answers 413 naming the limit.
func WithAutoTruncate(on bool) Option { return func(c *config) { c.autoTruncate = on } }

// WithAPIKey requires "Authorization: Bearer KEY" on every route except /health and /metrics
// (401 otherwise). Default: no key.
func WithAPIKey(key string) Option { return func(c *config) { c.apiKey = key } }

// WithLogger sets the structured logger (one line per request: route, status, duration, model,
// number of inputs and tokens — never the texts or the API key). Default: discard.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithWarmup makes [Start] run [Server.Warmup] before it listens: every batch shape is compiled
// before the first request (worth it with XLA; the pure-Go backend compiles fast). Default false.
func WithWarmup(on bool) Option { return func(c *config) { c.warmup = on } }

func (c *config) validate() error {
	switch {
	case c.maxBatch < 1:
		return fmt.Errorf("serve: max batch %d must be at least 1", c.maxBatch)
	case c.maxWait < 0:
		return fmt.Errorf("serve: max wait %s must not be negative", c.maxWait)
	case c.maxInputs < 1:
		return fmt.Errorf("serve: max inputs %d must be at least 1", c.maxInputs)
	case c.maxQueue < c.maxInputs:
		return fmt.Errorf("serve: max queue %d must be at least max inputs per request (%d), or large requests could never run", c.maxQueue, c.maxInputs)
	case c.maxRequestBytes < 1:
		return fmt.Errorf("serve: max request bytes %d must be positive", c.maxRequestBytes)
	case c.requestTimeout < 0:
		return fmt.Errorf("serve: request timeout %s must not be negative", c.requestTimeout)
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	return nil
}
