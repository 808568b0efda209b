package spmdprobe

import (
	"fmt"
	"testing"

	"github.com/embedtune/embedtune/trainlib/backend"
	"github.com/gomlx/compute"
	"github.com/gomlx/compute/distributed"
	"github.com/gomlx/gomlx/core/graph"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

func TestProbe(t *testing.T) {
	b, err := backend.Default()
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println(backend.Describe(b))
	for i := 0; i < b.NumDevices(); i++ {
		fmt.Println(b.DeviceDescription(compute.DeviceNum(i)))
	}
	n := 2
	mesh, err := distributed.NewDeviceMesh([]int{n}, []string{"data"})
	if err != nil {
		t.Fatal(err)
	}
	e, err := graph.NewExec(b, func(x *Node) *Node {
		y := x.Graph().Distributed().AllReduceOne(x, compute.ReduceOpSum)
		return y
	})
	if err != nil {
		t.Fatal(err)
	}
	e = e.SPMD(mesh)
	outs, err := e.Exec(tensors.FromValue([]float32{1, 2}), tensors.FromValue([]float32{10, 20}))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range outs {
		fmt.Println(o)
	}
}
