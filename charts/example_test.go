package charts_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/embedtune/embedtune/charts"
)

// Build the loss and learning-rate charts of a run from its log history and write them to a
// self-contained page, as the CLI does for output_dir/charts.html.
func ExampleWriteHTML() {
	h := charts.LogHistory{
		{"step": 10, "epoch": 0.5, "loss": 2.1, "learning_rate": 3e-6},
		{"step": 20, "epoch": 1.0, "loss": 1.4, "learning_rate": 1.5e-6},
		{"step": 20, "epoch": 1.0, "eval_loss": 1.5, "eval_cosine_ndcg@10": 0.61},
	}
	loss, err := charts.Loss(h)
	if err != nil {
		fmt.Println(err)
		return
	}
	lr, err := charts.LearningRate(h)
	if err != nil {
		fmt.Println(err)
		return
	}
	dir, err := os.MkdirTemp("", "charts-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	// Without installed assets (kernel/install.sh) the page is still written, with a notice saying how to
	// install them, and the error says so.
	err = charts.WriteHTML(filepath.Join(dir, "charts.html"), "Training", loss, lr)
	if err != nil && !errors.Is(err, charts.ErrLibraryNotFound) {
		fmt.Println(err)
		return
	}
	fmt.Println(loss.Title(), "and", lr.Title(), "written")
	fmt.Println(charts.MetricKeys(h), charts.MetricLabel("eval_cosine_ndcg@10"))
	// Output:
	// Loss and Learning rate written
	// [eval_cosine_ndcg@10] Cosine Ndcg@10
}
