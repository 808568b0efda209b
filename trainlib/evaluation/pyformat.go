package evaluation

import "github.com/embedtune/embedtune/internal/pyfmt"

// pyFloat formats v like Python's repr(float), as sentence-transformers writes metrics to its CSV files.
func pyFloat(v float64) string { return pyfmt.Repr(v) }

// pyEpoch formats an epoch as sentence-transformers' CSV does: the default -1 is an int ("-1"),
// a trainer's epoch is a Python float ("1.0", "0.5").
func pyEpoch(epoch float64) string {
	if epoch == -1 {
		return "-1"
	}
	return pyFloat(epoch)
}
