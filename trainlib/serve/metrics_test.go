package serve

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestMetricsFormat checks /metrics against the Prometheus text format's rules: every sample belongs
// to a family declared by # HELP and # TYPE before it, label values are quoted, histogram buckets are
// cumulative with le="+Inf" equal to _count, and the series the issue asks for are there.
func TestMetricsFormat(t *testing.T) {
	m, _ := tinyModel(t, "mean", false, 1)
	srv, err := Start("", []Model{{"a \"quoted\" name", m}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	for _, body := range []map[string]any{{"input": testTexts}, {"input": ""}} {
		post(t, srv.URL+"/v1/embeddings", body)
	}
	status, h, data := get(t, srv.URL+"/metrics")
	if status != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("/metrics: %d %q", status, h.Get("Content-Type"))
	}
	sampleRE := regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (\S+)$`)
	types := map[string]string{}
	var lastBucket float64
	var lastSeries string
	counts := map[string]float64{}
	infs := map[string]float64{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if f := strings.Fields(line); len(f) >= 4 && f[0] == "#" && f[1] == "TYPE" {
			types[f[2]] = f[3]
			continue
		}
		if strings.HasPrefix(line, "# HELP ") {
			continue
		}
		mm := sampleRE.FindStringSubmatch(line)
		if mm == nil {
			t.Errorf("malformed line %q", line)
			continue
		}
		name, labels, value := mm[1], mm[2], mm[4]
		v, err := strconv.ParseFloat(value, 64)
		if err != nil && value != "+Inf" {
			t.Errorf("value of %q", line)
		}
		family := name
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			if b, ok := strings.CutSuffix(name, suf); ok && types[b] == "histogram" {
				family = b
			}
		}
		if types[family] == "" {
			t.Errorf("sample %q before its # TYPE", line)
		}
		if strings.HasSuffix(name, "_bucket") {
			series := name + regexp.MustCompile(`,?le="[^"]*"`).ReplaceAllString(labels, "")
			if series == lastSeries && v < lastBucket {
				t.Errorf("bucket counts decrease at %q", line)
			}
			lastSeries, lastBucket = series, v
			if strings.Contains(labels, `le="+Inf"`) {
				infs[series] = v
			}
		}
		if strings.HasSuffix(name, "_count") {
			counts[strings.TrimSuffix(name, "_count")+"_bucket"+labels] = v
		}
	}
	if len(infs) == 0 {
		t.Error("no histogram")
	}
	for series, inf := range infs {
		if counts[series] != inf {
			t.Errorf("%s: +Inf bucket %v, _count %v", series, inf, counts[series])
		}
	}
	for _, want := range []string{
		`embedtune_requests_total{route="/v1/embeddings",model="a \"quoted\" name",code="200"} 1`,
		`embedtune_requests_total{route="/v1/embeddings",model="a \"quoted\" name",code="400"} 1`,
		`embedtune_inputs_total{model="a \"quoted\" name"} 7`,
		`embedtune_batch_size_count{model="a \"quoted\" name"}`,
		`embedtune_request_duration_seconds_bucket{route="/v1/embeddings",le="+Inf"} 2`,
		`embedtune_queue_wait_seconds_count`, `embedtune_batch_duration_seconds_sum`, `embedtune_queue_depth`,
		`process_resident_memory_bytes `, `go_goroutines `,
	} {
		if !strings.Contains(string(data), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
