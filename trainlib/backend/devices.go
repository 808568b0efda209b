package backend

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// CPUDevicesEnv sets how many host devices the XLA CPU engine exposes ("EMBEDTUNE_XLA_CPU_DEVICES=4").
//
// The XLA CPU PJRT plugin can split the machine into several "host devices" (its create option
// cpu_device_count; the plugin's own default is 4 and XLA_FLAGS=--xla_force_host_platform_device_count
// is ignored by it). Host devices share the same cores, so they bring no speed: they exist to run and
// test the multi-device (SPMD data-parallel) path on any machine. Because TrainingArguments.NumDevices
// defaults to all of the backend's devices, and the global batch is per_device_train_batch_size ×
// devices × gradient_accumulation_steps as in Hugging Face, embedtune creates the XLA CPU engine with
// ONE device unless this variable asks for more — on a CPU, as with transformers (n_gpu = 0), one
// process trains on one device.
const CPUDevicesEnv = "EMBEDTUNE_XLA_CPU_DEVICES"

// maxCPUDevices bounds CPUDevicesEnv (each host device holds a replica of the weights).
const maxCPUDevices = 64

// cpuDevices returns the XLA CPU engine's device count from [CPUDevicesEnv] (1 when unset).
func cpuDevices() (int, error) {
	s := strings.TrimSpace(os.Getenv(CPUDevicesEnv))
	if s == "" {
		return 1, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxCPUDevices {
		return 0, fmt.Errorf("%s=%q: expected a number of XLA CPU host devices between 1 and %d", CPUDevicesEnv, s, maxCPUDevices)
	}
	return n, nil
}
