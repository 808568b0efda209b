package nb

import (
	"errors"
	"fmt"
	"os"

	"github.com/embedtune/embedtune/kernel/display"
	"github.com/embedtune/embedtune/trainlib/hub"
)

// Must returns v when err is nil. Otherwise it shows err as the cell's error — a red box with the
// message and, for the errors a workshop meets (no Hub, files not cached, no trained model yet), how to
// fix it — and stops the cell: nothing after it runs, and Jupyter marks the cell failed, so "Run All"
// stops there as it does on a Python exception. It is the notebook form of
//
//	v, err := f()
//	if err != nil {
//		display.HTML(err)
//		return
//	}
//
// usable inside the helper functions a notebook declares, where a plain return would not stop the cell.
// Outside a notebook (go run, tests) it prints the error on stderr and exits with status 1.
func Must[T any](v T, err error) T {
	if err != nil {
		Fail(err)
	}
	return v
}

// Check is Must for calls that return only an error: Check(m.AddAdapter(cfg)).
func Check(err error) {
	if err != nil {
		Fail(err)
	}
}

// Fail shows err (with its fix, see Must) and stops the cell.
func Fail(err error) {
	err = withFix(err)
	if display.InNotebook() {
		display.HTML(err)
	} else {
		fmt.Fprintln(os.Stderr, "Error:", err)
	}
	os.Exit(1)
}

// fixed is an error with the sentence that says how to fix it.
type fixed struct {
	err error
	fix string
}

func (f *fixed) Error() string { return f.err.Error() + "\n\nHow to fix: " + f.fix }
func (f *fixed) Unwrap() error { return f.err }

// offlineFix says how to work without the Hub.
const offlineFix = "the Hugging Face Hub is not reachable from here and the files are not in the local cache. " +
	"Start Jupyter with EMBEDTUNE_OFFLINE=1 to use the offline defaults (real weights from scripts/fetch_weights.sh " +
	"and SQuAD question/passage pairs), point EMBEDTUNE_MODEL / EMBEDTUNE_DATASET at local folders or files, or " +
	"install a workshop bundle: embedtune bundle install FILE (then HF_HUB_OFFLINE=1 works)."

// withFix adds how to fix the errors a workshop meets; other errors already say it (trainlib's errors
// name the file, the field and what was expected).
func withFix(err error) error {
	var f *fixed
	if errors.As(err, &f) {
		return err
	}
	switch {
	case errors.Is(err, hub.ErrNotCached):
		return &fixed{err, offlineFix}
	case errors.Is(err, hub.ErrUnauthorized):
		return &fixed{err, "set HF_TOKEN (a Hugging Face access token) before starting Jupyter, and accept the repository's conditions on its Hub page if it is gated."}
	}
	return err
}
