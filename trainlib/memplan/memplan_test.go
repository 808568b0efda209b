package memplan

import (
	"fmt"
	"strings"
	"testing"

	"github.com/embedtune/embedtune/internal/testutil"
)

// miniLM is the all-MiniLM-L6-v2 shape, fully trained.
var miniLM = Shape{Params: 22_713_216, TrainedParams: 22_713_216, Layers: 6, Hidden: 384, Intermediate: 1536, Heads: 12}

// TestEstimateFeaturesLowerActivations checks the structure of the model on both CPU engines:
// gradient checkpointing and a GradCache mini-batch lower the activations, not the runtime nor the
// weights, a GradCache
// mini-batch of the whole batch (or none) is plain training, and CachedMNRL's activations grow
// with the mini-batch, not the batch.
func TestEstimateFeaturesLowerActivations(t *testing.T) {
	act := func(e Estimate) int64 {
		for _, p := range e.Parts {
			if p.Name == "activations" {
				return p.Bytes
			}
		}
		return -1
	}
	ckpt := miniLM
	ckpt.GradientCheckpointing = true
	for _, e := range []Engine{Go, XLACPU} {
		b64 := Batch{Rows: 64, SeqLens: []int{32, 128}}
		full := Training(miniLM, b64, e)
		const (
			equal = iota
			less
			near // activations differ by the cached embeddings and their gradients only
		)
		for _, tc := range []struct {
			name      string
			got, want Estimate
			relation  int
		}{
			{"MiniBatch 0 and MiniBatch ≥ Rows are the same", Training(miniLM, Batch{Rows: 64, SeqLens: b64.SeqLens, MiniBatch: 64}, e), full, equal},
			{"MiniBatch 8 below the whole batch", Training(miniLM, Batch{Rows: 64, SeqLens: b64.SeqLens, MiniBatch: 8}, e), full, less},
			{"checkpointing below the whole batch", Training(ckpt, b64, e), full, less},
			{"MiniBatch 8 of 64 rows near MiniBatch 8 of 16 rows",
				Training(miniLM, Batch{Rows: 64, SeqLens: b64.SeqLens, MiniBatch: 8}, e),
				Training(miniLM, Batch{Rows: 16, SeqLens: b64.SeqLens, MiniBatch: 8}, e), near},
		} {
			t.Run(fmt.Sprintf("%s/%s", e, tc.name), func(t *testing.T) {
				g, w := act(tc.got), act(tc.want)
				switch tc.relation {
				case less:
					if !(tc.got.Total < tc.want.Total && g < w) {
						t.Errorf("%s is not below %s", tc.got, tc.want)
					}
				case near:
					// 48 more rows × 2 columns × (embedding + gradient) × 384 float32 values, or none
					// where the pure-Go engine's heap slack covers both.
					if d := g - w; d < 0 || d > 48*2*2*384*4 {
						t.Errorf("activations %d bytes at 64 rows, %d at 16 rows: should differ by the cached embeddings only", g, w)
					}
				case equal:
					if tc.got.Total != tc.want.Total {
						t.Errorf("%s differs from %s", tc.got, tc.want)
					}
				}
				for i, p := range tc.got.Parts {
					if (p.Name == "runtime" || p.Name == "weights") && p.Bytes != tc.want.Parts[i].Bytes {
						t.Errorf("part %q changed: %d, plain training %d", p.Name, p.Bytes, tc.want.Parts[i].Bytes)
					}
				}
			})
		}
	}
}

// TestAvailableMemoryReadsCgroupLimits reads fake /proc and /sys trees: MemAvailable alone, and the
// cgroup v1 and v2 limits (nearest up the hierarchy, "max" and v1's huge number meaning none),
// usage counted without the reclaimable file cache.
func TestAvailableMemoryReadsCgroupLimits(t *testing.T) {
	const gib = 1 << 30
	meminfo := "MemTotal: 25165824 kB\nMemAvailable: 20971520 kB\n" // 20 GiB available
	for _, tc := range []struct {
		name       string
		files      map[string]string
		free       int64
		sourceHas  string
		wantErrHas string
	}{
		{"no cgroup file", map[string]string{}, 20 * gib, "MemAvailable", ""},
		{"v2 limit", map[string]string{
			"proc/self/cgroup":             "0::/a/b\n",
			"sys/fs/cgroup/a/b/memory.max": "4294967296", "sys/fs/cgroup/a/b/memory.current": "1073741824",
			"sys/fs/cgroup/a/b/memory.stat": "anon 1\ninactive_file 536870912\n"}, 3*gib + gib/2, "cgroup v2 limit 4.0 GiB", ""},
		{"v2 limit of a parent", map[string]string{
			"proc/self/cgroup":             "0::/a/b\n",
			"sys/fs/cgroup/a/b/memory.max": "max", "sys/fs/cgroup/a/memory.max": "2147483648", "sys/fs/cgroup/a/memory.current": "0"},
			2 * gib, "cgroup v2 limit 2.0 GiB", ""},
		{"v2 without a limit", map[string]string{"proc/self/cgroup": "0::/a\n", "sys/fs/cgroup/a/memory.max": "max"}, 20 * gib, "MemAvailable", ""},
		{"v1 limit", map[string]string{
			"proc/self/cgroup": "7:memory:/job\n3:cpu,cpuacct:/\n",
			"sys/fs/cgroup/memory/job/memory.limit_in_bytes": "3221225472", "sys/fs/cgroup/memory/job/memory.usage_in_bytes": "1073741824",
			"sys/fs/cgroup/memory/job/memory.stat": "total_inactive_file 1073741824\n"}, 3 * gib, "cgroup v1 limit 3.0 GiB", ""},
		{"v1 without a limit", map[string]string{
			"proc/self/cgroup": "7:memory:/job\n",
			"sys/fs/cgroup/memory/job/memory.limit_in_bytes": "9223372036854771712"}, 20 * gib, "MemAvailable", ""},
		{"limit above MemAvailable", map[string]string{
			"proc/self/cgroup": "0::/\n", "sys/fs/cgroup/memory.max": "68719476736", "sys/fs/cgroup/memory.current": "0"}, 20 * gib, "MemAvailable", ""},
		{"no meminfo", nil, 0, "", "free memory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{}
			if tc.files != nil {
				files["proc/meminfo"] = meminfo
			}
			for k, v := range tc.files {
				files[k] = v
			}
			root := testutil.WriteFiles(t, files)
			m, err := AvailableIn(root)
			if tc.wantErrHas != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErrHas) {
					t.Fatalf("error %v, want one with %q", err, tc.wantErrHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.Free != tc.free || m.RSS != 0 || m.Budget() != tc.free || !strings.Contains(m.Source, tc.sourceHas) {
				t.Errorf("got %+v, want Free %d from %q", m, tc.free, tc.sourceHas)
			}
		})
	}
}

// Training estimates a run before it starts; CachedMultipleNegativesRankingLoss (Batch.MiniBatch)
// and gradient checkpointing (Shape.GradientCheckpointing) lower its activations.
func ExampleTraining() {
	shape := Shape{Params: 22_713_216, TrainedParams: 22_713_216, Layers: 6, Hidden: 384, Intermediate: 1536, Heads: 12}
	batch := Batch{Rows: 64, SeqLens: []int{32, 128}}
	mnrl := Training(shape, batch, Go)
	batch.MiniBatch = 8
	cached := Training(shape, batch, Go)
	fmt.Println("CachedMNRL needs less:", cached.Total < mnrl.Total)
	// Output: CachedMNRL needs less: true
}
