package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/envoy-example/envoy-example/services/frontend/report"
	"github.com/envoy-example/envoy-example/services/integration/testmesh"
)

func decodeReport(t *testing.T, body []byte) report.Report {
	t.Helper()
	rep, err := report.Decode(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("%v\nbody: %s", err, body)
	}
	return rep
}

func decodeError(t *testing.T, body []byte) string {
	t.Helper()
	var e report.Error
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil || e.Error == "" {
		t.Fatalf("body is not {\"error\": reason}: %q (%v)", body, err)
	}
	return e.Error
}

// The report at scale 1 is the original example's: three users, User One
// with two orders of two items, User Two with one order of one item, User
// Three with none, every item resolved with its name.
func TestReportHasEveryUserWithOrdersAndItems(t *testing.T) {
	m := testmesh.Start(t, testmesh.Options{})
	resp, body := m.Get(t, "/", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET / = %s: %s", resp.Status, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	if !strings.Contains(string(body), `"orders":[]`) {
		t.Errorf("User Three's orders should be [] in the JSON, not null: %s", body)
	}
	rep := decodeReport(t, body)
	want := []struct {
		name, address string
		orders        [][]string
	}{
		{"User One", "1234 5th Street", [][]string{{"first item", "second item"}, {"item three", "item four"}}},
		{"User Two", "6th Ave", [][]string{{"fifth item"}}},
		{"User Three", "Down by the river", nil},
	}
	if len(rep) != len(want) {
		t.Fatalf("report has %d users, want 3: %s", len(rep), body)
	}
	for i, w := range want {
		got := rep[i]
		if got.User.ID != int64(i+1) || got.User.Name != w.name || got.User.Address != w.address {
			t.Errorf("user %d = %+v, want %d %q at %q", i, got.User, i+1, w.name, w.address)
		}
		if len(got.Orders) != len(w.orders) {
			t.Errorf("%s has %d orders, want %d", w.name, len(got.Orders), len(w.orders))
			continue
		}
		for j, o := range got.Orders {
			if o.User != got.User.ID {
				t.Errorf("%s's order %d says user %d", w.name, o.ID, o.User)
			}
			var names []string
			for _, it := range o.Items {
				if it.ID <= 0 || it.Description == "" {
					t.Errorf("order %d has an unresolved item %+v", o.ID, it)
				}
				names = append(names, it.Name)
			}
			if fmt.Sprint(names) != fmt.Sprint(w.orders[j]) {
				t.Errorf("%s's order %d has items %q, want %q", w.name, o.ID, names, w.orders[j])
			}
		}
	}

	// One user's report is that user's entry of the whole report.
	resp, body = m.Get(t, "/?user=2", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /?user=2 = %s: %s", resp.Status, body)
	}
	one := decodeReport(t, body)
	if len(one) != 1 || fmt.Sprint(one[0]) != fmt.Sprint(rep[1]) {
		t.Errorf("GET /?user=2 = %+v, want %+v", one, rep[1])
	}
}

// rpcsPerReport counts, from the go-grpc-prometheus client metrics of
// frontend and order, the calls one `GET /` makes.
func rpcsPerReport(t *testing.T, m *testmesh.Mesh) (frontend, order float64, rep report.Report) {
	t.Helper()
	count := func(s *testmesh.Service) float64 {
		return testmesh.Sum(s.Metrics(t), "grpc_client_handled_total", nil)
	}
	f0, o0 := count(m.Frontend), count(m.Order)
	resp, body := m.Get(t, "/", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET / = %s: %s", resp.Status, body)
	}
	return count(m.Frontend) - f0, count(m.Order) - o0, decodeReport(t, body)
}

// The calls per `GET /` do not grow with the data: ten times the users,
// orders and items cost the same three calls (ListUsers and
// ListOrderDetails from frontend, BatchGetItems from order).
func TestCallsPerReportDoNotGrowWithData(t *testing.T) {
	small := testmesh.Start(t, testmesh.Options{SeedScale: 1})
	large := testmesh.Start(t, testmesh.Options{SeedScale: 10})
	fs, os, repSmall := rpcsPerReport(t, small)
	fl, ol, repLarge := rpcsPerReport(t, large)
	if len(repSmall) != 3 || len(repLarge) != 30 {
		t.Fatalf("reports have %d and %d users, want 3 and 30", len(repSmall), len(repLarge))
	}
	items := 0
	for _, u := range repLarge {
		for _, o := range u.Orders {
			for _, it := range o.Items {
				if it.Name == "" {
					t.Fatalf("order %d has an unresolved item %+v", o.ID, it)
				}
				items++
			}
		}
	}
	if items != 50 {
		t.Errorf("the scale-10 report resolves %d items, want 50", items)
	}
	if fs != fl || os != ol {
		t.Errorf("calls per GET /: frontend %v, order %v at scale 1 but frontend %v, order %v at scale 10", fs, os, fl, ol)
	}
	if fs != 2 || os != 1 {
		t.Errorf("calls per GET /: frontend made %v (want 2: ListUsers, ListOrderDetails), order made %v (want 1: BatchGetItems)", fs, os)
	}
	// The server side agrees: each service handled its one call.
	for _, c := range []struct {
		s      *testmesh.Service
		method string
	}{{small.User, "ListUsers"}, {small.Order, "ListOrderDetails"}, {small.Item, "BatchGetItems"}} {
		if n := testmesh.Sum(c.s.Metrics(t), "grpc_server_handled_total", map[string]string{"grpc_method": c.method, "grpc_code": "OK"}); n != 1 {
			t.Errorf("%s handled %s %v times, want 1", c.s.Name, c.method, n)
		}
	}
	if _, ok := small.User.Metrics(t)["grpc_server_handling_seconds"]; !ok {
		t.Error("user exposes no grpc_server_handling_seconds: handling-time histograms are off")
	}
	if _, ok := small.Frontend.Metrics(t)["grpc_client_handling_seconds"]; !ok {
		t.Error("frontend exposes no grpc_client_handling_seconds: handling-time histograms are off")
	}
}

// A request's trace id and request id reach user, order and item: each
// server's log line for the call carries them, and each call arrived with a
// deadline no later than the frontend's request timeout.
func TestTraceHeadersAndDeadlineReachEveryService(t *testing.T) {
	const timeout = 7 * time.Second
	m := testmesh.Start(t, testmesh.Options{RequestTimeout: timeout})
	const (
		traceID   = "463ac35c9f6413ad48485a3953bb6124"
		requestID = "3b0d1d2c-5a4e-4e0c-9d55-trace-me"
	)
	h := http.Header{}
	h.Set("X-B3-TraceId", traceID)
	h.Set("X-B3-SpanId", "a2fb4a1d1a96d312")
	h.Set("X-B3-Sampled", "1")
	h.Set("X-Request-Id", requestID)
	resp, body := m.Get(t, "/", h)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET / = %s: %s", resp.Status, body)
	}
	for _, c := range []struct {
		s      *testmesh.Service
		method string
	}{
		{m.User, "/user.v1.UserService/ListUsers"},
		{m.Order, "/order.v1.OrderService/ListOrderDetails"},
		{m.Item, "/item.v1.ItemService/BatchGetItems"},
	} {
		lines := c.s.Logs.Find(t, "grpc call", map[string]string{"method": c.method})
		if len(lines) != 1 {
			t.Fatalf("%s logged %d lines for %s, want 1:\n%s", c.s.Name, len(lines), c.method, c.s.Logs)
		}
		l := lines[0]
		if l["trace_id"] != traceID || l["request_id"] != requestID {
			t.Errorf("%s received trace id %v and request id %v, want %s and %s", c.s.Name, l["trace_id"], l["request_id"], traceID, requestID)
		}
		d, ok := l["deadline_ms"].(float64)
		if !ok || d <= 0 || d > float64(timeout.Milliseconds()) {
			t.Errorf("%s received deadline_ms %v, want a deadline within the frontend's %s", c.s.Name, l["deadline_ms"], timeout)
		}
	}
	if n := len(m.Frontend.Logs.Find(t, "http request", map[string]string{"trace_id": traceID, "request_id": requestID, "status": "200"})); n != 1 {
		t.Errorf("frontend logged %d request lines with the ids, want 1:\n%s", n, m.Frontend.Logs)
	}
}

// Bad input gets 400 with a reason, unknown ids and paths 404, other methods
// 405: JSON errors, never a stack trace.
func TestBadInputAnswers(t *testing.T) {
	m := testmesh.Start(t, testmesh.Options{})
	cases := []struct {
		method, path string
		code         int
		reason       string
	}{
		{"GET", "/?user=abc", 400, `user must be a positive integer, got "abc"`},
		{"GET", "/?user=0", 400, "positive integer"},
		{"GET", "/?user=-4", 400, "positive integer"},
		{"GET", "/?user=99999999999999999999", 400, "out of range"},
		{"GET", "/?user=", 400, "user is empty"},
		{"GET", "/?user=1&user=2", 400, "user given 2 times"},
		{"GET", "/?color=red", 400, `unknown query parameter "color"`},
		{"GET", "/?user=%zz", 400, "malformed query"},
		{"GET", "/?user=42", 404, "user 42 not found"},
		{"GET", "/orders", 404, `no such path "/orders"`},
		{"POST", "/", 405, `method "POST" not allowed`},
		{"DELETE", "/?user=1", 405, "not allowed"},
	}
	for _, c := range cases {
		resp, body := m.Do(t, c.method, c.path, nil)
		if resp.StatusCode != c.code {
			t.Errorf("%s %s = %d, want %d: %s", c.method, c.path, resp.StatusCode, c.code, body)
			continue
		}
		if got := decodeError(t, body); !strings.Contains(got, c.reason) {
			t.Errorf("%s %s error = %q, want it to contain %q", c.method, c.path, got, c.reason)
		}
		if strings.Contains(string(body), "goroutine") || strings.Contains(string(body), ".go:") {
			t.Errorf("%s %s leaks a stack trace: %s", c.method, c.path, body)
		}
	}
	if resp, _ := m.Do(t, "POST", "/", nil); resp.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("405 answer has Allow %q, want \"GET, HEAD\"", resp.Header.Get("Allow"))
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		if resp, body := m.Get(t, p, nil); resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s on the frontend = %s: %s", p, resp.Status, body)
		}
	}
}

// A stopped peer makes the frontend answer 503 naming the peer that failed,
// however deep in the chain it is.
func TestStoppedPeerAnswers503NamingIt(t *testing.T) {
	cases := []struct {
		stop    func(m *testmesh.Mesh) *testmesh.Service
		reasons []string
	}{
		{func(m *testmesh.Mesh) *testmesh.Service { return m.User }, []string{"user service unavailable"}},
		{func(m *testmesh.Mesh) *testmesh.Service { return m.Order }, []string{"order service unavailable"}},
		{func(m *testmesh.Mesh) *testmesh.Service { return m.Item }, []string{"order service unavailable", "item service unavailable"}},
	}
	for _, c := range cases {
		m := testmesh.Start(t, testmesh.Options{})
		s := c.stop(m)
		t.Run("stopped "+s.Name, func(t *testing.T) {
			if err := s.Stop(); err != nil {
				t.Fatalf("stopping %s: %v", s.Name, err)
			}
			resp, body := m.Get(t, "/", nil)
			if resp.StatusCode != http.StatusServiceUnavailable {
				t.Fatalf("GET / with %s stopped = %s: %s", s.Name, resp.Status, body)
			}
			reason := decodeError(t, body)
			for _, r := range c.reasons {
				if !strings.Contains(reason, r) {
					t.Errorf("GET / with %s stopped: error %q does not say %q", s.Name, reason, r)
				}
			}
		})
	}
}

// A request that outlives --request-timeout is answered 504.
func TestRequestTimeoutAnswers504(t *testing.T) {
	m := testmesh.Start(t, testmesh.Options{RequestTimeout: time.Nanosecond})
	resp, body := m.Get(t, "/", nil)
	if resp.StatusCode != http.StatusGatewayTimeout {
		t.Fatalf("GET / with a 1ns request timeout = %s: %s", resp.Status, body)
	}
	if reason := decodeError(t, body); !strings.Contains(reason, "did not answer within the request timeout") {
		t.Errorf("error %q does not say the request timed out", reason)
	}
}

// When order and item disagree on the data (different --seed-scale), the
// frontend says so with 502 rather than answering a report with holes.
func TestDisagreeingSeedScalesAnswer502(t *testing.T) {
	m := testmesh.Start(t, testmesh.Options{SeedScale: 2, ItemSeedScale: 1})
	resp, body := m.Get(t, "/", nil)
	if resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("GET / = %s: %s", resp.Status, body)
	}
	if reason := decodeError(t, body); !strings.Contains(reason, "order service failed") || !strings.Contains(reason, "item 6 not found") {
		t.Errorf("error %q does not name the order service and the missing item", reason)
	}
}
