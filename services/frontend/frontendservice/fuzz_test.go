package frontendservice_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/envoy-example/envoy-example/services/frontend/frontendservice"
	"github.com/envoy-example/envoy-example/services/frontend/report"
	"github.com/envoy-example/envoy-example/services/integration/testmesh"
	"github.com/envoy-example/envoy-example/services/internal/app"
	"github.com/envoy-example/envoy-example/services/internal/logging"
	"github.com/envoy-example/envoy-example/services/internal/opsserver"

	orderv1 "github.com/envoy-example/envoy-example/protos/order/v1"
	userv1 "github.com/envoy-example/envoy-example/protos/user/v1"
)

// FuzzHandler sends arbitrary requests (method, path and query, trace
// headers) to the frontend's handler, backed by real user, order and item
// services on loopback. Whatever comes in, the answer is one of the
// documented statuses with a JSON body: the report for 200, a non-empty
// reason otherwise. Never a panic (500), never a failed peer (5xx), since
// the peers are healthy.
func FuzzHandler(f *testing.F) {
	seeds := []struct{ method, target, requestID, traceID string }{
		{"GET", "/", "", ""},
		{"GET", "/?user=1", "req-1", "463ac35c9f6413ad48485a3953bb6124"},
		{"GET", "/?user=3", "", "not-hex"},
		{"GET", "/?user=0", "", ""},
		{"GET", "/?user=99", "", ""},
		{"GET", "/?user=1&user=2", "", ""},
		{"GET", "/?user=%zz", "", ""},
		{"GET", "/?x=1", "", ""},
		{"POST", "/", "", ""},
		{"HEAD", "/", "", ""},
		{"GET", "/healthz", "", ""},
		{"GET", "/a/b?c", "\x00", ""},
		{"GET", "//?user=1", "", ""},
	}
	for _, s := range seeds {
		f.Add(s.method, s.target, s.requestID, s.traceID)
	}

	m := testmesh.Start(f, testmesh.Options{LogLevel: slog.LevelError})
	p := app.NewProcess("fuzz", logging.Discard(), nil, nil, time.Second)
	userConn, err := p.Dial("user", m.User.Addr)
	if err != nil {
		f.Fatal(err)
	}
	defer userConn.Close()
	orderConn, err := p.Dial("order", m.Order.Addr)
	if err != nil {
		f.Fatal(err)
	}
	defer orderConn.Close()
	ready := &opsserver.Readiness{}
	ready.Set(opsserver.Serving)
	h := frontendservice.NewHandler(userv1.NewUserServiceClient(userConn), orderv1.NewOrderServiceClient(orderConn), 10*time.Second, logging.Discard(), ready)

	f.Fuzz(func(t *testing.T, method, target, requestID, traceID string) {
		if !strings.HasPrefix(target, "/") {
			target = "/" + target
		}
		req, err := http.NewRequestWithContext(context.Background(), method, "http://frontend"+target, nil)
		if err != nil {
			return // not a request a server could receive
		}
		req.Header.Set("X-Request-Id", requestID)
		req.Header.Set("X-B3-TraceId", traceID)
		req.Header.Set("X-B3-SpanId", "a2fb4a1d1a96d312")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)

		code := rec.Code
		switch code {
		case http.StatusOK, http.StatusBadRequest, http.StatusNotFound, http.StatusMethodNotAllowed:
		default:
			t.Fatalf("%s %q answered %d: %s", method, target, code, rec.Body)
		}
		isProbe := req.URL.Path == "/healthz" || req.URL.Path == "/readyz"
		if code == http.StatusOK && isProbe {
			return
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Fatalf("%s %q: Content-Type %q", method, target, ct)
		}
		body := rec.Body.Bytes()
		if !utf8.Valid(body) {
			t.Fatalf("%s %q: body is not UTF-8: %q", method, target, body)
		}
		if code != http.StatusOK {
			var e report.Error
			if err := json.Unmarshal(body, &e); err != nil || e.Error == "" {
				t.Fatalf("%s %q answered %d without a JSON reason: %q", method, target, code, body)
			}
			return
		}
		rep, err := report.Decode(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("%s %q: %v", method, target, err)
		}
		if id := req.URL.Query().Get("user"); id != "" {
			want, _ := strconv.ParseInt(id, 10, 64)
			if len(rep) != 1 || rep[0].User.ID != want {
				t.Fatalf("%s %q: report for user %d = %+v", method, target, want, rep)
			}
		} else if len(rep) != 3 {
			t.Fatalf("%s %q: report has %d users, want 3", method, target, len(rep))
		}
	})
}
