//go:build unix

package perf

import (
	"runtime"
	"syscall"
	"time"
)

// MaxRSS returns the process's peak resident set size in bytes (getrusage ru_maxrss), or 0 where
// the system does not report it. It never decreases: it covers the whole process so far.
func MaxRSS() uint64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	if runtime.GOOS == "darwin" || runtime.GOOS == "ios" {
		return uint64(ru.Maxrss) // Bytes on Darwin.
	}
	return uint64(ru.Maxrss) * 1024 // Kilobytes on Linux and the BSDs.
}

// CPUTime returns the CPU time (user + system) the process has used so far, or 0 where the
// system does not report it. Benchmarks on a shared machine report its per-operation increase
// next to wall time: it does not count the time other processes hold the cores.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
