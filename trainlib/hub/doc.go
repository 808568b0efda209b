// Package hub downloads files from the Hugging Face Hub into the cache layout of Python's
// huggingface_hub, so that one cache (HF_HUB_CACHE, default ~/.cache/huggingface/hub) serves Go
// and Python alike.
//
//	c, err := hub.NewClient(hub.FromEnv())   // HF_ENDPOINT, HF_TOKEN, HF_HOME, HF_HUB_CACHE, HF_HUB_OFFLINE
//	info, err := c.RepoInfo(ctx, hub.Dataset, "org/name", "main")            // commit + files
//	path, err := c.Download(ctx, hub.Model, "BAAI/bge-base-en-v1.5", "main", "config.json")
//	dir, err := c.Snapshot(ctx, hub.Model, "BAAI/bge-base-en-v1.5", "main", hub.MatchAny("*.json", "*.safetensors", "*.txt"))
//
// Files land in {cache}/{models|datasets}--{org}--{name}/blobs/{etag} (the git SHA-1 of a regular
// file, the SHA-256 of an LFS file), snapshots/{commit}/{path} is a relative symlink to the blob,
// and refs/{branch} records the commit a branch resolved to. Every download is written to
// blobs/{etag}.incomplete under a lock shared with Python (.locks/.../{etag}.lock), resumed with a
// Range request after a dropped connection, checked against the announced size and checksum, and
// only then renamed into blobs/: a failed download never leaves a wrong blob or snapshot entry.
//
// Offline (HF_HUB_OFFLINE=1), or when the Hub cannot be reached, revisions resolve through refs/ and
// files come from the snapshot; anything missing is an ErrNotCached error. Errors wrap one of the
// Err* kinds (errors.Is) and say what to do: set HF_TOKEN, accept a gated repository's conditions,
// check the id, revision or file name.
//
// Tests serve repositories with the fake Hub of package hubtest.
package hub
