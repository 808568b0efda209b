package datasets_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/embedtune/embedtune/trainlib/datasets"
)

func Example() {
	dir, _ := os.MkdirTemp("", "datasets-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "pairs.jsonl")
	os.WriteFile(path, []byte(`{"question": "What is the capital of India?", "context": "New Delhi is the capital of India.", "id": 1}
{"question": "Which river flows through Delhi?", "context": "The Yamuna flows through Delhi, the capital territory of India.", "id": 2}
{"question": "Where is the seat of government?", "context": "New Delhi is the capital of India.", "id": 3}
`), 0o644)

	ds, err := datasets.Load(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(ds.Len(), ds.Columns(), ds.Types())
	pairs, _ := ds.Select("question", "context")
	fmt.Print(pairs.Head(2))

	ir, _ := datasets.IRFromPairs(pairs, datasets.PairsOptions{})
	fmt.Println(len(ir.Queries), "queries,", len(ir.Corpus), "documents; q2 ->", ir.RelevantIDs("q2"))

	train, test, _ := ds.TrainTestSplit(1, 42)
	fmt.Println(train.Len(), test.Len())

	_, err = ds.Select("answer")
	fmt.Println(err)
	// Output:
	// 3 [question context id] [string string int64]
	//    question                          context
	// 0  What is the capital of India?     New Delhi is the capital of India.
	// 1  Which river flows through Delhi?  The Yamuna flows through Delhi, the capital te...
	// 3 queries, 2 documents; q2 -> [d0]
	// 2 1
	// datasets: no column "answer"; the columns are ["question", "context", "id"]
}
