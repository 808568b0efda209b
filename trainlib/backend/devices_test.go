package backend

import (
	"os"
	"runtime"
	"strconv"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/distributed"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// TestHostDeviceCollectivesDoNotDeadlock runs, on 4 XLA CPU host devices, a program shaped like a
// data-parallel step: much work on each device (40 chained 128×768 · 768×768 products), then one
// all-reduce. With the plugin's default thread pool (one thread per core) this deadlocks on a
// 2-core machine — the devices that reached the all-reduce hold the pool's threads while the others
// wait for one — and XLA aborts the test binary after 40 s ("rendezvous.cc ... Termination timeout
// for all reduce"). withHostDeviceThreads sizes the pool for the devices.
func TestHostDeviceCollectivesDoNotDeadlock(t *testing.T) {
	plugin := realCPUPlugin(t)
	const devices, chain, rows, dim = 4, 40, 128, 768
	t.Setenv(CPUDevicesEnv, strconv.Itoa(devices))
	b, err := New("xla:" + plugin)
	if err != nil {
		t.Fatal(err)
	}
	if _, set := os.LookupEnv(threadsEnv); set {
		t.Errorf("%s is still set after the backend was created", threadsEnv)
	}
	mesh, err := distributed.NewDeviceMesh([]int{devices}, []string{"data"})
	if err != nil {
		t.Fatal(err)
	}
	exec, err := graph.NewExec(b, func(x, w *graph.Node) *graph.Node {
		for range chain {
			x = graph.Tanh(graph.MatMul(x, w))
		}
		return x.Graph().Distributed().AllReduceOne(graph.ReduceAllSum(x), compute.ReduceOpSum)
	})
	if err != nil {
		t.Fatal(err)
	}
	exec.SPMD(mesh)
	for rep := range 2 {
		var args []any
		for d := range devices {
			x := make([]float32, rows*dim)
			for i := range x {
				x[i] = float32((i+d)%7) / 70
			}
			args = append(args, tensors.FromFlatDataAndDimensions(x, rows, dim), tensors.FromShape(shapes.Make(dtypes.Float32, dim, dim)))
		}
		outs, err := exec.Exec(args...)
		if err != nil {
			t.Fatal(err)
		}
		if len(outs) != devices {
			t.Fatalf("rep %d: %d outputs, want one per device (%d)", rep, len(outs), devices)
		}
		// w is zero, so every product is zero: the all-reduced sum is 0 on every device.
		for d, o := range outs {
			if v := tensors.MustCopyFlatData[float32](o)[0]; v != 0 {
				t.Errorf("rep %d device %d: sum %v, want 0", rep, d, v)
			}
		}
	}
	t.Logf("%d host devices on %d cores with a pool of %d threads", devices, runtime.NumCPU(), hostDeviceThreads(devices))
}

// TestHostDeviceThreadsRespectsTheUser checks that a PJRT_NPROC the user set is left alone.
func TestHostDeviceThreadsRespectsTheUser(t *testing.T) {
	t.Setenv(threadsEnv, "3")
	var seen string
	withHostDeviceThreads(4, func() { seen = os.Getenv(threadsEnv) })
	if seen != "3" || os.Getenv(threadsEnv) != "3" {
		t.Errorf("%s was %q during creation and %q after, want the user's 3", threadsEnv, seen, os.Getenv(threadsEnv))
	}
	os.Unsetenv(threadsEnv)
	withHostDeviceThreads(4, func() { seen = os.Getenv(threadsEnv) })
	if want := strconv.Itoa(runtime.NumCPU() + 4); seen != want {
		t.Errorf("%s was %q during creation, want %s", threadsEnv, seen, want)
	}
	withHostDeviceThreads(1, func() { seen = os.Getenv(threadsEnv) })
	if seen != "" {
		t.Errorf("one device: %s was %q, want unset", threadsEnv, seen)
	}
}
