package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/embedtune/embedtune/trainlib/model"
	"github.com/embedtune/embedtune/trainlib/serve"
)

// modelFlags collects repeated --model [NAME=]DIR_OR_HUB_ID values.
type modelFlags []string

func (m *modelFlags) String() string     { return strings.Join(*m, ",") }
func (m *modelFlags) Set(v string) error { *m = append(*m, v); return nil }

// millisFlag is a duration given as "5ms", "1s" or a bare number of milliseconds.
type millisFlag struct{ d *time.Duration }

func (f millisFlag) String() string {
	if f.d == nil {
		return ""
	}
	return f.d.String()
}

func (f millisFlag) Set(v string) error {
	if ms, err := strconv.ParseFloat(v, 64); err == nil {
		*f.d = time.Duration(ms * float64(time.Millisecond))
		return nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return fmt.Errorf("expected milliseconds or a duration like 5ms, got %q", v)
	}
	*f.d = d
	return nil
}

// runServe: embedtune serve --model [NAME=]DIR [--model ...] [--addr 127.0.0.1:8080] [flags].
func runServe(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", "--model [NAME=]DIR_OR_HUB_ID [--model ...] [--addr 127.0.0.1:8080] [flags]", stderr)
	var models modelFlags
	fs.Var(&models, "model", "model to serve: a sentence-transformers folder (a LoRA adapter folder too) or a Hub id, optionally NAME=...; repeat for several (the first is the default)")
	addr := fs.String("addr", "127.0.0.1:8080", "listen address (host:port; port 0 picks a free one)")
	maxBatch := fs.Int("max-batch", serve.DefaultMaxBatch, "most texts per forward pass (texts of concurrent requests are batched together)")
	maxWait := serve.DefaultMaxWait
	fs.Var(millisFlag{&maxWait}, "max-wait", "how long a batch waits to fill after its first text (milliseconds, or a duration like 5ms)")
	maxQueue := fs.Int("max-queue", serve.DefaultMaxQueue, "most texts waiting per model; beyond, requests get 429 with Retry-After")
	maxInputs := fs.Int("max-inputs", serve.DefaultMaxInputs, "most texts per request (413 beyond)")
	maxBytes := fs.Int64("max-request-bytes", serve.DefaultMaxRequestBytes, "largest request body in bytes (413 beyond)")
	timeout := fs.Duration("timeout", serve.DefaultRequestTimeout, "per-request time limit, queue and forward pass included (503 beyond; 0 = none)")
	drain := fs.Duration("drain-timeout", serve.DefaultDrainTimeout, "on SIGTERM/SIGINT, how long to wait for requests in flight")
	apiKey := fs.String("api-key", "", "require \"Authorization: Bearer KEY\" (default: $EMBEDTUNE_API_KEY; prefer the variable: flags show in ps)")
	autoTruncate := fs.Bool("auto-truncate", true, "cut texts over max_seq_length when the request does not say (false: 413)")
	warmup := fs.Bool("warmup", false, "before listening, run every batch shape once so no request waits for a graph compilation (worth it with XLA)")
	merge := fs.Bool("merge-lora", false, "fold LoRA adapters into the base weights at load (faster; same numbers to float rounding)")
	logFormat := fs.String("log-format", "text", "log format on stderr: text or json")
	logLevel := fs.String("log-level", "info", "log level: debug (also one line per batch), info, warn, error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(models) == 0 {
		return errors.New("--model is required (a sentence-transformers folder or Hub id; repeat for several)")
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (flags start with --)", fs.Arg(0))
	}
	logger, err := newLogger(stderr, *logFormat, *logLevel)
	if err != nil {
		return err
	}
	// From here on SIGTERM/SIGINT drain instead of killing (also while the models load).
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	key := *apiKey
	if key == "" {
		key = os.Getenv("EMBEDTUNE_API_KEY")
	}
	served := make([]serve.Model, 0, len(models))
	for _, spec := range models {
		name, src := modelName(spec)
		start := time.Now()
		m, err := model.Load(src, model.WithLogger(stderr))
		if err != nil {
			return fmt.Errorf("--model %s: %w", spec, err)
		}
		if *merge && m.Adapter != nil {
			if err := m.MergeAdapter(); err != nil {
				return fmt.Errorf("--model %s: merging the LoRA adapter: %w", spec, err)
			}
		}
		// One short pass compiles the smallest graph and fails here, not on the first request, if the
		// backend cannot run the model.
		if _, err := m.Encode([]string{"warm-up"}, nil); err != nil {
			return fmt.Errorf("--model %s: test pass: %w", spec, err)
		}
		logger.Info("model loaded", "name", name, "source", src, "dim", m.Dim(), "max_seq_length", m.MaxSeqLength,
			"lora", m.Adapter != nil, "backend", m.Backend().Name(), "load_time", time.Since(start).Round(time.Millisecond))
		served = append(served, serve.Model{Name: name, Model: m})
		if ctx.Err() != nil {
			return errors.New("interrupted while loading the models")
		}
	}
	srv, err := serve.Start(*addr, served, serve.WithMaxBatch(*maxBatch), serve.WithMaxWait(maxWait),
		serve.WithMaxQueue(*maxQueue), serve.WithMaxInputs(*maxInputs), serve.WithMaxRequestBytes(*maxBytes),
		serve.WithRequestTimeout(*timeout), serve.WithAutoTruncate(*autoTruncate), serve.WithAPIKey(key),
		serve.WithLogger(logger), serve.WithWarmup(*warmup))
	if err != nil {
		return err
	}
	select {
	case <-ctx.Done():
	case err := <-waitErr(srv):
		return err
	}
	logger.Info("draining: no new connections; waiting for requests in flight", "timeout", drain.String())
	sctx, cancel := context.WithTimeout(context.Background(), *drain)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	logger.Info("stopped")
	return nil
}

func waitErr(srv *serve.Running) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- srv.Wait() }()
	return ch
}

// modelName splits NAME=SOURCE; without a name, a folder is named by its base name and a Hub id by itself.
func modelName(spec string) (name, src string) {
	if n, s, ok := strings.Cut(spec, "="); ok && n != "" && s != "" {
		return n, s
	}
	if st, err := os.Stat(spec); err == nil && st.IsDir() {
		return filepath.Base(filepath.Clean(spec)), spec
	}
	return spec, spec
}

// newLogger builds the slog logger of --log-format and --log-level.
func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: expected debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: expected text or json", format)
}
