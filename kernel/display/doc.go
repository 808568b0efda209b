// Package display shows embedtune's results in GoNB notebook cells — tables, metric maps, model summaries,
// charts, and a live training progress view — with plain-text fallbacks when the program runs in a terminal.
//
// Inside a GoNB kernel (InNotebook), HTML displays a value as the cell's output: anything with an
// HTML() string method (Table, Summary, *charts.Chart, ...), a metric map, an error. TrainingProgress is the
// notebook view of a training run, like transformers' NotebookProgressCallback: an HTML progress bar, a
// "Step | Training Loss | Validation Loss | <metrics>" table and a live loss chart, refreshed in place
// (GoNB's UpdateHTML) at every logging step; its last refresh is a complete static output that stays in the
// saved notebook. Outside a notebook the same calls print text: a progress bar on stderr and one table line
// per log.
//
// Charts need the echarts JavaScript library, which is read from the local assets folder (installed by
// kernel/install.sh, never fetched from a CDN). The first chart output of a kernel session embeds it once as
// its own output; later chart outputs reuse the page's window.echarts, wait for it when the notebook is
// reopened, and inside Jupyter fetch it from the server's static path if the notebook no longer holds it
// (see package github.com/embedtune/embedtune/charts). LoadECharts embeds it explicitly.
//
// The library does not depend on this package: the view attaches to a trainer from outside, through
// trainlib's callbacks (GoMLX's pattern), with one call before training:
//
//	display.AttachProgress(trainer) // progress bar, log table and live loss chart while trainer.Train() runs
//
// Any other training loop can drive a TrainingProgress itself:
//
//	p := display.NewTrainingProgress(332, display.WithEvaluation(true))
//	for step := 1; step <= 332; step++ {
//		// ... one optimizer step ...
//		var entry map[string]float64
//		if step%20 == 0 {
//			entry = map[string]float64{"step": float64(step), "loss": loss}
//		}
//		p.Update(step, entry)
//	}
//	p.Finish()
package display
