package nb_test

import (
	"fmt"

	"github.com/embedtune/embedtune/kernel/nb"
)

// Settings come from EMBEDTUNE_* variables; here from a map, as a test would set them.
func Example() {
	env := map[string]string{"EMBEDTUNE_MODEL": "models/tiny", "EMBEDTUNE_MAX_STEPS": "40", "EMBEDTUNE_LORA": "1"}
	cfg := nb.Must(nb.SettingsFrom(func(k string) string { return env[k] }))
	fmt.Println(cfg.Model, cfg.MaxSteps, cfg.LearningRate, cfg.OutputDir)
	fmt.Printf("LoRA r=%d alpha=%g dropout=%g on %v\n", cfg.LoRA.R, cfg.LoRA.Alpha, cfg.LoRA.Dropout, cfg.LoRA.TargetModules)
	// Output:
	// models/tiny 40 3e-06 tiny-finetuned
	// LoRA r=8 alpha=32 dropout=0.1 on [query value]
}
