package hub_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/embedtune/embedtune/trainlib/hub"
	"github.com/embedtune/embedtune/trainlib/hub/hubtest"
)

// A model repository is served by a local fake Hub, snapshotted with a file filter, then read
// again offline from the cache.
func Example() {
	srv := hubtest.NewServer(nil)
	defer srv.Close()
	srv.AddRepo(hub.Model, "org/tiny-model", []hubtest.File{
		{Path: "config.json", Content: []byte(`{"hidden_size": 8}`)},
		{Path: "model.safetensors", Content: make([]byte, 1024), LFS: true},
		{Path: "onnx/model.onnx", Content: make([]byte, 2048), LFS: true},
	})
	cache, _ := os.MkdirTemp("", "hub-example")
	defer os.RemoveAll(cache)

	ctx := context.Background()
	c, _ := hub.NewClient(hub.WithEndpoint(srv.URL), hub.WithCacheDir(cache))
	dir, err := c.Snapshot(ctx, hub.Model, "org/tiny-model", "main", hub.MatchAny("*.json", "*.safetensors"))
	if err != nil {
		fmt.Println(err)
		return
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		fmt.Println(e.Name())
	}

	offline, _ := hub.NewClient(hub.WithCacheDir(cache), hub.WithOffline(true))
	p, _ := offline.Download(ctx, hub.Model, "org/tiny-model", "main", "config.json")
	b, _ := os.ReadFile(p)
	fmt.Println(filepath.Base(filepath.Dir(filepath.Dir(filepath.Dir(p)))), string(b))
	_, err = offline.Download(ctx, hub.Model, "org/tiny-model", "main", "onnx/model.onnx")
	fmt.Println(err != nil)
	// Output:
	// config.json
	// model.safetensors
	// models--org--tiny-model {"hidden_size": 8}
	// true
}
