package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/embedtune/embedtune/trainlib/datasets"
)

// runData dispatches `embedtune data info|head|convert`.
func runData(args []string, stdout, stderr io.Writer) error {
	return dispatch(args, stdout, stderr, `usage: embedtune data <info|head|convert> ... (embedtune data <sub-command> --help for its flags)

  info SOURCE [--split S]                      print {"num_rows": N, "columns": [...]}
  head SOURCE [--split S] [-n N] [--format table|jsonl]   print the first rows
  convert IN OUT [--split S]                   rewrite a dataset; formats by extension

SOURCE is a file (.parquet .jsonl .json .csv .tsv .txt), a folder, or a Hub dataset id (org/name).
`, subcommand{"info", runDataInfo}, subcommand{"head", runDataHead}, subcommand{"convert", runDataConvert})
}

// sourceFlags are the flags choosing what to load.
type sourceFlags struct {
	split, config, revision string
	columns                 string
}

func (s *sourceFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&s.split, "split", "", "split to read (default: train, or the only split)")
	fs.StringVar(&s.config, "config", "", "configuration of a dataset whose README.md declares several")
	fs.StringVar(&s.revision, "revision", "", "Hub branch, tag or commit (default main)")
	fs.StringVar(&s.columns, "columns", "", "comma-separated columns to keep, in order")
}

func (s *sourceFlags) options() []datasets.Option {
	var opts []datasets.Option
	if s.split != "" {
		opts = append(opts, datasets.WithSplit(s.split))
	}
	if s.config != "" {
		opts = append(opts, datasets.WithConfig(s.config))
	}
	if s.revision != "" {
		opts = append(opts, datasets.WithRevision(s.revision))
	}
	if s.columns != "" {
		var cols []string
		for _, c := range strings.Split(s.columns, ",") {
			if c = strings.TrimSpace(c); c != "" {
				cols = append(cols, c)
			}
		}
		opts = append(opts, datasets.WithColumns(cols...))
	}
	return opts
}

// parseInterspersed parses flags placed before, between or after the positional arguments and
// returns the positional ones.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if rest[0] == "--" {
			return append(pos, rest[1:]...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func positional(fs *flag.FlagSet, args []string, names ...string) ([]string, error) {
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return nil, err
	}
	if len(pos) != len(names) {
		fs.Usage()
		return nil, fmt.Errorf("want %d argument(s) %s, got %d", len(names), strings.Join(names, " "), len(pos))
	}
	return pos, nil
}

func runDataInfo(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("data info", "SOURCE [--split S] [--config C] [--revision R]", stderr)
	var sf sourceFlags
	sf.register(fs)
	pos, err := positional(fs, args, "SOURCE")
	if err != nil {
		return err
	}
	ds, err := datasets.LoadContext(context.Background(), pos[0], sf.options()...)
	if err != nil {
		return err
	}
	cols := ds.Columns()
	if cols == nil {
		cols = []string{}
	}
	return json.NewEncoder(stdout).Encode(struct {
		NumRows int      `json:"num_rows"`
		Columns []string `json:"columns"`
	}{ds.Len(), cols})
}

func runDataHead(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("data head", "SOURCE [--split S] [-n N] [--format table|jsonl]", stderr)
	var sf sourceFlags
	sf.register(fs)
	n := fs.Int("n", 10, "number of rows")
	format := fs.String("format", "table", "output format: table (text, long values elided) or jsonl (full rows)")
	pos, err := positional(fs, args, "SOURCE")
	if err != nil {
		return err
	}
	if *n < 0 {
		return fmt.Errorf("-n must be >= 0, got %d", *n)
	}
	if *format != "table" && *format != "jsonl" {
		return fmt.Errorf("--format must be table or jsonl, got %q", *format)
	}
	ds, err := datasets.LoadContext(context.Background(), pos[0], sf.options()...)
	if err != nil {
		return err
	}
	head := ds.Head(*n)
	if *format == "table" {
		_, err = io.WriteString(stdout, head.String())
		return err
	}
	return head.WriteJSONLines(stdout)
}

func runDataConvert(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("data convert", "IN OUT [--split S]  (formats by extension: .parquet .jsonl .json .csv .tsv)", stderr)
	var sf sourceFlags
	sf.register(fs)
	pos, err := positional(fs, args, "IN", "OUT")
	if err != nil {
		return err
	}
	ds, err := datasets.LoadContext(context.Background(), pos[0], sf.options()...)
	if err != nil {
		return err
	}
	if err := ds.Save(pos[1]); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "wrote %d rows (%s) to %s\n", ds.Len(), strings.Join(ds.Columns(), ", "), pos[1])
	return nil
}
