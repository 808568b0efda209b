package model

import (
	"fmt"
	"reflect"
	"slices"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/distributed"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/tensors"
)

// Data-parallel encoding: [SentenceTransformer.SetEncodeDevices](n) makes Encode, EncodeQuery,
// EncodeDocument and EmbedIDs — and so every evaluator, which encodes through them — split each
// padded batch into n equal shards of consecutive rows, one per device of the model's backend, and
// embed the shards at once with one program compiled for a 1-D device mesh (GoMLX Exec.SPMD). Each
// device holds a copy of the weights; the forward pass has no collective (a row's embedding depends
// on its own tokens only), so the embeddings equal one device's to float tolerance: the shards are
// smaller matrices, whose products XLA may sum in another order.
//
// The Trainer sets it for the length of a run with num_devices > 1 and lends its own per-device
// copies of the weights (LendReplicas), so encoding during training copies nothing. Otherwise the
// copies are made on the first batch after the weights change, and kept until then.
//
//	m.SetEncodeDevices(2)            // XLA CPU with EMBEDTUNE_XLA_CPU_DEVICES=2, or two GPUs
//	emb, _ := m.Encode(texts, nil)   // each batch of 32: 16 rows per device
//
// Related: trainlib's TrainingArguments.NumDevices (data-parallel training), [SplitRows].

// deviceEncoder is the state of data-parallel encoding.
type deviceEncoder struct {
	n    int
	mesh *distributed.DeviceMesh
	// base are device 0's weights (GraphParams) the replicas copy; replicas[d-1] holds device d's.
	base     []*tensors.Tensor
	replicas [][]*tensors.Tensor
	// owned is true when the model made the replicas (it releases them), false when lent.
	owned bool
}

// SetEncodeDevices makes encoding run data-parallel on the backend's first n devices; 0 or 1 runs
// it on device 0 (the default). n above the backend's device count is an error naming both. A batch
// being encoded finishes first; the compiled program stays, for a later SetEncodeDevices(n).
func (m *SentenceTransformer) SetEncodeDevices(n int) error {
	if n < 0 {
		return fmt.Errorf("encode devices: expected 0 or a positive number, got %d", n)
	}
	if have := m.backend.NumDevices(); n > have {
		return fmt.Errorf("encode devices: %d requested but the backend has %d device(s)", n, have)
	}
	m.dpMu.Lock()
	defer m.dpMu.Unlock()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.dp != nil && m.dp.n == n {
		return nil
	}
	m.dropDevicesLocked()
	if n <= 1 {
		return nil
	}
	mesh, err := DataMesh(n)
	if err != nil {
		return fmt.Errorf("encode devices: %w", err)
	}
	m.dp = &deviceEncoder{n: n, mesh: mesh}
	return nil
}

// EncodeDevices returns the number of devices encoding runs on (1 unless SetEncodeDevices chose more).
func (m *SentenceTransformer) EncodeDevices() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.dp == nil {
		return 1
	}
	return m.dp.n
}

// LendReplicas gives data-parallel encoding copies of the weights already on devices 1…n-1:
// replicas[d-1] holds device d's copy of base, which must be the model's GraphParams (device 0's).
// They are used while GraphParams stays base, and never released by the model (the lender owns
// them). It does nothing unless SetEncodeDevices chose len(replicas)+1 devices.
func (m *SentenceTransformer) LendReplicas(base []*tensors.Tensor, replicas [][]*tensors.Tensor) {
	m.dpMu.Lock()
	defer m.dpMu.Unlock()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.dp == nil || len(replicas) != m.dp.n-1 {
		return
	}
	m.releaseReplicasLocked()
	m.dp.base, m.dp.replicas, m.dp.owned = slices.Clone(base), slices.Clone(replicas), false
}

// dropDevicesLocked ends data-parallel encoding, releasing the replicas the model made (m.dpMu and
// m.mu held).
func (m *SentenceTransformer) dropDevicesLocked() {
	if m.dp == nil {
		return
	}
	m.releaseReplicasLocked()
	m.dp = nil
}

// releaseReplicasLocked forgets the replicas, releasing them when the model made them.
func (m *SentenceTransformer) releaseReplicasLocked() {
	d := m.dp
	if d.owned {
		for _, ts := range d.replicas {
			for _, t := range ts {
				t.FinalizeAll()
			}
		}
	}
	d.base, d.replicas, d.owned = nil, nil, false
}

// deviceInputsLocked returns every device's weights for the current GraphParams, copying them to the other
// devices when they changed. Called with m.mu held.
func (m *SentenceTransformer) deviceInputsLocked() ([][]*tensors.Tensor, error) {
	d := m.dp
	cur := m.GraphParams()
	if !slices.Equal(cur, d.base) || len(d.replicas) != d.n-1 {
		m.releaseReplicasLocked()
		replicas := make([][]*tensors.Tensor, d.n-1)
		for dev := 1; dev < d.n; dev++ {
			replicas[dev-1] = make([]*tensors.Tensor, len(cur))
			for i, x := range cur {
				c, err := x.OnDeviceClone(m.backend, compute.DeviceNum(dev))
				if err != nil {
					for _, ts := range replicas {
						for _, t := range ts {
							if t != nil {
								t.FinalizeAll()
							}
						}
					}
					return nil, fmt.Errorf("encode: copying the weights to device %d: %w", dev, err)
				}
				replicas[dev-1][i] = c
			}
		}
		d.base, d.replicas, d.owned = cur, replicas, true
	}
	return append([][]*tensors.Tensor{cur}, d.replicas...), nil
}

// embedBatchDevices is embedBatch over the devices of m.dp: the padded batch is split in equal
// shards (with extra padding rows when its row count is not a multiple of the devices).
func (m *SentenceTransformer) embedBatchDevices(batch [][]int, maxRows, promptLen int) ([][]float32, error) {
	m.dpMu.Lock()
	defer m.dpMu.Unlock()
	m.mu.Lock()
	d := m.dp
	if d == nil {
		m.mu.Unlock()
		return m.embedBatchOne(batch, maxRows, promptLen)
	}
	n := d.n
	exec, err := m.encodeExecLocked(n, d.mesh)
	var params [][]*tensors.Tensor
	if err == nil {
		params, err = m.deviceInputsLocked()
	}
	m.mu.Unlock()
	if err != nil {
		return nil, err
	}
	// One device's padded row count, rounded up to a multiple of n with copies of the first row
	// (their embeddings are dropped).
	rows := max(BatchBucket(len(batch), maxRows), len(batch))
	rows = (rows + n - 1) / n * n
	padded := slices.Clone(batch)
	for len(padded) < rows {
		padded = append(padded, batch[0])
	}
	ids, mask := m.Pad(padded, rows)
	idShards, err := SplitRows(ids, n)
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	maskShards, err := SplitRows(mask, n)
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	var args []any
	for dev := range n {
		args = m.appendEncodeArgs(args, params[dev], idShards[dev], maskShards[dev], promptLen)
	}
	outs, err := exec.Exec(args...)
	if err != nil {
		return nil, fmt.Errorf("encode on %d devices: %w", n, err)
	}
	dim := m.Dim()
	res := make([][]float32, 0, rows)
	for _, o := range outs {
		flat, err := tensors.CopyFlatData[float32](o)
		o.FinalizeAll()
		if err != nil {
			return nil, fmt.Errorf("encode: %w", err)
		}
		for i := 0; i+dim <= len(flat); i += dim {
			res = append(res, flat[i:i+dim:i+dim])
		}
	}
	return res[:len(batch)], nil
}

// DataAxis names the one axis of the data-parallel device mesh (training and encoding).
const DataAxis = "data"

// DataMesh returns the 1-D data-parallel mesh over the backend's first n devices.
func DataMesh(n int) (*distributed.DeviceMesh, error) {
	mesh, err := distributed.NewDeviceMesh([]int{n}, []string{DataAxis})
	if err != nil {
		return nil, fmt.Errorf("device mesh of %d devices: %w", n, err)
	}
	return mesh, nil
}

// SplitRows splits a host tensor along its first axis into n equal parts (device d gets rows
// d·B/n … (d+1)·B/n-1); the first dimension must be a multiple of n.
func SplitRows(t *tensors.Tensor, n int) ([]*tensors.Tensor, error) {
	dims := slices.Clone(t.Shape().Dimensions)
	if len(dims) == 0 || n < 1 || dims[0]%n != 0 {
		return nil, fmt.Errorf("cannot split a tensor of shape %v into %d equal parts along its first axis", dims, n)
	}
	dims[0] /= n
	per := t.Shape().Size() / n
	parts := make([]*tensors.Tensor, n)
	var err error
	cerr := t.ConstFlatData(func(flat any) {
		src := reflect.ValueOf(flat)
		for d := range parts {
			parts[d] = tensors.FromShape(shapes.Make(t.DType(), dims...))
			if e := parts[d].MutableFlatData(func(dst any) {
				reflect.Copy(reflect.ValueOf(dst), src.Slice(d*per, (d+1)*per))
			}); e != nil {
				err = e
			}
		}
	})
	if cerr != nil {
		return nil, cerr
	}
	return parts, err
}
