package perf

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
)

// RSS returns the current resident set size in bytes of process pid (os.Getpid() for this one),
// read from /proc/PID/statm. Where /proc does not exist (not Linux) it returns an error.
func RSS(pid int) (uint64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/statm", pid))
	if err != nil {
		return 0, fmt.Errorf("resident memory of process %d: %w", pid, err)
	}
	f := bytes.Fields(data)
	if len(f) < 2 {
		return 0, fmt.Errorf("resident memory of process %d: unexpected /proc/%d/statm %q", pid, pid, data)
	}
	pages, err := strconv.ParseUint(string(f[1]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("resident memory of process %d: /proc/%d/statm: %w", pid, pid, err)
	}
	return pages * uint64(os.Getpagesize()), nil
}

// ResetPeakRSS resets this process's peak resident set size (VmHWM) to its current resident set
// size, so that PeakRSS then reports the high-water mark of what runs after it (Linux ≥ 4.0:
// /proc/self/clear_refs). Elsewhere it returns an error.
func ResetPeakRSS() error {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		return fmt.Errorf("resetting the peak resident memory: %w", err)
	}
	return nil
}

// PeakRSS returns this process's peak resident set size in bytes since it started or since the
// last ResetPeakRSS (VmHWM of /proc/self/status). Where /proc does not exist it returns an error.
func PeakRSS() (uint64, error) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("peak resident memory: %w", err)
	}
	for _, line := range bytes.Split(data, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("VmHWM:")); ok {
			f := bytes.Fields(v)
			if len(f) != 2 || string(f[1]) != "kB" {
				break
			}
			kb, err := strconv.ParseUint(string(f[0]), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("peak resident memory: VmHWM %q: %w", v, err)
			}
			return kb * 1024, nil
		}
	}
	return 0, fmt.Errorf("peak resident memory: no VmHWM line in /proc/self/status")
}
