package sweep_test

import (
	"fmt"

	"github.com/embedtune/embedtune/trainlib/sweep"
)

// A learning-rate × batch-size grid, and the runs it makes, in W&B's order.
func Example() {
	spec, err := sweep.Parse("sweep.yaml", []byte(`
method: grid
metric: {name: eval_dev_cosine_ndcg@10, goal: maximize}
parameters:
  learning_rate: {values: [1.0e-5, 3.0e-5]}
  per_device_train_batch_size: {values: [16, 32]}
early_terminate: {type: hyperband, min_iter: 1, eta: 3}
`))
	if err != nil {
		panic(err)
	}
	for i := 0; i < spec.NumRuns(); i++ {
		p, _ := spec.Suggest(i, nil)
		fmt.Println(i, sweep.Label(p, spec.ParameterNames()))
	}
	fmt.Println("hyperband bands:", spec.EarlyTerminate.Bands()[:3])
	// Output:
	// 0 learning_rate=1e-05 per_device_train_batch_size=16
	// 1 learning_rate=1e-05 per_device_train_batch_size=32
	// 2 learning_rate=3e-05 per_device_train_batch_size=16
	// 3 learning_rate=3e-05 per_device_train_batch_size=32
	// hyperband bands: [1 3 9]
}

// A spec with a mistake names the key.
func ExampleParse_error() {
	_, err := sweep.Parse("sweep.yaml", []byte("method: random\nrun_cap: 8\nparameters:\n  learning_rate: {distribution: log_uniform_values, min: 0, max: 1.0e-3}\n"))
	fmt.Println(err)
	// Output:
	// sweep.yaml: parameters.learning_rate.min: log_uniform_values needs min > 0 (min and max are values; for exponents use log_uniform), got 0
}
