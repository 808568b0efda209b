//go:build !unix

package perf

import "time"

// MaxRSS returns 0: this system does not report the peak resident set size through getrusage.
func MaxRSS() uint64 { return 0 }

// CPUTime returns 0: this system does not report process CPU time through getrusage.
func CPUTime() time.Duration { return 0 }
