package main

import (
	"context"
	"fmt"
	"io"

	"github.com/embedtune/embedtune/charts"
)

// runAssets dispatches `embedtune assets install`.
func runAssets(args []string, stdout, stderr io.Writer) error {
	return dispatch(args, stdout, stderr, `usage: embedtune assets install [--dir DIR]

  install   fetch the pinned echarts `+charts.EChartsVersion+` from the npm registry (SHA-256 checked) into DIR
            (default: embedtune's cache folder, where charts.html pages and notebooks find it from any folder)
`, subcommand{"install", runAssetsInstall})
}

func runAssetsInstall(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("assets install", "[--dir DIR]", stderr)
	dir := fs.String("dir", "", "assets folder (default: ~/.cache/embedtune/assets)")
	if err := fs.Parse(args); err != nil {
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
