package display

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/embedtune/embedtune/charts"
)

// libraryMarker is the file, in the kernel session's private folder, whose existence records that this
// kernel session already displayed the echarts library. Each GoNB cell is a fresh program, so the record
// has to live outside the process; GoNB removes the folder when the kernel stops.
const libraryMarker = "embedtune-echarts-" + charts.EChartsVersion + ".displayed"

// LoadECharts displays the echarts library as an (invisible) output of the current cell, so that this
// cell's and every later cell's charts draw — also after the notebook is saved and reopened, and in an
// nbconvert HTML export. Charts call it automatically the first time in a kernel session; call it
// yourself in a notebook's first cell to keep the library's place fixed, or after clearing the outputs of the
// cell that held it. When the library is not installed it shows a notice saying how to install it and
// returns the error (wrapping charts.ErrLibraryNotFound). Outside a notebook it does nothing.
func LoadECharts() error {
	fe := notebookFrontend()
	if fe == nil {
		return nil
	}
	return loadECharts(fe)
}

func loadECharts(fe frontend) error {
	lib, err := charts.FindLibrary()
	if err != nil {
		fe.display(charts.MissingLibraryHTML(err))
		return err
	}
	fe.display(lib.ScriptHTML())
	fe.sync()
	if dir := fe.sessionDir(); dir != "" {
		if err := os.WriteFile(filepath.Join(dir, libraryMarker), nil, 0o644); err != nil {
			return fmt.Errorf("display: recording that the echarts library was displayed: %w", err)
		}
	}
	return nil
}

// ensureECharts displays the library unless this kernel session already did (see libraryMarker). It
// returns the error of a missing library after showing the notice once per cell.
func ensureECharts(fe frontend) error {
	if dir := fe.sessionDir(); dir != "" {
		_, err := os.Stat(filepath.Join(dir, libraryMarker))
		if err == nil {
			return nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("display: checking whether the echarts library was displayed: %w", err)
		}
	}
	return loadECharts(fe)
}
