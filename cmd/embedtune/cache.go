package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/embedtune/embedtune/trainlib/cache"
)

// runCache dispatches `embedtune cache info|clear`.
func runCache(args []string, stdout, stderr io.Writer) error {
	usage := func() {
		fmt.Fprintln(stderr, "usage: embedtune cache <info|clear> [KIND]")
		fmt.Fprintln(stderr, "\n  info         the cache folder, its size cap, and its entries by kind (JSON)")
		fmt.Fprintln(stderr, "  clear [KIND] remove every entry (or those of one kind: embeddings, eval, datasets, ...)")
		fmt.Fprintf(stderr, "\nThe folder is $%s (default ~/.cache/embedtune/memo); $%s sets the cap (e.g. 2GiB).\n", cache.DirEnv, cache.MaxEnv)
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage()
		if len(args) == 0 {
			return errors.New("missing sub-command: info or clear")
		}
		return flag.ErrHelp
	}
	s, err := cache.Default()
	if err != nil {
		return err
	}
	switch args[0] {
	case "info":
		if len(args) > 1 {
			return fmt.Errorf("info takes no argument, got %q", args[1])
		}
		u, err := s.Usage()
		if err != nil {
			return err
		}
		if u.Kinds == nil {
			u.Kinds = []cache.KindUsage{}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(u)
	case "clear":
		kind := ""
		if len(args) > 2 {
			return fmt.Errorf("clear takes at most one KIND, got %q", args[1:])
		}
		if len(args) == 2 {
			kind = args[1]
		}
		n, b, err := s.Clear(kind)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "removed %d entries (%d bytes) from %s\n", n, b, s.Dir)
		return nil
	}
	usage()
	return fmt.Errorf("unknown sub-command %q: want info or clear", args[0])
}
