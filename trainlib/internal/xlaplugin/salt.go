package xlaplugin

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strings"
)

// Salt describes everything besides the program and its options that a compiled executable depends
// on: the plugin file (path, size, modification time), its PJRT API version, the devices, the host
// CPU (model and instruction-set flags: XLA CPU generates code for the host) and $XLA_FLAGS.
func Salt(pluginPath, apiVersion, devices string) (string, error) {
	fi, err := os.Stat(pluginPath)
	if err != nil {
		return "", fmt.Errorf("XLA compile cache: %w", err)
	}
	return strings.Join([]string{
		fmt.Sprintf("format %d", version),
		fmt.Sprintf("plugin %s %d %d", pluginPath, fi.Size(), fi.ModTime().UnixNano()),
		apiVersion, "devices " + devices, "host " + hostCPU(), "XLA_FLAGS " + os.Getenv("XLA_FLAGS"),
	}, "\n"), nil
}

// hostCPU returns the architecture, CPU model and feature flags (Linux: /proc/cpuinfo).
func hostCPU() string {
	out := runtime.GOOS + "/" + runtime.GOARCH
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	seen := map[string]bool{}
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		k = strings.TrimSpace(k)
		if !ok || seen[k] {
			continue
		}
		switch k {
		case "model name", "flags", "Features", "CPU implementer", "CPU part":
			seen[k] = true
			out += "|" + k + "=" + strings.TrimSpace(v)
		}
	}
	return out
}
