// Command embedtune fine-tunes, evaluates and serves sentence-embedding models from the terminal.
//
// Every sub-command prints its flags with --help, exits with status 0 on success and with a
// non-zero status and a one-line reason on stderr on error.
//
//	embedtune env
//	embedtune init-model --out /tmp/tiny --tokenizer tokenizer.json
//	embedtune encode --model /tmp/tiny --input texts.jsonl --output emb.jsonl
//	embedtune serve --model tuned=/tmp/tiny --addr 127.0.0.1:8080
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/embedtune/embedtune/trainlib/backend"
)

// command is one embedtune sub-command.
type command struct {
	summary string
	run     func(args []string, stdout, stderr io.Writer) error
}

// commands lists the sub-commands; each lives in its own file.
func commands() map[string]command {
	return map[string]command{
		"env":             {"print the backend, devices, versions and cache paths", runEnv},
		"data":            {"inspect and convert datasets: info, head, convert (files, folders, Hub ids)", runData},
		"encode":          {"embed texts (JSON Lines or plain text) into JSON Lines of embeddings", runEncode},
		"tokenize":        {"token ids of texts with the model's special tokens and max_seq_length", runTokenize},
		"init-model":      {"create a random-initialized BERT sentence-transformers model", runInitModel},
		"train-tokenizer": {"learn a WordPiece tokenizer (tokenizer.json, vocab.txt) from a text corpus", runTrainTokenizer},
		"train":           {"fine-tune a model from a YAML/JSON run description (checkpoints, resume, charts)", runTrain},
		"sweep":           {"hyperparameter sweep (W&B sweep spec): grid/random/bayes, hyperband, resumable, sharded (--index), report", runSweep},
		"mine-negatives":  {"add mined hard negatives to (anchor, positive) pairs (sentence-transformers' mine_hard_negatives)", runMine},
		"evaluate":        {"retrieval metrics (sentence-transformers' InformationRetrievalEvaluator) of a model or of embeddings", runEvaluate},
		"serve":           {"serve models over HTTP: OpenAI /v1/embeddings and TEI /embed, dynamic batching, /metrics", runServe},
		"serve-bench":     {"load-test an embedding server (OpenAI or TEI API): throughput, latency percentiles, errors, memory", runServeBench},
		"assets":          {"install the echarts library charts.html pages and notebooks draw with (pinned, SHA-256 checked)", runAssets},
		"cache":           {"inspect or clear embedtune's cache of embeddings and results: info, clear [KIND]", runCache},
		"estimate":        {"time a few training steps and encodes of a model on a dataset; estimate run lengths (bge-base too)", runEstimate},
		"bundle":          {"pack a workshop (model, dataset, notebooks, chart assets) into one file, or install one offline", runBundle},
	}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the command line and returns the process exit status.
func run(args []string, stdout, stderr io.Writer) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout, cmds)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "embedtune: unknown command %q (run embedtune --help for the list)\n", args[0])
		return 2
	}
	before := backend.CompileCacheStats()
	err := c.run(args[1:], stdout, stderr)
	if err == nil && args[0] != "env" {
		if line := backend.CompileCacheStats().Since(before).Summary(); line != "" {
			fmt.Fprintf(stderr, "embedtune: %s\n", line)
		}
	}
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "embedtune %s: %s\n", args[0], oneLine(err.Error()))
		return 1
	}
	return 0
}

func usage(w io.Writer, cmds map[string]command) {
	fmt.Fprintln(w, "usage: embedtune <command> [flags]  (embedtune <command> --help for its flags)")
	fmt.Fprintln(w, "\ncommands:")
	for _, n := range slices.Sorted(maps.Keys(cmds)) {
		fmt.Fprintf(w, "  %-12s %s\n", n, cmds[n].summary)
	}
}

// newFlagSet returns a FlagSet that reports errors instead of exiting, printing usage to stderr.
func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("embedtune "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: embedtune %s %s\n\nflags:\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// oneLine folds a multi-line error message into a single line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}
