package tokenizer_test

import (
	"fmt"
	"log"
	"os"

	"github.com/embedtune/embedtune/trainlib/tokenizer"
)

func Example() {
	// A tiny uncased WordPiece tokenizer trained on two sentences, saved as a model folder.
	corpus := []string{"The quick brown fox jumps over the lazy dog.", "The dog sleeps; the fox runs!"}
	vocab, err := tokenizer.TrainWordPiece(corpus, 60, nil)
	if err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "tokenizer-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := vocab.Save(dir); err != nil {
		log.Fatal(err)
	}

	tk, err := tokenizer.Load(dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer tk.Close()
	ids, err := tk.Encode("The FOX sleeps.", 0)
	if err != nil {
		log.Fatal(err)
	}
	var toks []string
	for _, id := range ids {
		tok, _ := tk.Token(id)
		toks = append(toks, tok)
	}
	fmt.Println(toks)
	// Truncated to 4 ids, as sentence-transformers does with max_seq_length=4.
	ids, _ = tk.Encode("The FOX sleeps.", 4)
	fmt.Println(len(ids), ids[0] == tk.Special().CLS, ids[3] == tk.Special().SEP)
	// Output:
	// [[CLS] the fox s ##l ##e ##e ##ps . [SEP]]
	// 4 true true
}
