package promapi_test

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/envoy-example/envoy-example/internal/promapi"
)

// The testdata files are answers of Prometheus 3's /api/v1/query: a
// vector of four hops and a fifth series (NaN and +Inf values as
// Prometheus writes them), a sum without labels, a matrix (a range
// selector), and a refused query.
func fakePrometheus(t *testing.T, status int, file string) (*httptest.Server, *[]string) {
	t.Helper()
	body, err := os.ReadFile("testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	var queries []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/query" {
			http.NotFound(w, r)
			return
		}
		queries = append(queries, r.URL.Query().Get("query"))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv, &queries
}

func TestQueryReadsLabelsAndValues(t *testing.T) {
	srv, queries := fakePrometheus(t, http.StatusOK, "vector.json")
	expr := `histogram_quantile(0.95, sum(rate(envoy_cluster_upstream_rq_time_bucket[1m])) by (le,app,cluster))`
	// host:port, the way the e2e passes a port-forward.
	samples, err := promapi.Query(context.Background(), nil, strings.TrimPrefix(srv.URL, "http://"), expr)
	if err != nil {
		t.Fatal(err)
	}
	if len(*queries) != 1 || (*queries)[0] != expr {
		t.Errorf("asked %q", *queries)
	}
	if len(samples) != 5 || samples[0].Labels["app"] != "ingress" || samples[0].Labels["cluster"] != "frontend" || samples[0].Value != 0.0042 ||
		!math.IsNaN(samples[3].Value) || !math.IsInf(samples[4].Value, 1) {
		t.Fatalf("samples: %+v", samples)
	}
	sets := promapi.LabelSets(samples)
	if len(sets) != 5 || sets[2]["cluster"] != "order" {
		t.Errorf("LabelSets: %v", sets)
	}
	if _, err := promapi.One(samples); err == nil || !strings.Contains(err.Error(), "5 series, want 1") {
		t.Errorf("One of five: %v", err)
	}
}

func TestQueryOneValue(t *testing.T) {
	srv, _ := fakePrometheus(t, http.StatusOK, "sum.json")
	samples, err := promapi.Query(context.Background(), nil, srv.URL+"/", `sum(increase(envoy_cluster_upstream_rq_retry{app="order",envoy_cluster_name="item"}[2m]))`)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := promapi.One(samples); err != nil || v != 37 || len(samples[0].Labels) != 0 {
		t.Fatalf("One = %v, %v (%+v)", v, err, samples)
	}
}

func TestQueryErrors(t *testing.T) {
	for _, tc := range []struct {
		file   string
		status int
		want   string
	}{
		{"bad_data.json", http.StatusBadRequest, "400 Bad Request: prometheus: bad_data: invalid parameter"},
		{"matrix.json", http.StatusOK, "prometheus answered a matrix, want a vector"},
		{"sum.json", http.StatusOK, ""},
	} {
		srv, _ := fakePrometheus(t, tc.status, tc.file)
		_, err := promapi.Query(context.Background(), nil, srv.URL, "x")
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: got %v, want %q", tc.file, err, tc.want)
		}
	}
	if _, err := promapi.Parse([]byte("<html>")); err == nil || !strings.Contains(err.Error(), "the answer of Prometheus") {
		t.Errorf("HTML: %v", err)
	}
	if _, err := promapi.Parse([]byte(`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"many"]}]}}`)); err == nil {
		t.Error("a value that is no number passed")
	}
}
