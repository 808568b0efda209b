// Package steptimer measures a Trainer's steps: [Timer] is a trainlib callback that records the
// wall time of every optimizer step, the first one (which includes compiling the step's graph)
// from the start of training. The benchmark and comparison tests (tests/...) share it.
//
// Example:
//
//	timer := &steptimer.Timer{}
//	tr, _ := trainlib.NewTrainer(m, args, ds, nil, loss, trainlib.WithCallbacks(timer))
//	tr.Train()
//	fmt.Println(timer.Seconds[0], steptimer.Median(timer.Seconds[1:]))
package steptimer

import (
	"sort"
	"time"

	"github.com/embedtune/embedtune/trainlib"
)

// Timer records step wall times in Seconds.
type Timer struct {
	trainlib.BaseCallback
	last    time.Time
	Seconds []float64
}

// OnTrainBegin starts the clock.
func (s *Timer) OnTrainBegin(*trainlib.TrainerState, *trainlib.TrainingArguments) {
	s.last = time.Now()
}

// OnStepEnd records the step's time.
func (s *Timer) OnStepEnd(*trainlib.TrainerState, *trainlib.TrainingArguments) {
	now := time.Now()
	s.Seconds = append(s.Seconds, now.Sub(s.last).Seconds())
	s.last = now
}

// Median returns the median of xs (0 for none).
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}
