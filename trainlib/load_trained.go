package trainlib

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/embedtune/embedtune/trainlib/model"
)

// LoadTrainedModel loads the model a Trainer saved in outputDir when Train returned: a
// sentence-transformers folder (model.safetensors) or, after LoRA training, an adapter folder
// (adapter_model.safetensors on top of its base model). It never falls back to a base model: it
// fails when outputDir holds no finished model, and when its newest checkpoint-<step> is more
// recent than the model there (the last run stopped before its end, so the folder holds an older
// run's model), saying how to resume. Notebooks use it in the cells after training, since each
// GoNB cell is a fresh program.
func LoadTrainedModel(outputDir string, opts ...model.Option) (*Model, error) {
	if err := CheckTrainedModel(outputDir); err != nil {
		return nil, err
	}
	m, err := model.Load(outputDir, opts...)
	if err != nil {
		return nil, fmt.Errorf("loading the trained model from %s: %w", absPath(outputDir), err)
	}
	return m, nil
}

// CheckTrainedModel makes LoadTrainedModel's checks without loading anything: outputDir holds a
// finished model (model.safetensors or adapter_model.safetensors) that is not older than its newest
// checkpoint. Its errors say what to do.
func CheckTrainedModel(outputDir string) error {
	st, err := os.Stat(filepath.Join(outputDir, "model.safetensors"))
	if os.IsNotExist(err) {
		st, err = os.Stat(filepath.Join(outputDir, "adapter_model.safetensors"))
	}
	if err != nil {
		if os.IsNotExist(err) {
			return fmt.Errorf("no trained model in %s (neither model.safetensors nor adapter_model.safetensors): "+
				"run the training first; the trainer saves the model there when training finishes", absPath(outputDir))
		}
		return fmt.Errorf("trained model in %s: %w", absPath(outputDir), err)
	}
	newest, err := LatestCheckpoint(outputDir)
	if err != nil {
		return fmt.Errorf("trained model in %s: %w", absPath(outputDir), err)
	}
	if newest != "" {
		// The final model is written after the last checkpoint of a finished run.
		if cst, err := os.Stat(filepath.Join(newest, trainerStateFile)); err == nil && cst.ModTime().After(st.ModTime()) {
			return fmt.Errorf("the model in %s is older than its newest checkpoint (%s): the last training run did not finish; "+
				"resume it with Train(ResumeFrom(\"latest\")) or train again", absPath(outputDir), filepath.Base(newest))
		}
	}
	return nil
}

// absPath spells out a path for messages (the folder a notebook cell resolves it against).
func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// LatestCheckpoint returns the checkpoint-<step> folder of outputDir with the highest step, or ""
// when there is none (what ResumeFrom("latest") resumes from).
func LatestCheckpoint(outputDir string) (string, error) {
	cks, err := listCheckpoints(outputDir)
	if err != nil || len(cks) == 0 {
		return "", err
	}
	return cks[len(cks)-1], nil
}

// ReadTrainerState reads the trainer_state.json of a checkpoint folder (Hugging Face's format, with
// the log history).
func ReadTrainerState(checkpointDir string) (*TrainerState, error) {
	var st TrainerState
	if err := readJSONFile(filepath.Join(checkpointDir, trainerStateFile), &st); err != nil {
		return nil, fmt.Errorf("trainer state of %s: %w", checkpointDir, err)
	}
	return &st, nil
}
