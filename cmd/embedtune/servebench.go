package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/embedtune/embedtune/internal/synth"
	"github.com/embedtune/embedtune/trainlib/serve/loadtest"
)

// runServeBench: embedtune serve-bench --url URL [--api openai|tei] [--concurrency 64] [--duration 30s] [flags].
func runServeBench(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve-bench", "--url http://127.0.0.1:8080 [--api openai|tei] [--concurrency 64] [--duration 30s] [flags]", stderr)
	url := fs.String("url", "http://127.0.0.1:8080", "base URL of the server (loopback only)")
	api := fs.String("api", "openai", "request format: openai (POST /v1/embeddings, base64) or tei (POST /embed)")
	modelName := fs.String("model", "", "\"model\" field of the requests (default: the server's default model)")
	apiKey := fs.String("api-key", "", "API key (default: $EMBEDTUNE_API_KEY)")
	input := fs.String("input", "", "texts to send: JSON Lines with a \"text\" field or plain text, one per line (default: 2,000 generated question and passage texts)")
	field := fs.String("field", "text", "JSON Lines field holding the text")
	perRequest := fs.Int("texts-per-request", 1, "texts per request")
	concurrency := fs.Int("concurrency", 64, "concurrent clients, each sending its next request when the previous one is answered")
	duration := fs.Duration("duration", 0, "measured run time (default 30s)")
	warmup := fs.Duration("warmup", 0, "unmeasured load before the run (graph compilation, caches); the memory baseline is taken after it")
	pid := fs.Int("pid", 0, "server process id: sample its resident memory during the run (Linux /proc)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (flags start with --)", fs.Arg(0))
	}
	var texts []string
	if *input != "" {
		var err error
		if texts, _, err = readRecords(*input, "auto", *field, ""); err != nil {
			return err
		}
	} else {
		texts = synth.Texts(synth.Pairs(500, 3, 7))
	}
	key := *apiKey
	if key == "" {
		key = os.Getenv("EMBEDTUNE_API_KEY")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	rep, err := loadtest.Run(ctx, loadtest.Config{URL: *url, API: loadtest.API(*api), Model: *modelName, APIKey: key,
		Texts: texts, TextsPerRequest: *perRequest, Concurrency: *concurrency, Duration: *duration, Warmup: *warmup, PID: *pid})
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		fmt.Fprint(stdout, rep)
	}
	return rep.Check()
}
