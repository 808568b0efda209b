package losses

import (
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive
)

// Shard describes, inside a data-parallel training step, the part of the global batch one device
// holds: rows Offset … Offset+B-1 of the global batch of Devices·B rows, where B is the local
// batch (the rows of the embeddings a loss is given).
//
// Gather returns, for each local [B, …] tensor, the global [Devices·B, …] one with every device's
// rows in device order (an all-gather through one XLA collective for all of them: gather every
// tensor a loss needs in one call). Its gradient is exact: each device receives the sum over all
// devices of the loss gradients with respect to its own rows, so that the mean of the devices'
// losses is differentiated as one loss over the whole batch.
type Shard struct {
	Devices int
	Offset  *Node // int32 scalar: this device's first global row
	Gather  func(xs ...*Node) []*Node
}

// GatheringLoss is a Loss that can see the whole global batch from every device
// (sentence-transformers' gather_across_devices).
type GatheringLoss interface {
	Loss
	// GatherAcrossDevices reports whether the loss asks for the global batch.
	GatherAcrossDevices() bool
	// ComputeShard returns this device's loss, a mean over its own B anchors, given its local
	// embeddings and the Shard; the mean over devices equals Compute on the global batch. scale is
	// the logit scale as a graph input (see Scaled), or nil for the loss's own.
	ComputeShard(embeddings []*Node, labels, scale *Node, shard Shard) *Node
}
