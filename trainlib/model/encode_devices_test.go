package model_test

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/embedtune/embedtune/internal/synth"
	"github.com/embedtune/embedtune/internal/testutil"
	"github.com/embedtune/embedtune/trainlib/model"
	"github.com/gomlx/gomlx/core/tensors"
)

// TestEncodeOnDevices checks data-parallel encoding on XLA CPU host devices against one device:
// batches that split evenly and batches that need padding rows (3 devices, odd batch sizes), before
// and after the weights change (the replicas are copied again).
func TestEncodeOnDevices(t *testing.T) {
	b := testutil.HostDevices(t, 4)
	m, err := synth.TinyModel(filepath.Join(t.TempDir(), "tok"), "mean", 3, model.WithLogger(nil), model.WithBackend(b))
	if err != nil {
		t.Fatal(err)
	}
	texts := make([]string, 37)
	for i := range texts {
		texts[i] = strings.Repeat(fmt.Sprintf("word%d ", i%11), 1+i%9)
	}
	compare := func(t *testing.T, want, got [][]float32) {
		t.Helper()
		worst := 0.0
		for i := range want {
			for j := range want[i] {
				worst = max(worst, math.Abs(float64(got[i][j]-want[i][j])))
			}
		}
		if worst > 1e-5 {
			t.Errorf("largest difference from one device %g, want ≤ 1e-5", worst)
		}
	}
	for _, c := range []struct{ devices, batch int }{{2, 8}, {3, 8}, {2, 3}, {4, 32}} {
		t.Run(fmt.Sprintf("%d devices, batch %d", c.devices, c.batch), func(t *testing.T) {
			opts := &model.EncodeOptions{BatchSize: c.batch, Normalize: true}
			if err := m.SetEncodeDevices(1); err != nil {
				t.Fatal(err)
			}
			want, err := m.Encode(texts, opts)
			if err != nil {
				t.Fatal(err)
			}
			if err := m.SetEncodeDevices(c.devices); err != nil {
				t.Fatal(err)
			}
			if m.EncodeDevices() != c.devices {
				t.Fatalf("EncodeDevices %d, want %d", m.EncodeDevices(), c.devices)
			}
			got, err := m.Encode(texts, opts)
			if err != nil {
				t.Fatal(err)
			}
			compare(t, want, got)
		})
	}
	t.Run("weights changed", func(t *testing.T) {
		i := m.Weights.Index("encoder.layer.0.output.dense.weight")
		w := tensors.MustCopyFlatData[float32](m.Weights.Values[i])
		for k := range w {
			w[k] *= 1.5
		}
		m.Weights.Values[i] = tensors.FromFlatDataAndDimensions(w, m.Weights.Shapes[i]...)
		opts := &model.EncodeOptions{BatchSize: 16}
		got, err := m.Encode(texts, opts) // still on 4 devices
		if err != nil {
			t.Fatal(err)
		}
		if err := m.SetEncodeDevices(0); err != nil {
			t.Fatal(err)
		}
		want, err := m.Encode(texts, opts)
		if err != nil {
			t.Fatal(err)
		}
		compare(t, want, got)
	})
	if err := m.SetEncodeDevices(5); err == nil || !strings.Contains(err.Error(), "5 requested but the backend has 4 device(s)") {
		t.Errorf("5 devices of 4: %v", err)
	}
}
