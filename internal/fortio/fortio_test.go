package fortio

import (
	"math"
	"os"
	"strings"
	"testing"
	"time"
)

func load(t *testing.T, path string) *Result {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// A real result: fortio 1.68.2's REST API (/fortio/rest/run), 2
// connections for 2s against fortio's own echo handler on loopback.
func TestParseRealResult(t *testing.T) {
	r := load(t, "testdata/fortio-echo-c2.json")
	s, err := r.Summarize()
	if err != nil {
		t.Fatal(err)
	}
	if s.Concurrency != 2 || s.Requests != 89455 || s.Errors != 0 || s.Duration.Round(time.Second) != 2*time.Second {
		t.Errorf("summary %+v", s)
	}
	if math.Abs(s.RPS-44723.8) > 1 {
		t.Errorf("rps %f", s.RPS)
	}
	// Percentiles are in ms, ordered.
	if !(s.P50 > 0 && s.P50 <= s.P90 && s.P90 <= s.P99 && s.P99 < 10) {
		t.Errorf("percentiles %f %f %f", s.P50, s.P90, s.P99)
	}
	if math.Abs(s.P50-0.5114) > 0.001 {
		t.Errorf("p50 %f ms, want 0.5114", s.P50)
	}
	if _, err := r.Percentile(95); err == nil {
		t.Error("p95 was not asked for, yet found")
	}
}

// Non-200 answers and socket errors (-1) count as errors.
func TestErrors(t *testing.T) {
	r := &Result{RunType: "HTTP", NumThreads: 4, DurationHistogram: Histogram{Count: 10, Percentiles: []Percentile{{50, 0.001}, {90, 0.002}, {99, 0.003}}},
		RetCodes: map[string]int64{"200": 7, "503": 2, "-1": 1}}
	s, err := r.Summarize()
	if err != nil {
		t.Fatal(err)
	}
	if s.Errors != 3 || s.P99 != 3 {
		t.Errorf("summary %+v", s)
	}
}

func TestParseRefuses(t *testing.T) {
	for name, in := range map[string]string{
		"not json": "fortio: error",
		"tcp run":  `{"RunType":"TCP","DurationHistogram":{"Count":3}}`,
		"no calls": `{"RunType":"HTTP","DurationHistogram":{"Count":0}}`,
	} {
		if _, err := Parse(strings.NewReader(in)); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}

// A real run of make bench on the local cluster: the fortio pod, one
// connection for 25s against the mesh release's ingress Service.
func TestParseBenchRun(t *testing.T) {
	r := load(t, "testdata/fortio-mesh-c1.json")
	s, err := r.Summarize()
	if err != nil {
		t.Fatal(err)
	}
	if s.Concurrency != 1 || s.Requests != 6050 || s.Errors != 0 || s.Duration.Round(time.Second) != 25*time.Second {
		t.Errorf("summary %+v", s)
	}
	if math.Abs(s.P50-3.873) > 0.001 || math.Abs(s.P90-5.268) > 0.001 || math.Abs(s.P99-8.806) > 0.001 {
		t.Errorf("percentiles %.3f %.3f %.3f ms", s.P50, s.P90, s.P99)
	}
	if math.Abs(s.ResponseBytes-912) > 1 {
		t.Errorf("response size %f", s.ResponseBytes)
	}
	if !strings.HasPrefix(r.URL, "http://10.96.") || r.Version != "1.68.2" {
		t.Errorf("url %s version %s", r.URL, r.Version)
	}
}
