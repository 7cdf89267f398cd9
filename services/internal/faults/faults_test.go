package faults

import (
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestCheck(t *testing.T) {
	for _, s := range []Settings{{}, {FailRate: 1}, {FailRate: 0.5, ExtraLatency: MaxExtraLatency}} {
		if err := s.Check(); err != nil {
			t.Errorf("%+v: %v", s, err)
		}
	}
	for _, s := range []Settings{{FailRate: -0.1}, {FailRate: 1.5}, {FailRate: math.NaN()}, {ExtraLatency: -time.Second}, {ExtraLatency: MaxExtraLatency + 1}} {
		if err := s.Check(); err == nil {
			t.Errorf("%+v passed the check", s)
		}
	}
}

// The HTTP middleware answers 503 with the reason at fail rate 1, and is
// the handler itself when no fault is set.
func TestMiddleware(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	rec := httptest.NewRecorder()
	Settings{FailRate: 1}.Middleware(ok).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "--fail-rate") {
		t.Errorf("fail rate 1: %d %q; want 503 naming --fail-rate", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	start := time.Now()
	Settings{ExtraLatency: 100 * time.Millisecond}.Middleware(ok).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != http.StatusTeapot || time.Since(start) < 100*time.Millisecond {
		t.Errorf("extra latency: %d after %s; want the handler's answer after 100ms", rec.Code, time.Since(start))
	}
	rec = httptest.NewRecorder()
	Settings{}.Middleware(ok).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != http.StatusTeapot {
		t.Errorf("no faults: %d; want the handler's answer", rec.Code)
	}
}
