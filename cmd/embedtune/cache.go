package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/embedtune/embedtune/trainlib/cache"
)

// runCache dispatches `embedtune cache info|clear`.
func runCache(args []string, stdout, stderr io.Writer) error {
	return dispatch(args, stdout, stderr, fmt.Sprintf(`usage: embedtune cache <info|clear> [KIND]

  info         the cache folder, its size cap, and its entries by kind (JSON)
  clear [KIND] remove every entry (or those of one kind: embeddings, eval, datasets, ...)

The folder is $%s (default ~/.cache/embedtune/memo); $%s sets the cap (e.g. 2GiB).
`, cache.DirEnv, cache.MaxEnv), subcommand{"info", runCacheInfo}, subcommand{"clear", runCacheClear})
}

func runCacheInfo(args []string, stdout, _ io.Writer) error {
	if len(args) > 0 {
		return fmt.Errorf("info takes no argument, got %q", args[0])
	}
	s, err := cache.Default()
	if err != nil {
		return err
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
}

func runCacheClear(args []string, stdout, _ io.Writer) error {
	if len(args) > 1 {
		return fmt.Errorf("clear takes at most one KIND, got %q", args)
	}
	kind := ""
	if len(args) == 1 {
		kind = args[0]
	}
	s, err := cache.Default()
	if err != nil {
		return err
	}
	n, b, err := s.Clear(kind)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "removed %d entries (%d bytes) from %s\n", n, b, s.Dir)
	return nil
}
