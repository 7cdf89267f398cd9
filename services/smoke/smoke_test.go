package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/envoy-example/envoy-example/charts/queries"
	"github.com/envoy-example/envoy-example/services/frontend/report"
)

// seedReport is the report of the seed data, in the frontend's own types.
func seedReport() report.Report {
	item := func(id int64, name string) report.Item { return report.Item{ID: id, Name: name, Description: "d"} }
	return report.Report{
		{User: report.User{ID: 1, Name: "User One", Address: "1234 5th Street"}, Orders: []report.Order{
			{ID: 1, User: 1, Items: []report.Item{item(1, "first item"), item(2, "second item")}},
			{ID: 2, User: 1, Items: []report.Item{item(3, "item three"), item(4, "item four")}},
		}},
		{User: report.User{ID: 2, Name: "User Two", Address: "6th Ave"}, Orders: []report.Order{
			{ID: 3, User: 2, Items: []report.Item{item(5, "fifth item")}},
		}},
		{User: report.User{ID: 3, Name: "User Three", Address: "Down by the river"}, Orders: []report.Order{}},
	}
}

// fakeDemo stands in for the installed demo's three HTTP APIs, answering
// in their real JSON shapes. Each field can be changed to break one step.
type fakeDemo struct {
	mu             sync.Mutex
	report         report.Report
	traceServices  []string
	series         []map[string]string            // the answer to every query...
	seriesFor      map[string][]map[string]string // ...but these, by expression
	promError      string
	requestIDs     []string // seen at the ingress, in order
	queried        []string // expressions seen by Prometheus
	jaegerRequests []string // x-request-id of each trace lookup
}

func newFakeDemo() *fakeDemo {
	return &fakeDemo{
		report:        seedReport(),
		traceServices: []string{"ingress", "frontend", "user", "order", "item"},
		series:        allHops(),
	}
}

// allHops are series for every hop of the mesh, and two that are no hop
// (the checker must accept them on top).
// The demo's path as the chart gives it to the smoke pod (a chart test,
// TestSmokeGetsTheDemoPath, checks the render says the same).
const (
	demoHops          = "ingress->frontend,frontend->user,frontend->order,order->item"
	demoTraceServices = "ingress,frontend,item,order,user"
)

func allHops() []map[string]string {
	return []map[string]string{
		{"app": "ingress", "cluster": "frontend"},
		{"app": "frontend", "cluster": "user"},
		{"app": "frontend", "cluster": "order"},
		{"app": "order", "cluster": "item"},
		{"app": "user", "cluster": "jaeger"},
		{"app": "item", "cluster": "jaeger"},
	}
}

// withoutHops are allHops but those of the given hops.
func withoutHops(drop ...queries.Hop) []map[string]string {
	var out []map[string]string
	for _, s := range allHops() {
		if !slices.Contains(drop, queries.Hop{App: s["app"], Cluster: s["cluster"]}) {
			out = append(out, s)
		}
	}
	return out
}

func (f *fakeDemo) ingress(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := r.Header.Get("x-request-id")
	f.requestIDs = append(f.requestIDs, id)
	w.Header().Set("x-request-id", id) // always_set_request_id_in_response
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(f.report)
}

func (f *fakeDemo) jaeger(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var tags map[string]string
	if r.URL.Path != "/api/traces" || r.URL.Query().Get("service") != "ingress" || json.Unmarshal([]byte(r.URL.Query().Get("tags")), &tags) != nil {
		http.Error(w, `{"data":null,"errors":[{"code":400,"msg":"bad query"}]}`, http.StatusBadRequest)
		return
	}
	f.jaegerRequests = append(f.jaegerRequests, tags["guid:x-request-id"])
	if len(f.requestIDs) == 0 || tags["guid:x-request-id"] != f.requestIDs[0] {
		fmt.Fprint(w, `{"data":[],"total":0,"limit":0,"offset":0,"errors":null}`)
		return
	}
	processes := map[string]any{}
	var spans []any
	for i, s := range f.traceServices {
		pid := fmt.Sprintf("p%d", i+1)
		processes[pid] = map[string]any{"serviceName": s, "tags": []any{map[string]any{"key": "ip", "type": "string", "value": "10.244.0.9"}}}
		spans = append(spans, map[string]any{"traceID": "4bf92f3577b34da6a3ce929d0e0e4736", "spanID": fmt.Sprintf("%016x", i+1),
			"operationName": "egress", "processID": pid, "startTime": 1764158400000000, "duration": 1200,
			"tags": []any{map[string]any{"key": "guid:x-request-id", "type": "string", "value": tags["guid:x-request-id"]}}})
	}
	json.NewEncoder(w).Encode(map[string]any{"data": []any{map[string]any{
		"traceID": "4bf92f3577b34da6a3ce929d0e0e4736", "spans": spans, "processes": processes, "warnings": nil}},
		"total": 0, "limit": 0, "offset": 0, "errors": nil})
}

func (f *fakeDemo) prometheus(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	q := r.URL.Query().Get("query")
	f.queried = append(f.queried, q)
	if f.promError != "" {
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]any{"status": "error", "errorType": "bad_data", "error": f.promError})
		return
	}
	series := f.series
	if s, ok := f.seriesFor[q]; ok {
		series = s
	}
	var result []any
	for _, s := range series {
		result = append(result, map[string]any{"metric": s, "value": []any{1764158400.123, "0.25"}})
	}
	json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": map[string]any{"resultType": "vector", "result": result}})
}

// start serves the fake demo and returns a Checker pointed at it.
func (f *fakeDemo) start(t *testing.T) (*Checker, *bytes.Buffer) {
	t.Helper()
	ing := httptest.NewServer(http.HandlerFunc(f.ingress))
	jae := httptest.NewServer(http.HandlerFunc(f.jaeger))
	prom := httptest.NewServer(http.HandlerFunc(f.prometheus))
	t.Cleanup(func() { ing.Close(); jae.Close(); prom.Close() })
	var log bytes.Buffer
	hops, err := queries.ParseHops(demoHops)
	if err != nil {
		t.Fatal(err)
	}
	return &Checker{IngressURL: ing.URL, JaegerURL: jae.URL, PrometheusURL: prom.URL, Interval: 20 * time.Millisecond, Log: &log,
		Hops: hops, TraceServices: strings.Split(demoTraceServices, ",")}, &log
}

func runFor(t *testing.T, c *Checker, d time.Duration) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	start := time.Now()
	err := c.Run(ctx)
	if took := time.Since(start); took > d+2*time.Second {
		t.Errorf("Run took %s with a %s budget", took, d)
	}
	return err
}

func TestAllStepsPass(t *testing.T) {
	f := newFakeDemo()
	c, log := f.start(t)
	if err := runFor(t, c, 5*time.Second); err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	// The trace was looked up by the id the report request carried.
	if len(f.jaegerRequests) == 0 || f.jaegerRequests[0] != f.requestIDs[0] || !strings.HasPrefix(f.requestIDs[0], "smoke-") {
		t.Errorf("ingress saw %v, Jaeger was asked for %v", f.requestIDs, f.jaegerRequests)
	}
	// Prometheus was asked exactly the four DESIGN.md queries.
	for _, q := range queries.Design {
		if !slices.Contains(f.queried, q.Expr) {
			t.Errorf("never queried %s", q.Expr)
		}
	}
	for _, want := range []string{"step report: ok, 3 users, 3 orders", "step trace: ok",
		"step metrics: ok, query envoy_example:upstream_rq_time:p95 has a series for each of the 4 hops (ingress->frontend, frontend->user, frontend->order, order->item), 6 series in all: histogram_quantile(",
		"step metrics: ok, query envoy_example:upstream_cx_total:sum has a series for each of the 4 hops (ingress->frontend, frontend->user, frontend->order, order->item), 6 series in all: sum(envoy_upstream_cx_total) by (app,cluster)"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

// Each broken part fails its own step, says which and why, within the time.
func TestFailingStepsSayWhichAndWhy(t *testing.T) {
	for _, tc := range []struct {
		name   string
		break_ func(f *fakeDemo)
		step   string
		why    string
	}{
		{"two users", func(f *fakeDemo) { f.report = f.report[:2] }, "report", "2 users, want the 3 seed users"},
		{"item not resolved", func(f *fakeDemo) { f.report[1].Orders[0].Items[0].Name = "" }, "report", "item 5 has no name"},
		{"order without items", func(f *fakeDemo) { f.report[0].Orders[1].Items = nil }, "report", "order 2 of User One has no items"},
		{"no item spans", func(f *fakeDemo) { f.traceServices = []string{"ingress", "frontend", "user", "order"} }, "trace", "none from [item]"},
		{"no series", func(f *fakeDemo) { f.series = nil }, "metrics", "query envoy_example:upstream_rq_time:p95: no series yet"},
		{"one hop missing", func(f *fakeDemo) { f.series = withoutHops(queries.Hop{App: "order", Cluster: "item"}) }, "metrics",
			"query envoy_example:upstream_rq_time:p95: no series for order->item (its series are for frontend->order, frontend->user, ingress->frontend, item->jaeger, user->jaeger)"},
		{"two hops missing", func(f *fakeDemo) {
			f.series = withoutHops(queries.Hop{App: "ingress", Cluster: "frontend"}, queries.Hop{App: "frontend", Cluster: "order"})
		}, "metrics", "query envoy_example:upstream_rq_time:p95: no series for ingress->frontend, frontend->order ("},
		// The first three queries answer every hop, the last one not.
		{"last query lacks a hop", func(f *fakeDemo) {
			f.seriesFor = map[string][]map[string]string{queries.Design[3].Expr: withoutHops(queries.Hop{App: "frontend", Cluster: "user"})}
		}, "metrics", "query envoy_example:upstream_cx_total:sum: no series for frontend->user ("},
		// A series per hop in all, but the hop needs app and cluster on one series.
		{"labels of a hop split", func(f *fakeDemo) {
			f.series = append(withoutHops(queries.Hop{App: "order", Cluster: "item"}), map[string]string{"app": "order", "cluster": "user"})
		}, "metrics", "no series for order->item ("},
		{"no cluster label", func(f *fakeDemo) { f.series = []map[string]string{{"app": "user"}} }, "metrics", "lacks the app or cluster label"},
		{"query refused", func(f *fakeDemo) { f.promError = "parse error" }, "metrics", "bad_data: parse error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeDemo()
			tc.break_(f)
			c, _ := f.start(t)
			err := runFor(t, c, 300*time.Millisecond)
			var se *StepError
			if !errors.As(err, &se) || se.Step != tc.step || !strings.Contains(err.Error(), tc.why) {
				t.Fatalf("got %v, want step %s failing with %q", err, tc.step, tc.why)
			}
			if !strings.Contains(err.Error(), "still failing after") {
				t.Errorf("the error does not say it retried: %v", err)
			}
		})
	}
}

func TestStepsOfSwitchedOffPartsAreSkipped(t *testing.T) {
	f := newFakeDemo()
	c, log := f.start(t)
	c.JaegerURL, c.PrometheusURL = "", ""
	if err := runFor(t, c, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "step trace: skipped") || !strings.Contains(log.String(), "step metrics: skipped") {
		t.Errorf("log:\n%s", log)
	}
}

func TestUnreachableIngressFailsInTime(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	c := &Checker{IngressURL: srv.URL, Interval: 50 * time.Millisecond}
	err := runFor(t, c, 500*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "step report") || !strings.Contains(err.Error(), "404") {
		t.Fatalf("got %v", err)
	}
	srv.Close()
}

func TestFlags(t *testing.T) {
	var out bytes.Buffer
	if code := run(nil, &out); code != 2 || !strings.Contains(out.String(), "--ingress-url is required") {
		t.Errorf("no flags: exit %d, %s", code, out.String())
	}
	out.Reset()
	if code := run([]string{"--ingress-url=http://x", "--timeout=banana"}, &out); code != 2 {
		t.Errorf("bad timeout: exit %d", code)
	}
	// The path to check is the chart's to say: no default.
	for _, args := range [][]string{
		{"--ingress-url=http://x", "--prometheus-url=http://p"},
		{"--ingress-url=http://x", "--prometheus-url=http://p", "--hops=ingress"},
		{"--ingress-url=http://x", "--jaeger-url=http://j"},
	} {
		out.Reset()
		if code := run(args, &out); code != 2 || !strings.Contains(out.String(), "smoke: --") {
			t.Errorf("%v: exit %d, %s", args, code, out.String())
		}
	}
	f := newFakeDemo()
	c, _ := f.start(t)
	out.Reset()
	code := run([]string{"--ingress-url=" + c.IngressURL, "--jaeger-url=" + c.JaegerURL, "--prometheus-url=" + c.PrometheusURL, "--hops=" + demoHops, "--trace-services=" + demoTraceServices, "--timeout=10s", "--retry-interval=10ms"}, &out)
	if code != 0 || !strings.HasSuffix(out.String(), "smoke: PASS\n") {
		t.Errorf("exit %d:\n%s", code, out.String())
	}
	f.series = nil
	out.Reset()
	code = run([]string{"--ingress-url=" + c.IngressURL, "--prometheus-url=" + c.PrometheusURL, "--hops=" + demoHops, "--timeout=300ms", "--retry-interval=10ms"}, &out)
	if code != 1 || !strings.Contains(out.String(), "smoke: FAIL step metrics") {
		t.Errorf("exit %d:\n%s", code, out.String())
	}
	// Series for three hops of four are no pass either.
	f.mu.Lock()
	f.series = withoutHops(queries.Hop{App: "order", Cluster: "item"})
	f.mu.Unlock()
	out.Reset()
	code = run([]string{"--ingress-url=" + c.IngressURL, "--prometheus-url=" + c.PrometheusURL, "--hops=" + demoHops, "--timeout=300ms", "--retry-interval=10ms"}, &out)
	if code != 1 || !strings.Contains(out.String(), "smoke: FAIL step metrics: still failing after") ||
		!strings.Contains(out.String(), "query envoy_example:upstream_rq_time:p95: no series for order->item (") ||
		strings.Contains(out.String(), "PASS") || strings.Contains(out.String(), "step metrics: ok") {
		t.Errorf("exit %d:\n%s", code, out.String())
	}
}
