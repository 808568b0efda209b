package backend

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
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

// threadsEnv is the XLA CPU plugin's own setting for the size of its thread pools (XLA's
// DefaultThreadPoolSize reads it; unset, the pools have one thread per core).
const threadsEnv = "PJRT_NPROC"

// hostDeviceThreads is the thread pool size the XLA CPU plugin gets for n host devices: one thread
// per core plus one per device.
//
// A host device that reaches a collective (the all-reduce of a data-parallel step) waits in it on a
// thread of the plugin's shared pool until every device arrives. With the default pool (one thread
// per core) the devices still computing could find no thread to run on: on 2 cores, 2 host devices
// training a MiniLM-sized model deadlocked and XLA aborted the process after 40 s ("rendezvous.cc
// Termination timeout for all reduce ... Expected 2 threads to join the rendezvous, but only 1 of
// them arrived on time"). A thread per device beyond the cores leaves the computing devices threads
// to run on; the waiting ones only sleep.
func hostDeviceThreads(n int) int { return runtime.NumCPU() + n }

// envMu serializes withHostDeviceThreads' changes of the process environment.
var envMu sync.Mutex

// withHostDeviceThreads runs create, the creation of an XLA CPU client with n host devices, with
// [threadsEnv] set to hostDeviceThreads(n) unless the user set it; the pools are sized when the
// client is created, so the variable is removed again afterwards.
func withHostDeviceThreads(n int, create func()) {
	if n <= 1 {
		create()
		return
	}
	envMu.Lock()
	defer envMu.Unlock()
	if _, set := os.LookupEnv(threadsEnv); set {
		create()
		return
	}
	os.Setenv(threadsEnv, strconv.Itoa(hostDeviceThreads(n)))
	defer os.Unsetenv(threadsEnv)
	create()
}
