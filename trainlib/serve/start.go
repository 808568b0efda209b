package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// DefaultDrainTimeout bounds how long [Running.Close] waits for requests in flight.
const DefaultDrainTimeout = 30 * time.Second

// Running is a [Server] listening on a TCP address, started by [Start].
type Running struct {
	*Server
	// URL is the server's base URL, e.g. "http://127.0.0.1:41234" (OpenAI clients take URL+"/v1").
	URL  string
	Addr net.Addr

	http *http.Server
	done chan error
}

// Start serves models on addr ("" = "127.0.0.1:0", a free loopback port) in the background and
// returns once the port is listening. Stop it with [Running.Shutdown] or [Running.Close].
//
//	srv, err := serve.Start("", []serve.Model{{Name: "my-model", Model: m}})
//	defer srv.Close()
//	emb, err := serve.NewClient(srv.URL, "").Embed(ctx, "my-model", "What is the capital of India?")
func Start(addr string, models []Model, opts ...Option) (*Running, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	s, err := New(models, opts...)
	if err != nil {
		return nil, err
	}
	if s.cfg.warmup {
		start := time.Now()
		n, err := s.Warmup(context.Background())
		if err != nil {
			s.Close()
			return nil, err
		}
		s.cfg.logger.Info("warm-up done", "shapes", n, "duration", time.Since(start).Round(time.Millisecond))
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("serve: listening on %s: %w", addr, err)
	}
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(s.cfg.logger.Handler(), slog.LevelWarn)}
	r := &Running{Server: s, URL: "http://" + ln.Addr().String(), Addr: ln.Addr(), http: hs, done: make(chan error, 1)}
	go func() {
		err := hs.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		r.done <- err
	}()
	s.cfg.logger.Info("listening", "url", r.URL, "models", s.Models())
	return r, nil
}

// Shutdown stops accepting connections, waits until the requests in flight are answered (or ctx
// ends), then stops the batching queues. SIGTERM handling calls it: no accepted request is lost.
func (r *Running) Shutdown(ctx context.Context) error {
	err := r.http.Shutdown(ctx)
	r.Server.Close()
	if serveErr := <-r.done; err == nil {
		err = serveErr
	}
	r.done <- nil // Later calls return at once.
	return err
}

// Close is Shutdown with [DefaultDrainTimeout].
func (r *Running) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), DefaultDrainTimeout)
	defer cancel()
	return r.Shutdown(ctx)
}

// Wait blocks until the server stops and returns why: nil after Shutdown, else the listener's error.
func (r *Running) Wait() error {
	err := <-r.done
	r.done <- err
	return err
}
