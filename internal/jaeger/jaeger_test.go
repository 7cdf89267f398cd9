package jaeger_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/envoy-example/envoy-example/internal/jaeger"
)

// testdata/traces.json has the shape of Jaeger 1.x's answer for a trace
// that Envoy's Zipkin tracer reported: one trace, seven spans from six
// processes (item twice: a retried call), string, bool and int64 tags.
func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fakeJaeger answers /api/traces with body for the searches it is given
// and records their queries.
func fakeJaeger(t *testing.T, status int, body []byte) (*httptest.Server, *[]string) {
	t.Helper()
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/traces" {
			http.NotFound(w, r)
			return
		}
		seen = append(seen, r.URL.RawQuery)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv, &seen
}

func TestTracesReadsSpansServicesAndTags(t *testing.T) {
	srv, seen := fakeJaeger(t, http.StatusOK, readFile(t, "traces.json"))
	id := "e2e-tour-retry-1764158400000000000-3"
	// host:port, the way the e2e passes a port-forward.
	traces, err := jaeger.Traces(context.Background(), nil, strings.TrimPrefix(srv.URL, "http://"), jaeger.ByRequestID(id, 5))
	if err != nil {
		t.Fatal(err)
	}
	if len(traces) != 1 || traces[0].ID != "4bf92f3577b34da6a3ce929d0e0e4736" || len(traces[0].Spans) != 7 {
		t.Fatalf("traces: %+v", traces)
	}
	tr := traces[0]
	if got := tr.Services(); !slices.Equal(got, []string{"frontend", "ingress", "item", "order", "user"}) {
		t.Errorf("Services() = %v", got)
	}
	var item []jaeger.Span
	for _, sp := range tr.Spans {
		if sp.Service == "item" && sp.Tags["span.kind"] == "server" {
			item = append(item, sp)
		}
	}
	if len(item) != 2 || item[0].Tags["grpc.status_code"] != "14" || item[0].Tags["node_id"] != "shop-item-8f9a0b1c2-q5r6s" ||
		item[0].Tags["error"] != "true" || item[1].Tags["retry.attempt"] != "1" || item[1].Operation != "ingress" {
		t.Errorf("item's server spans: %+v", item)
	}
	// The search: service ingress, the x-request-id tag as JSON, limit and lookback.
	q, err := url.ParseQuery((*seen)[0])
	if err != nil {
		t.Fatal(err)
	}
	var tags map[string]string
	if err := json.Unmarshal([]byte(q.Get("tags")), &tags); err != nil || tags["guid:x-request-id"] != id ||
		q.Get("service") != "ingress" || q.Get("limit") != "5" || q.Get("lookback") != "1h" {
		t.Errorf("query %s (%v)", (*seen)[0], err)
	}
}

func TestTracesEmptyIsNoError(t *testing.T) {
	srv, _ := fakeJaeger(t, http.StatusOK, readFile(t, "empty.json"))
	traces, err := jaeger.Traces(context.Background(), nil, srv.URL+"/", jaeger.ByRequestID("x", 1))
	if err != nil || len(traces) != 0 {
		t.Fatalf("%v %v", traces, err)
	}
	if _, err := jaeger.Covering(traces, []string{"ingress"}); !errors.Is(err, jaeger.ErrNoTrace) {
		t.Errorf("Covering(no trace) = %v", err)
	}
}

func TestTracesErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   []byte
		want   string
	}{
		{"error answer", http.StatusBadRequest, readFile(t, "error.json"), "400 Bad Request: jaeger: malformed 'tags' parameter"},
		{"errors with 200", http.StatusOK, []byte(`{"data":null,"errors":[{"code":500,"msg":"storage down"}]}`), "jaeger: storage down"},
		{"not JSON", http.StatusOK, []byte("<html>"), "the answer of Jaeger"},
		{"not JSON, not 200", http.StatusBadGateway, []byte("upstream connect error"), "502 Bad Gateway: upstream connect error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := fakeJaeger(t, tc.status, tc.body)
			_, err := jaeger.Traces(context.Background(), nil, srv.URL, jaeger.ByRequestID("x", 1))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func TestCovering(t *testing.T) {
	traces, err := jaeger.Parse(readFile(t, "traces.json"))
	if err != nil {
		t.Fatal(err)
	}
	all := []string{"ingress", "frontend", "user", "order", "item"}
	if tr, err := jaeger.Covering(traces, all); err != nil || tr.ID != traces[0].ID {
		t.Fatalf("%v %v", tr.ID, err)
	}
	// Two traces that cover every service only together are no pass.
	a, b := traces[0], traces[0]
	a.ID, a.Processes = "a", map[string]string{"p1": "ingress", "p2": "frontend", "p3": "user"}
	b.ID, b.Processes = "b", map[string]string{"p4": "order", "p5": "item"}
	_, err = jaeger.Covering([]jaeger.Trace{a, b}, all)
	if err == nil || !strings.Contains(err.Error(), "trace a has spans from [frontend ingress user], none from [order item]") ||
		!strings.Contains(err.Error(), "trace b has spans from [item order], none from [ingress frontend user]") {
		t.Fatalf("got %v", err)
	}
}
