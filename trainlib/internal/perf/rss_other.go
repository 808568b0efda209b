//go:build !unix

package perf

// MaxRSS returns 0: this system does not report the peak resident set size through getrusage.
func MaxRSS() uint64 { return 0 }
