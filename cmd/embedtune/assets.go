package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/embedtune/embedtune/charts"
)

// runAssets dispatches `embedtune assets install`.
func runAssets(args []string, stdout, stderr io.Writer) error {
	usage := func() {
		fmt.Fprintln(stderr, "usage: embedtune assets install [--dir DIR]")
		fmt.Fprintln(stderr, "\n  install   fetch the pinned echarts "+charts.EChartsVersion+" from the npm registry (SHA-256 checked) into DIR")
		fmt.Fprintln(stderr, "            (default: embedtune's cache folder, where charts.html pages and notebooks find it from any folder)")
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage()
		if len(args) == 0 {
			return errors.New("missing sub-command: install")
		}
		return flag.ErrHelp
	}
	if args[0] != "install" {
		usage()
		return fmt.Errorf("unknown sub-command %q: want install", args[0])
	}
	fs := newFlagSet("assets install", "[--dir DIR]", stderr)
	dir := fs.String("dir", "", "assets folder (default: ~/.cache/embedtune/assets)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	p, err := charts.InstallLibrary(context.Background(), *dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "echarts %s: %s\n", charts.EChartsVersion, p)
	return nil
}
