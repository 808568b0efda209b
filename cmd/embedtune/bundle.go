package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"

	"github.com/embedtune/embedtune/internal/bundle"
	"github.com/embedtune/embedtune/trainlib/cache"
)

// runBundle is `embedtune bundle` (pack a workshop) and `embedtune bundle install FILE`.
func runBundle(args []string, stdout, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if len(args) > 0 && args[0] == "install" {
		return runBundleInstall(ctx, args[1:], stdout, stderr)
	}
	fs := newFlagSet("bundle", "--model ID_OR_DIR --dataset ID_OR_FILE [--notebooks] --out workshop.tar.zst\n"+
		"       embedtune bundle install FILE [--notebooks-dir DIR]", stderr)
	o := bundle.Options{Log: stderr}
	fs.StringVar(&o.Model, "model", "", "model: Hub id (from the Hugging Face cache, or downloaded) or sentence-transformers folder")
	fs.StringVar(&o.ModelID, "model-id", "", "repository id for a model folder (default: its upstream id when fetched by scripts/fetch_weights.sh, else local/NAME)")
	fs.StringVar(&o.Dataset, "dataset", "", "dataset: Hub id, data file or folder")
	fs.StringVar(&o.DatasetID, "dataset-id", "", "repository id for a local dataset (default local/NAME)")
	notebooks := fs.Bool("notebooks", false, "include the tutorial notebooks (notebooks/*.ipynb of this repository)")
	notebookDir := fs.String("notebooks-from", "notebooks", "folder of the notebooks --notebooks packs")
	fs.BoolVar(&o.WithoutAssets, "no-assets", false, "leave the echarts chart library out")
	fs.StringVar(&o.Out, "out", "", "bundle file to write (.tar.zst)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (flags come before; to install a bundle: embedtune bundle install FILE)", fs.Arg(0))
	}
	if o.Model == "" && o.Dataset == "" {
		return errors.New("nothing to pack: give --model and/or --dataset")
	}
	if *notebooks {
		nbs, err := filepath.Glob(filepath.Join(*notebookDir, "*.ipynb"))
		if err != nil || len(nbs) == 0 {
			return fmt.Errorf("--notebooks: no .ipynb file in %s (run from the repository root or set --notebooks-from)", *notebookDir)
		}
		o.Notebooks = nbs
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		o.Version = bi.Main.Version
	}
	m, err := bundle.Create(ctx, o)
	if err != nil {
		return err
	}
	st, _ := os.Stat(o.Out)
	fmt.Fprintf(stdout, "wrote %s (%.1f MB)\n", o.Out, float64(st.Size())/1e6)
	if m.Model != nil {
		fmt.Fprintf(stdout, "  model   %s (%d files)\n", m.Model.ID, len(m.Model.Files))
	}
	if m.Dataset != nil {
		fmt.Fprintf(stdout, "  dataset %s (%d files)\n", m.Dataset.ID, len(m.Dataset.Files))
	}
	fmt.Fprintf(stdout, "  %d notebooks, %d asset files\ninstall it with: embedtune bundle install %s\n", len(m.Notebooks), len(m.Assets), filepath.Base(o.Out))
	return nil
}

func runBundleInstall(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bundle install", "FILE [--notebooks-dir DIR] [--hub-cache DIR] [--assets-dir DIR]", stderr)
	var o bundle.InstallOptions
	fs.StringVar(&o.NotebooksDir, "notebooks-dir", "embedtune-workshop", "folder for the bundle's notebooks")
	fs.StringVar(&o.HubCacheDir, "hub-cache", "", "Hugging Face cache (default: HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub)")
	fs.StringVar(&o.AssetsDir, "assets-dir", "", "folder for the chart library (default ~/.cache/embedtune/assets)")
	max := fs.String("max-size", "64GiB", "refuse bundles that declare more than this")
	file := ""
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		file, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if file == "" && fs.NArg() == 1 {
		file = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if file == "" {
		return errors.New("missing the bundle FILE to install")
	}
	var err error
	if o.MaxBytes, err = cache.ParseSize(*max); err != nil {
		return fmt.Errorf("--max-size %q: %w", *max, err)
	}
	got, err := bundle.Install(ctx, file, o)
	if err != nil {
		return err
	}
	m := got.Manifest
	var env []string
	fmt.Fprintf(stdout, "installed %s\n", file)
	if m.Model != nil {
		fmt.Fprintf(stdout, "  model    %s → %s\n", m.Model.ID, got.HubCacheDir)
		env = append(env, "EMBEDTUNE_MODEL="+m.Model.ID)
	}
	if m.Dataset != nil {
		fmt.Fprintf(stdout, "  dataset  %s → %s\n", m.Dataset.ID, got.HubCacheDir)
		env = append(env, "EMBEDTUNE_DATASET="+m.Dataset.ID)
	}
	if len(m.Assets) > 0 {
		fmt.Fprintf(stdout, "  charts   echarts → %s\n", got.AssetsDir)
	}
	for _, nb := range got.Notebooks {
		fmt.Fprintf(stdout, "  notebook %s\n", nb)
	}
	env = append(env, "HF_HUB_OFFLINE=1")
	if len(got.Notebooks) > 0 {
		envFile := filepath.Join(got.NotebooksDir, "workshop.env")
		var b []byte
		for _, e := range env {
			b = append(b, []byte("export "+e+"\n")...)
		}
		if err := os.WriteFile(envFile, b, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "  settings %s\n", envFile)
	}
	fmt.Fprintf(stdout, "run offline with:\n  export")
	for _, e := range env {
		fmt.Fprintf(stdout, " %s", e)
	}
	fmt.Fprintln(stdout)
	return nil
}
