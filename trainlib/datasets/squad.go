package datasets

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// squadFile is the SQuAD JSON layout (v1.1; v2.0 adds is_impossible and plausible_answers).
type squadFile struct {
	Version string `json:"version"`
	Data    []struct {
		Title      string `json:"title"`
		Paragraphs []struct {
			Context string `json:"context"`
			QAs     []struct {
				ID       string `json:"id"`
				Question string `json:"question"`
				Answers  []struct {
					Text        string `json:"text"`
					AnswerStart int    `json:"answer_start"`
				} `json:"answers"`
			} `json:"qas"`
		} `json:"paragraphs"`
	} `json:"data"`
}

// ReadSQuAD reads a SQuAD JSON file (such as dev-v1.1.json) into one row per question, in file
// order, with the columns of Hugging Face's squad dataset: id, title (the article, to split by
// article), context, question, and answers (the answer texts; for SQuAD v2.0 unanswerable
// questions the list is empty).
func ReadSQuAD(path string) (*Dataset, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("datasets: SQuAD file %s does not exist", path)
		}
		return nil, fmt.Errorf("datasets: %w", err)
	}
	var f squadFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("datasets: %s: not a SQuAD JSON file: %w", path, err)
	}
	if f.Data == nil {
		return nil, fmt.Errorf("datasets: %s: not a SQuAD JSON file: no \"data\" list of articles", path)
	}
	cols := []*builder{newBuilder(), newBuilder(), newBuilder(), newBuilder(), newBuilder()}
	for _, c := range cols[:4] {
		c.promote(String)
	}
	cols[4].promote(StringList)
	for a, art := range f.Data {
		for p, par := range art.Paragraphs {
			if par.Context == "" {
				return nil, fmt.Errorf("datasets: %s: article %d (%q), paragraph %d: empty context", path, a, art.Title, p)
			}
			for q, qa := range par.QAs {
				if qa.Question == "" {
					return nil, fmt.Errorf("datasets: %s: article %d (%q), paragraph %d, question %d: empty question", path, a, art.Title, p, q)
				}
				answers := make([]string, len(qa.Answers))
				for k, an := range qa.Answers {
					answers[k] = an.Text
				}
				cols[0].appendStr(qa.ID)
				cols[1].appendStr(art.Title)
				cols[2].appendStr(par.Context)
				cols[3].appendStr(qa.Question)
				cols[4].appendList(answers)
			}
		}
	}
	built := make([]*column, len(cols))
	for i, c := range cols {
		built[i] = c.finish()
	}
	return newDataset([]string{"id", "title", "context", "question", "answers"}, built), nil
}
