package display

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/embedtune/embedtune/trainlib"
	"github.com/embedtune/embedtune/trainlib/losses"
)

// trainlibSummary returns the summary HTML shows for trainlib's configuration values — training
// arguments, a trainer, a loss — or nil for other values.
func trainlibSummary(x any) *Summary {
	switch v := x.(type) {
	case trainlib.TrainingArguments:
		return argsSummary(v)
	case *trainlib.TrainingArguments:
		return argsSummary(*v)
	case *trainlib.Trainer:
		return trainerSummary(v)
	case losses.Loss:
		return lossSummary(v)
	}
	return nil
}

// argsSummary lists the arguments that were set (the others keep Hugging Face's defaults), by their
// Hugging Face names, in declaration order.
func argsSummary(a trainlib.TrainingArguments) *Summary {
	s := NewSummary("Training arguments (the others keep Hugging Face's defaults)")
	v := reflect.ValueOf(a)
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "" || name == "-" || v.Field(i).IsZero() {
			continue
		}
		s.Add(name, fmt.Sprint(v.Field(i).Interface()))
	}
	return s
}

// trainerSummary describes what a trainer will do, with the defaults filled in.
func trainerSummary(tr *trainlib.Trainer) *Summary {
	a := tr.Args
	s := NewSummary("Trainer").Add("Training rows", tr.TrainDataset.Len())
	if tr.EvalDataset != nil {
		s.Add("Evaluation rows (validation loss)", tr.EvalDataset.Len())
	}
	if tr.Evaluator != nil {
		s.Add("Evaluator", fmt.Sprintf("%T %q", tr.Evaluator, tr.Evaluator.Name()))
	}
	s.Add("Loss", tr.Loss.Name())
	if a.MaxSteps > 0 {
		devices, err := tr.Devices()
		if err != nil {
			devices = 1 // Train reports the error
		}
		batch := a.PerDeviceTrainBatchSize * devices * max(a.GradientAccumulationSteps, 1)
		epochs := float64(a.MaxSteps*batch) / float64(tr.TrainDataset.Len())
		per := ""
		if devices > 1 {
			per = fmt.Sprintf(", %d per device on %d devices", a.PerDeviceTrainBatchSize, devices)
		}
		s.Add("Steps", fmt.Sprintf("%d steps × %d pairs%s (about %.1f epochs)", a.MaxSteps, batch, per, epochs))
	}
	s.Add("Learning rate", fmt.Sprintf("%g peak, %s schedule, %g%% warmup", a.LearningRate, a.LRSchedulerType, 100*a.WarmupRatio)).
		Add("Optimizer", fmt.Sprintf("AdamW (β1 %g, β2 %g, ε %g, weight decay %g), gradient norm clipped at %g",
			a.AdamBeta1, a.AdamBeta2, a.AdamEpsilon, a.WeightDecay, a.MaxGradNorm))
	if ad := tr.Model.Adapter; ad != nil {
		s.Add("Trained weights", fmt.Sprintf("LoRA adapter: r=%d, lora_alpha=%g, lora_dropout=%g on %d layers (%d parameters; the base is frozen)",
			ad.Config.R, ad.Config.Alpha, ad.Config.Dropout, len(ad.Modules()), ad.Weights.NumParams()))
	} else {
		s.Add("Trained weights", fmt.Sprintf("all %d", tr.Model.Weights.NumParams()))
	}
	return s.Add("Seed", a.Seed)
}

// lossSummary lists a loss's parameters like get_config_dict(), unset ones as Python prints None.
func lossSummary(l losses.Loss) *Summary {
	cfg := l.Config()
	s := NewSummary(l.Name())
	for _, k := range slices.Sorted(maps.Keys(cfg)) {
		v := cfg[k]
		if v == nil {
			v = "None"
		}
		s.Add(k, v)
	}
	return s
}
