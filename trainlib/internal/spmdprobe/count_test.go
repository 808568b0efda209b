package spmdprobe

import (
	"fmt"
	"testing"

	"github.com/embedtune/embedtune/trainlib/backend"
	"github.com/gomlx/go-xla/compute/xla"
	"github.com/gomlx/go-xla/pjrt"
)

func TestCount(t *testing.T) {
	for _, n := range []int64{1, 2, 8} {
		b, err := xla.NewWithOptions(backend.FindCPUPlugin(), pjrt.NamedValuesMap{"cpu_device_count": n})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Println(n, b.NumDevices())
	}
}
