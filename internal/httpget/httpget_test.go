package httpget

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestGet(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RequestURI() == "/big" {
			_, _ = w.Write([]byte(strings.Repeat("x", MaxBody+10)))
			return
		}
		w.WriteHeader(http.StatusTeapot)
		_, _ = w.Write([]byte(r.URL.RequestURI()))
	}))
	defer srv.Close()
	// host:port without a scheme is http; a trailing slash on the base is dropped; the status is the caller's to judge.
	resp, body, err := Get(context.Background(), nil, strings.TrimPrefix(srv.URL, "http://")+"/", "/api/x?q=1")
	if err != nil || resp.StatusCode != http.StatusTeapot || string(body) != "/api/x?q=1" {
		t.Errorf("Get = %v, %q, %v", resp.Status, body, err)
	}
	if _, body, err := Get(context.Background(), srv.Client(), srv.URL, "/big"); err != nil || len(body) != MaxBody {
		t.Errorf("a big body: %d bytes, %v; want %d", len(body), err, MaxBody)
	}
	if _, _, err := Get(context.Background(), nil, "http://127.0.0.1:1", "/"); err == nil {
		t.Error("a refused connection is no error")
	}
}
