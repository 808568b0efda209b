package model

// ModelCardData is what the model card (README.md, written by Save) says about the model, like
// sentence-transformers' SentenceTransformerModelCardData. Users set the descriptive fields (Language,
// License, ModelName, ModelID, TrainDatasets' names and Hub ids); the Trainer fills in the rest while
// it trains: datasets with sizes, column statistics and sample rows, the loss and its parameters, the
// training arguments, evaluation results, training logs and times.
type ModelCardData struct {
	// Language is the model's language(s), e.g. ["en"]; License e.g. "apache-2.0".
	Language []string
	License  string
	// ModelName is the card's title; default "SentenceTransformer based on {BaseModel}".
	ModelName string
	// ModelID is the Hub id the model will have ("user/name"), used in the usage snippets.
	ModelID string
	// TaskName completes "can be used for …"; default sentence-transformers' list.
	TaskName string
	// Tags are the Hub tags; the defaults are added (sentence-transformers, sentence-similarity,
	// feature-extraction, dense) and the Trainer adds generated_from_trainer, dataset_size:N and
	// loss:Name.
	Tags []string
	// BaseModel is the Hub id the model was fine-tuned from and BaseModelRevision its commit; found
	// from where the model was loaded when empty (a Hub id, the Hugging Face cache or embedtune's
	// fetched models), and never a local path.
	BaseModel, BaseModelRevision string

	// TrainDatasets and EvalDatasets describe the datasets (the Trainer fills them).
	TrainDatasets, EvalDatasets []CardDataset
	// Losses are the training losses.
	Losses []CardLoss
	// NonDefaultHyperparameters and AllHyperparameters are the training arguments (name, value as
	// Python prints it).
	NonDefaultHyperparameters, AllHyperparameters []CardValue
	// EvalResults are the last results of each evaluator.
	EvalResults []CardEvalResult
	// TrainingLogs are the rows of the training logs table: epoch, step, losses and the evaluators'
	// primary metrics.
	TrainingLogs []CardLogRow
	// BestModelStep marks the row of the loaded best checkpoint (0: none).
	BestModelStep int
	// TrainingSeconds and EvaluationSeconds are the time spent training (without evaluations) and
	// evaluating; 0 when unknown.
	TrainingSeconds, EvaluationSeconds float64
	// IRModel makes the usage snippets query/document style (set for retrieval training data,
	// evaluators or prompts).
	IRModel bool
	// Trained is set by the Trainer: the card is generated rather than the loaded README kept.
	Trained bool
}

// CardDataset describes one dataset in the card.
type CardDataset struct {
	// Name and ID (a Hub dataset id) name it; Revision is the Hub commit.
	Name, ID, Revision string
	// Size is the number of rows.
	Size int
	// Columns are the column names; Stats one entry per column; Examples the first rows (as text).
	Columns  []string
	Stats    []CardColumnStats
	Examples [][]string
}

// CardColumnStats is one column's statistics: its type and details ("min: 7 tokens", …).
type CardColumnStats struct {
	Type    string
	Details []CardValue
}

// CardLoss is a training loss: its class name, parameters in order, and its citation.
type CardLoss struct {
	Name     string
	Config   []CardValue
	Citation string
}

// CardValue is a named value, already formatted.
type CardValue struct {
	Name  string
	Value string
}

// CardMetric is one evaluation metric.
type CardMetric struct {
	Key   string
	Value float64
}

// CardEvalResult is an evaluator's last result.
type CardEvalResult struct {
	// Evaluator is the sentence-transformers class name, e.g. "InformationRetrievalEvaluator".
	Evaluator string
	// Name is the evaluator's name (the dataset name in the card), e.g. "dev".
	Name string
	// Metrics are its metrics without the name prefix, in order; PrimaryMetric the key (without
	// prefix) of the one shown in bold.
	Metrics       []CardMetric
	PrimaryMetric string
}

// CardLogRow is one row of the training logs: values by column, Epoch and Step first.
type CardLogRow struct {
	Epoch  float64
	Step   int
	Values []CardMetric
}
