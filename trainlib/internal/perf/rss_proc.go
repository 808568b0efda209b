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
