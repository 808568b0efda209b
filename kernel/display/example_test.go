package display_test

import (
	"fmt"

	"github.com/embedtune/embedtune/kernel/display"
)

// A table prints as aligned text outside notebooks; display.HTML(t) shows it as an HTML table in a cell.
func ExampleTable() {
	t := display.NewTable("Retrieval", "Model", "NDCG@10")
	_ = t.AddRow("base", 0.6123)
	_ = t.AddRow("fine-tuned", 0.7841)
	fmt.Print(t.Text())
	// Output:
	// Retrieval
	// Model       NDCG@10
	// ----------  -------
	// base        0.6123
	// fine-tuned  0.7841
}

// A training loop reports every optimizer step and every log entry; in a notebook this draws the progress
// bar, the Step | Training Loss | Validation Loss table and the live loss chart, in a terminal a text bar
// on stderr and one line per table row.
func ExampleNewTrainingProgress() {
	const steps = 100
	p := display.NewTrainingProgress(steps, display.WithEvaluation(true))
	for step := 1; step <= steps; step++ {
		loss := 1.0 / float64(step) // the step's training loss
		var entry map[string]float64
		if step%20 == 0 {
			entry = map[string]float64{"step": float64(step), "epoch": float64(step) / steps, "loss": loss}
		}
		p.Update(step, entry)
		if step%20 == 0 {
			p.Log(map[string]float64{"step": float64(step), "eval_loss": 1.1 * loss, "eval_cosine_ndcg@10": 0.7})
		}
	}
	p.Finish()
}
