package datasets

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSQuADPairs(t *testing.T) {
	p := filepath.Join(t.TempDir(), "squad.json")
	json := `{"version":"1.1","data":[{"title":"A","paragraphs":[
	 {"context":"one","qas":[{"id":"1","question":"q1","answers":[]}]},
	 {"context":"two","qas":[{"id":"2","question":"q2","answers":[]},{"id":"3","question":"q3","answers":[]},{"id":"4","question":"q4","answers":[]}]},
	 {"context":"three","qas":[{"id":"5","question":"q5","answers":[]},{"id":"6","question":"q6","answers":[]}]}]}]}`
	if err := os.WriteFile(p, []byte(json), 0o644); err != nil {
		t.Fatal(err)
	}
	all, err := ReadSQuAD(p)
	if err != nil {
		t.Fatal(err)
	}
	got, err := SQuADPairs(all, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	ids, _ := got.Column("id")
	var seen []string
	for i := 0; i < got.Len(); i++ {
		seen = append(seen, ids.Str(i))
	}
	if strings.Join(seen, ",") != "2,3,5,6" {
		t.Errorf("kept ids %v, want 2,3,5,6 (paragraph one has a single question; two keeps its first two)", seen)
	}
	if _, err := SQuADPairs(all, 3, 2); err == nil || !strings.Contains(err.Error(), "only 2 paragraphs") {
		t.Errorf("too many contexts: %v", err)
	}
	if _, err := SQuADPairs(all, 0, 2); err == nil {
		t.Error("zero contexts accepted")
	}
}
