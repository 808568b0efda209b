// Package charts builds the training charts of embedtune with go-echarts: training and validation loss,
// the learning-rate schedule and evaluator metrics against the optimizer step, several runs of a sweep
// overlaid, and retrieval metrics before/after fine-tuning as grouped bars.
//
// Builders read a trainer's log history in the Hugging Face layout (LogHistory: one map per logging event
// with "step", "loss", "learning_rate", "eval_loss", "eval_<metric>", ...) and return a Chart, which renders
// as an HTML fragment (Chart.HTML). The echarts JavaScript library is never fetched from a CDN: it is read
// from the local assets folder that kernel/install.sh fills from the npm registry (FindLibrary), and a page
// includes it once (Library.ScriptHTML) however many charts it holds. WriteHTML writes such a
// self-contained page, e.g. the CLI's output_dir/charts.html:
//
//	h := charts.LogHistory{
//		{"step": 10, "epoch": 0.5, "loss": 2.1, "learning_rate": 3e-6},
//		{"step": 20, "epoch": 1.0, "loss": 1.4, "learning_rate": 1.5e-6},
//		{"step": 20, "epoch": 1.0, "eval_loss": 1.5, "eval_cosine_ndcg@10": 0.61},
//	}
//	loss, err := charts.Loss(h)
//	if err != nil { ... }
//	lr, err := charts.LearningRate(h)
//	if err != nil { ... }
//	err = charts.WriteHTML("out/charts.html", "Training", loss, lr)
//
// In notebooks, package github.com/embedtune/embedtune/kernel/display shows the same charts inline and
// live while a model trains.
package charts
