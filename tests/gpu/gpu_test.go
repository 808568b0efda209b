// Package gpu is the accelerator check of scripts/gpu_check.sh: embedtune on XLA CUDA against
// sentence-transformers on PyTorch CUDA, on a random bge-base-shaped model (no weights travel).
// It holds only a test, compiled into a test binary that gpu_check.sh runs (or builds, where Go is
// installed); without $EMBEDTUNE_GPU_CHECK it skips. The request (JSON, written by gpu_check.sh)
// chooses the device, the shape and the sizes; everything is written to its "out" folder:
//
//   - the model, created as `embedtune init-model` does (model.New) with dropout 0, so both
//     trainings are deterministic given the batches;
//   - embeddings of the same texts from both (max |Δ| within the request's tolerance, 1e-3 on CUDA
//     in fp32);
//   - Steps training steps of both in the request's precision (fp16 on CUDA, with loss scaling) on
//     exactly the same batches (the Go sampler's, given to Python): per-step losses of both, both
//     finite and falling, overlaid in loss_curves.html;
//   - samples/s of both, encoding and training, at each of BenchBatches, every text max_seq_length
//     tokens long; XLA compile time reported apart;
//   - results.md (the table) and results.json.
package gpu

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/embedtune/embedtune/charts"
	"github.com/embedtune/embedtune/internal/steptimer"
	"github.com/embedtune/embedtune/internal/testutil"
	"github.com/embedtune/embedtune/trainlib"
	"github.com/embedtune/embedtune/trainlib/backend"
	"github.com/embedtune/embedtune/trainlib/datasets"
	"github.com/embedtune/embedtune/trainlib/losses"
	"github.com/embedtune/embedtune/trainlib/model"
	"github.com/embedtune/embedtune/trainlib/sampler"
)

// pyScript is the PyTorch side.
const pyScript = "tests/reference/gpu_check.py"

type request struct {
	Out       string `json:"out"`
	Device    string `json:"device"`    // "cuda" or "cpu" (the dry run)
	Precision string `json:"precision"` // "fp16" or "fp32"
	// Engine is the engine the Go side must run on ("XLA CUDA", "XLA CPU").
	Engine       string  `json:"engine"`
	Hidden       int     `json:"hidden_size"`
	Layers       int     `json:"num_layers"`
	Heads        int     `json:"num_heads"`
	Intermediate int     `json:"intermediate_size"`
	MaxSeqLength int     `json:"max_seq_length"`
	Tokenizer    string  `json:"tokenizer"`  // folder with tokenizer.json
	Pairs        string  `json:"pairs_file"` // JSON Lines {"question", "context"}
	Texts        int     `json:"texts"`      // compared embeddings
	Tolerance    float64 `json:"tolerance"`  // max |Δ| of embeddings
	Steps        int     `json:"steps"`
	Batch        int     `json:"batch_size"`
	LR           float64 `json:"learning_rate"`
	BenchBatches []int   `json:"bench_batches"`
	BenchSteps   int     `json:"bench_steps"`
}

type benchRow struct {
	Batch             int     `json:"batch"`
	GoEncode          float64 `json:"go_encode_samples_per_s"`
	TorchEncode       float64 `json:"torch_encode_samples_per_s"`
	GoTrain           float64 `json:"go_train_samples_per_s"`
	TorchTrain        float64 `json:"torch_train_samples_per_s"`
	GoEncodeCompileS  float64 `json:"go_encode_first_batch_s"`
	GoTrainFirstStepS float64 `json:"go_train_first_step_s"`
}

// multiDevice is the data-parallel run on all of the backend's devices (when it has several).
type multiDevice struct {
	Devices     int       `json:"devices"`
	Losses      []float64 `json:"losses"` // same global batches as GoLosses, gather_across_devices
	MaxDiff     float64   `json:"loss_max_abs_diff_vs_1_device"`
	Batch       int       `json:"global_batch"`
	SamplesPerS float64   `json:"train_samples_per_s"`
	OneDeviceS  float64   `json:"one_device_train_samples_per_s"`
}

type results struct {
	Backend      string            `json:"backend"`
	Device       string            `json:"device"`
	TorchDevice  string            `json:"torch_device"`
	Shape        string            `json:"shape"`
	Precision    string            `json:"precision"`
	EmbedMaxDiff float64           `json:"embeddings_max_abs_diff"`
	EmbedMinCos  float64           `json:"embeddings_min_cosine"`
	GoLosses     []float64         `json:"go_losses"`
	TorchLosses  []float64         `json:"torch_losses"`
	LossMaxDiff  float64           `json:"loss_max_abs_diff"`
	GoStepS      []float64         `json:"go_step_seconds"`
	TorchStepS   []float64         `json:"torch_step_seconds"`
	Bench        []benchRow        `json:"bench"`
	MultiDevice  *multiDevice      `json:"multi_device,omitempty"`
	Checks       map[string]string `json:"checks"`
	Seconds      float64           `json:"seconds"`
}

func TestGPUCheck(t *testing.T) {
	reqPath := os.Getenv("EMBEDTUNE_GPU_CHECK")
	if reqPath == "" {
		t.Skip("set EMBEDTUNE_GPU_CHECK to a request file (scripts/gpu_check.sh does)")
	}
	start := time.Now()
	var req request
	if b, err := os.ReadFile(reqPath); err != nil {
		t.Fatal(err)
	} else if err := json.Unmarshal(b, &req); err != nil {
		t.Fatalf("%s: %v", reqPath, err)
	}
	if err := os.MkdirAll(req.Out, 0o755); err != nil {
		t.Fatal(err)
	}
	res := &results{Device: req.Device, Precision: req.Precision, Checks: map[string]string{}}
	defer writeResults(t, req, res, start)
	check := func(name string, ok bool, detail string) {
		t.Helper()
		res.Checks[name] = map[bool]string{true: "PASS", false: "FAIL"}[ok] + ": " + detail
		if !ok {
			t.Errorf("%s: %s", name, detail)
		}
	}

	// The engine.
	c, err := backend.Choose()
	if err != nil {
		t.Fatal(err)
	}
	b, err := backend.Default()
	if err != nil {
		t.Fatal(err)
	}
	res.Backend = backend.Describe(b)
	t.Logf("backend: %s (%s)", res.Backend, c.Why)
	check("engine", c.Engine == req.Engine, fmt.Sprintf("%s, want %s", c.Engine, req.Engine))

	// The model: bge-base's shape (CLS pooling, normalized), random weights, no dropout.
	dir := filepath.Join(req.Out, "model")
	os.RemoveAll(dir)
	m, err := model.New(model.InitConfig{HiddenSize: req.Hidden, NumLayers: req.Layers, NumHeads: req.Heads,
		IntermediateSize: req.Intermediate, MaxSeqLength: req.MaxSeqLength, Pooling: []string{"cls"}, Normalize: true,
		TokenizerDir: req.Tokenizer, Seed: 42}, model.WithBackend(b), model.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	noDropout(t, dir)
	res.Shape = fmt.Sprintf("BERT %d×%d (%d heads, FFN %d), max_seq_length %d", req.Hidden, req.Layers, req.Heads, req.Intermediate, req.MaxSeqLength)
	load := func() *model.SentenceTransformer {
		m, err := model.Load(dir, model.WithBackend(b), model.WithLogger(nil), model.WithMaxSeqLength(req.MaxSeqLength))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	qs, cs := readPairs(t, req.Pairs)
	base := map[string]any{"model": dir, "device": req.Device, "max_seq_length": req.MaxSeqLength}
	with := func(extra map[string]any) map[string]any {
		out := map[string]any{}
		for k, v := range base {
			out[k] = v
		}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}

	// Embeddings.
	texts := append(append([]string{}, qs[:req.Texts/2]...), cs[:req.Texts-req.Texts/2]...)
	ours, err := load().Encode(texts, &model.EncodeOptions{BatchSize: 32})
	if err != nil {
		t.Fatal(err)
	}
	var enc struct {
		Embeddings [][]float64 `json:"embeddings"`
		DeviceName string      `json:"device_name"`
	}
	testutil.PythonJSON(t, pyScript, with(map[string]any{"mode": "encode", "texts": texts, "batch_size": 32}), &enc)
	res.TorchDevice = enc.DeviceName
	res.EmbedMaxDiff, res.EmbedMinCos = compare(ours, enc.Embeddings)
	check("embeddings", res.EmbedMaxDiff <= req.Tolerance, fmt.Sprintf("%d texts, max |Δ| %.2e (limit %.0e), min cosine %.7f", len(texts), res.EmbedMaxDiff, req.Tolerance, res.EmbedMinCos))

	// Training on the same batches.
	rows := req.Steps * req.Batch
	if len(qs) < rows {
		t.Fatalf("%s: %d pairs, need %d", req.Pairs, len(qs), rows)
	}
	batches := sampler.Permutation(rows, 42, 0) // The Go trainer's batch_sampler order (seed 42, epoch 0).
	var given [][]int
	for i := 0; i < req.Steps; i++ {
		given = append(given, batches[i*req.Batch:(i+1)*req.Batch])
	}
	goLosses, goSteps := train(t, load(), qs[:rows], cs[:rows], req, req.Batch, req.Steps, 1)
	res.GoLosses, res.GoStepS = goLosses, goSteps
	pairsFile := filepath.Join(req.Out, "train_pairs.jsonl")
	writePairs(t, pairsFile, qs[:rows], cs[:rows])
	var py struct {
		Losses      []float64 `json:"losses"`
		StepSeconds []float64 `json:"step_seconds"`
	}
	testutil.PythonJSON(t, pyScript, with(map[string]any{"mode": "train", "pairs_file": pairsFile, "batches": given,
		"batch_size": req.Batch, "learning_rate": req.LR, "precision": req.Precision, "seed": 42}), &py)
	res.TorchLosses, res.TorchStepS = py.Losses, py.StepSeconds
	for i := range min(len(goLosses), len(py.Losses)) {
		res.LossMaxDiff = math.Max(res.LossMaxDiff, math.Abs(goLosses[i]-py.Losses[i]))
	}
	for name, l := range map[string][]float64{"Go": goLosses, "PyTorch": py.Losses} {
		check("losses "+name, len(l) == req.Steps && finite(l) && falling(l),
			fmt.Sprintf("%d steps, first %.4f, last %.4f (finite, mean of the last 5 below the first 5's)", len(l), at(l, 0), at(l, len(l)-1)))
	}
	lossChart(t, req, goLosses, py.Losses)

	// Data-parallel training (SPMD) on all devices, same global batches, gather_across_devices: the
	// losses are those of one device holding the whole batch.
	if n := b.NumDevices(); n > 1 && req.Batch%n == 0 {
		l, _ := train(t, load(), qs[:rows], cs[:rows], req, req.Batch, req.Steps, n)
		md := &multiDevice{Devices: n, Losses: l}
		for i := range min(len(l), len(goLosses)) {
			md.MaxDiff = math.Max(md.MaxDiff, math.Abs(l[i]-goLosses[i]))
		}
		res.MultiDevice = md
		tol := 1e-5
		if req.Precision != "fp32" {
			tol = 2e-2 // half-precision activations: the device split changes rounding
		}
		check("multi-device", len(l) == len(goLosses) && md.MaxDiff <= tol,
			fmt.Sprintf("%d devices × %d rows, gather_across_devices: max |Δ| of %d step losses vs 1 device %.2e (limit %.0e)", n, req.Batch/n, len(l), md.MaxDiff, tol))
	} else {
		res.Checks["multi-device"] = fmt.Sprintf("UNTESTED: the backend has %d device(s) (batch %d)", n, req.Batch)
	}

	// Throughput at max_seq_length.
	long := longTexts(cs, 4*maxInt(req.BenchBatches))
	var pb struct {
		Encode map[string]float64 `json:"encode"`
		Train  map[string]float64 `json:"train"`
		Shapes map[string][]int   `json:"input_shapes"`
	}
	testutil.PythonJSON(t, pyScript, with(map[string]any{"mode": "bench", "texts": long, "batch_sizes": req.BenchBatches,
		"train_steps": req.BenchSteps, "precision": req.Precision, "learning_rate": req.LR}), &pb)
	for _, bs := range req.BenchBatches {
		row := benchRow{Batch: bs, TorchEncode: pb.Encode[fmt.Sprint(bs)], TorchTrain: pb.Train[fmt.Sprint(bs)]}
		if s := pb.Shapes[fmt.Sprint(bs)]; len(s) != 2 || s[1] != req.MaxSeqLength {
			t.Errorf("PyTorch batch shape %v at batch %d, want [%d %d]", s, bs, bs, req.MaxSeqLength)
		}
		m := load()
		sample := long[:4*bs]
		t0 := time.Now()
		if _, err := m.Encode(sample[:bs], &model.EncodeOptions{BatchSize: bs}); err != nil { // Compiles [bs, L].
			t.Fatal(err)
		}
		row.GoEncodeCompileS = time.Since(t0).Seconds()
		t0 = time.Now()
		if _, err := m.Encode(sample, &model.EncodeOptions{BatchSize: bs}); err != nil {
			t.Fatal(err)
		}
		row.GoEncode = float64(len(sample)) / time.Since(t0).Seconds()
		n := bs * (req.BenchSteps + 1)
		a, p := make([]string, n), make([]string, n)
		for i := range a {
			a[i], p[i] = long[i%len(long)], long[(i+1)%len(long)]
		}
		_, steps := train(t, load(), a, p, req, bs, req.BenchSteps+1, 1)
		row.GoTrainFirstStepS = steps[0]
		row.GoTrain = float64(bs) / steptimer.Median(steps[1:])
		res.Bench = append(res.Bench, row)
		if n := b.NumDevices(); n > 1 && bs == maxInt(req.BenchBatches) && bs%n == 0 {
			_, steps := train(t, load(), a, p, req, bs, req.BenchSteps+1, n)
			md := res.MultiDevice
			if md != nil {
				md.Batch, md.SamplesPerS, md.OneDeviceS = bs, float64(bs)/steptimer.Median(steps[1:]), row.GoTrain
				t.Logf("batch %d on %d devices: train %.1f samples/s (1 device: %.1f)", bs, n, md.SamplesPerS, row.GoTrain)
			}
		}
		t.Logf("batch %d: encode %.1f vs %.1f samples/s, train %.1f vs %.1f samples/s (Go vs PyTorch)", bs, row.GoEncode, row.TorchEncode, row.GoTrain, row.TorchTrain)
	}
}

// train runs steps training steps of batch bs (MNRL, AdamW, no warmup, the request's precision) on
// devices devices (bs/devices rows each, MNRL with gather_across_devices) and returns the per-step
// losses and seconds.
func train(t *testing.T, m *model.SentenceTransformer, anchors, positives []string, req request, bs, steps, devices int) ([]float64, []float64) {
	t.Helper()
	ds, err := datasets.FromColumns(datasets.Col("anchor", anchors), datasets.Col("positive", positives))
	if err != nil {
		t.Fatal(err)
	}
	args := trainlib.TrainingArguments{OutputDir: t.TempDir(), MaxSteps: steps, PerDeviceTrainBatchSize: bs / devices, NumDevices: devices, LearningRate: req.LR,
		BatchSampler: sampler.BatchSampler, LoggingSteps: 1, SaveStrategy: "no", Seed: 42, FP16: req.Precision == "fp16", BF16: req.Precision == "bf16"}
	timer := &steptimer.Timer{}
	loss := losses.MultipleNegativesRankingLoss(m, losses.WithGatherAcrossDevices(devices > 1))
	tr, err := trainlib.NewTrainer(m, args, ds, nil, loss, trainlib.WithCallbacks(timer), trainlib.WithoutProgress())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Train(); err != nil {
		t.Fatal(err)
	}
	var out []float64
	for _, e := range tr.State.LogHistory {
		if l, ok := e["loss"]; ok {
			out = append(out, l)
		}
	}
	return out, timer.Seconds
}

// noDropout sets the model's dropout probabilities to 0 (config.json).
func noDropout(t *testing.T, dir string) {
	p := filepath.Join(dir, "config.json")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	cfg["hidden_dropout_prob"], cfg["attention_probs_dropout_prob"] = 0.0, 0.0
	b, _ = json.MarshalIndent(cfg, "", "  ")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func readPairs(t *testing.T, path string) (qs, cs []string) {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var r struct{ Question, Context string }
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		qs, cs = append(qs, r.Question), append(cs, r.Context)
	}
	return qs, cs
}

func writePairs(t *testing.T, path string, qs, cs []string) {
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	enc := json.NewEncoder(f)
	for i := range qs {
		enc.Encode(map[string]string{"question": qs[i], "context": cs[i]})
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// longTexts joins consecutive contexts so that every text is longer than any max_seq_length used.
func longTexts(cs []string, n int) []string {
	out := make([]string, n)
	for i := range out {
		var sb strings.Builder
		for j := 0; j < 6; j++ {
			sb.WriteString(cs[(i*6+j)%len(cs)])
			sb.WriteString(" ")
		}
		out[i] = sb.String()
	}
	return out
}

func compare(ours [][]float32, ref [][]float64) (maxAbs, minCos float64) {
	minCos = 1
	for i := range ours {
		var dot, na, nb float64
		for j, v := range ours[i] {
			maxAbs = math.Max(maxAbs, math.Abs(float64(v)-ref[i][j]))
			dot += float64(v) * ref[i][j]
			na += float64(v) * float64(v)
			nb += ref[i][j] * ref[i][j]
		}
		minCos = math.Min(minCos, dot/math.Sqrt(na*nb))
	}
	return maxAbs, minCos
}

func finite(xs []float64) bool {
	for _, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return len(xs) > 0
}

// falling: the mean of the last 5 losses is below the mean of the first 5.
func falling(xs []float64) bool {
	if len(xs) < 10 {
		return false
	}
	mean := func(v []float64) float64 {
		s := 0.0
		for _, x := range v {
			s += x
		}
		return s / float64(len(v))
	}
	return mean(xs[len(xs)-5:]) < mean(xs[:5])
}

func at(xs []float64, i int) float64 {
	if i < 0 || i >= len(xs) {
		return math.NaN()
	}
	return xs[i]
}

func maxInt(xs []int) int {
	m := 0
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}

func lossChart(t *testing.T, req request, ours, torch []float64) {
	hist := func(l []float64) charts.LogHistory {
		h := charts.LogHistory{}
		for i, v := range l {
			h = append(h, map[string]float64{"step": float64(i + 1), "loss": v})
		}
		return h
	}
	c, err := charts.Runs("loss", []charts.Run{{Name: "embedtune (Go, XLA)", History: hist(ours)}, {Name: "sentence-transformers (PyTorch)", History: hist(torch)}},
		charts.WithTitle(fmt.Sprintf("Training loss, %s, %s, batch %d, same batches, no dropout", req.Device, req.Precision, req.Batch)))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(req.Out, "loss_curves.html")
	if err := charts.WriteHTML(path, "embedtune vs sentence-transformers", c); err != nil {
		t.Logf("loss curves: %v (the page is written without the echarts library)", err)
	}
}

func writeResults(t *testing.T, req request, res *results, start time.Time) {
	res.Seconds = time.Since(start).Seconds()
	b, _ := json.MarshalIndent(res, "", "  ")
	os.WriteFile(filepath.Join(req.Out, "results.json"), b, 0o644)
	var sb strings.Builder
	fmt.Fprintf(&sb, "# embedtune accelerator check (%s, %s)\n\n", req.Device, time.Now().Format("2006-01-02"))
	fmt.Fprintf(&sb, "Go engine: %s  \nPyTorch device: %s  \nModel: random %s, %s  \nHost: %s/%s, %d CPUs; %.0f s in all\n\n",
		res.Backend, res.TorchDevice, res.Shape, res.Precision, runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), res.Seconds)
	sb.WriteString("| check | result |\n|---|---|\n")
	names := make([]string, 0, len(res.Checks))
	for k := range res.Checks {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		fmt.Fprintf(&sb, "| %s | %s |\n", k, res.Checks[k])
	}
	fmt.Fprintf(&sb, "\nPer-step losses (same batches, no dropout, %s): max |Δ| Go vs PyTorch %.3g; Go %s; PyTorch %s\n\n",
		res.Precision, res.LossMaxDiff, fmtList(res.GoLosses), fmtList(res.TorchLosses))
	sb.WriteString("| batch (max_seq_length " + fmt.Sprint(req.MaxSeqLength) + ") | encode samples/s Go | PyTorch | ratio | train samples/s Go | PyTorch | ratio | Go first encode batch / first train step (compilation) |\n|---|---|---|---|---|---|---|---|\n")
	for _, r := range res.Bench {
		fmt.Fprintf(&sb, "| %d | %.1f | %.1f | %.2f | %.1f | %.1f | %.2f | %.1f s / %.1f s |\n", r.Batch, r.GoEncode, r.TorchEncode, r.GoEncode/r.TorchEncode,
			r.GoTrain, r.TorchTrain, r.GoTrain/r.TorchTrain, r.GoEncodeCompileS, r.GoTrainFirstStepS)
	}
	if md := res.MultiDevice; md != nil {
		fmt.Fprintf(&sb, "\nData-parallel (SPMD) on %d devices, gather_across_devices: step losses %s (max |Δ| vs 1 device %.3g); training at global batch %d: %.1f samples/s (1 device %.1f, ×%.2f)\n",
			md.Devices, fmtList(md.Losses), md.MaxDiff, md.Batch, md.SamplesPerS, md.OneDeviceS, md.SamplesPerS/md.OneDeviceS)
	}
	os.WriteFile(filepath.Join(req.Out, "results.md"), []byte(sb.String()), 0o644)
	t.Logf("results: %s\n%s", filepath.Join(req.Out, "results.md"), sb.String())
}

func fmtList(xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprintf("%.4f", x)
	}
	return "[" + strings.Join(parts, " ") + "]"
}
