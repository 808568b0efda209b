package memplan

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/embedtune/embedtune/trainlib/internal/perf"
)

// Memory is how much memory this process can still use, and where the bound comes from.
type Memory struct {
	// Free is what the process may still allocate: the smallest of the machine's MemAvailable and its
	// control group's limit minus its usage (file cache that can be dropped not counted as usage).
	Free int64
	// RSS is the process's resident memory now (already in use, part of any estimate's total).
	RSS int64
	// Source says which bound decided Free, e.g. "cgroup v2 limit 8.0 GiB, 3.1 GiB used".
	Source string
}

// Budget is what the process's peak may reach: its resident memory now plus what is free.
func (m Memory) Budget() int64 { return m.RSS + m.Free }

func (m Memory) String() string {
	return fmt.Sprintf("%s (%s free: %s; this process holds %s)", FormatBytes(m.Budget()), FormatBytes(m.Free), m.Source, FormatBytes(m.RSS))
}

// Available reads the memory this process can use: /proc/meminfo's MemAvailable and, in a control
// group with a limit (a container, a systemd slice, a Kubernetes pod), cgroup v2's memory.max or
// cgroup v1's memory.limit_in_bytes. It fails where none of these exist (not Linux).
func Available() (Memory, error) { return available("/", os.Getpid()) }

// AvailableIn is Available reading /proc and /sys under root instead of / (a fake machine or
// container, for tests); the process's resident memory is then taken as 0.
func AvailableIn(root string) (Memory, error) { return available(root, os.Getpid()) }

// available reads the files under root (a test's fake /proc and /sys).
func available(root string, pid int) (Memory, error) {
	var m Memory
	if rss, err := perf.RSS(pid); err == nil && root == "/" {
		m.RSS = int64(rss)
	}
	meminfo, err := os.ReadFile(filepath.Join(root, "proc/meminfo"))
	if err != nil {
		return m, fmt.Errorf("free memory: %w", err)
	}
	availKB, ok := meminfoValue(meminfo, "MemAvailable")
	if !ok {
		return m, errors.New("free memory: /proc/meminfo has no MemAvailable")
	}
	m.Free, m.Source = availKB*1024, "MemAvailable "+FormatBytes(availKB*1024)
	if limit, used, what, ok := cgroupLimit(root); ok {
		if free := max(limit-used, 0); free < m.Free {
			m.Free = free
			m.Source = fmt.Sprintf("%s %s, %s used", what, FormatBytes(limit), FormatBytes(used))
		}
	}
	return m, nil
}

func meminfoValue(meminfo []byte, key string) (int64, bool) {
	sc := bufio.NewScanner(bytes.NewReader(meminfo))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && k == key {
			f := strings.Fields(v)
			if len(f) > 0 {
				n, err := strconv.ParseInt(f[0], 10, 64)
				return n, err == nil
			}
		}
	}
	return 0, false
}

// cgroupLimit returns the memory limit of this process's control group and its usage without the
// reclaimable file cache (inactive_file), for cgroup v2 or v1; ok is false without a limit.
func cgroupLimit(root string) (limit, used int64, what string, ok bool) {
	groups, err := os.ReadFile(filepath.Join(root, "proc/self/cgroup"))
	if err != nil {
		return 0, 0, "", false
	}
	readInt := func(p string) (int64, bool) {
		b, err := os.ReadFile(p)
		if err != nil {
			return 0, false
		}
		s := strings.TrimSpace(string(b))
		if s == "max" {
			return 0, false
		}
		n, err := strconv.ParseInt(s, 10, 64)
		return n, err == nil
	}
	inactive := func(statPath, key string) int64 {
		b, _ := os.ReadFile(statPath)
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) == 2 && f[0] == key {
				n, _ := strconv.ParseInt(f[1], 10, 64)
				return n
			}
		}
		return 0
	}
	for _, line := range strings.Split(strings.TrimSpace(string(groups)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		switch {
		case parts[0] == "0" && parts[1] == "": // cgroup v2
			dir := filepath.Join(root, "sys/fs/cgroup", parts[2])
			// The nearest limit going up the hierarchy applies.
			for d := dir; strings.HasPrefix(d, filepath.Join(root, "sys/fs/cgroup")); d = filepath.Dir(d) {
				if l, ok := readInt(filepath.Join(d, "memory.max")); ok {
					cur, _ := readInt(filepath.Join(d, "memory.current"))
					return l, cur - inactive(filepath.Join(d, "memory.stat"), "inactive_file"), "cgroup v2 limit", true
				}
				if d == filepath.Join(root, "sys/fs/cgroup") {
					break
				}
			}
		case strings.Contains(","+parts[1]+",", ",memory,"): // cgroup v1
			for _, dir := range []string{filepath.Join(root, "sys/fs/cgroup/memory", parts[2]), filepath.Join(root, "sys/fs/cgroup/memory")} {
				l, ok := readInt(filepath.Join(dir, "memory.limit_in_bytes"))
				if !ok || l >= 1<<60 { // "no limit" is a huge number in v1
					continue
				}
				cur, _ := readInt(filepath.Join(dir, "memory.usage_in_bytes"))
				return l, cur - inactive(filepath.Join(dir, "memory.stat"), "total_inactive_file"), "cgroup v1 limit", true
			}
		}
	}
	return 0, 0, "", false
}

// PeakRSS returns the process's peak resident memory so far (0 where the system does not say).
func PeakRSS() int64 { return int64(perf.MaxRSS()) }
