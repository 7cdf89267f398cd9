package fastcgi_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/fcgi"
	"strings"
	"testing"
	"time"

	"github.com/envoy-example/envoy-example/services/item-bridge/fastcgi"
)

// The client against Go's own FastCGI server (net/http/fcgi), an
// implementation written apart from it: streams longer than one record,
// long and short params, headers, the CGI status and the error stream.
// Against PHP-FPM it runs in the bridge's tests.
func TestAgainstGoFastCGIServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go fcgi.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		sum := sha256.Sum256(body)
		env := fcgi.ProcessEnv(r)
		w.Header().Set("Body-Sha256", hex.EncodeToString(sum[:]))
		w.Header().Set("Long-Param", env["LONG_PARAM"])
		w.Header().Set("Request-Id", r.Header.Get("X-Request-Id"))
		w.WriteHeader(http.StatusTeapot)
		// Twice the request back: an answer of several records.
		w.Write(body)
		w.Write(body)
	}))

	body := bytes.Repeat([]byte("0123456789abcdef"), 20_000) // 320 kB: five STDIN records and more
	long := strings.Repeat("p", 300)                         // a length of four bytes
	resp, err := fastcgi.Do(context.Background(), l.Addr().String(), fastcgi.Request{
		Params: map[string]string{
			"REQUEST_METHOD": "POST", "SCRIPT_NAME": "/x", "REQUEST_URI": "/x",
			"SERVER_PROTOCOL": "HTTP/1.1", "CONTENT_LENGTH": "320000",
			"LONG_PARAM": long, "HTTP_X_REQUEST_ID": "req-1",
		},
		Body: body,
	})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	if got := resp.Header.Get("Body-Sha256"); got != hex.EncodeToString(sum[:]) {
		t.Errorf("the server read a body with sha256 %s, want %x", got, sum)
	}
	if resp.Header.Get("Long-Param") != long || resp.Header.Get("Request-Id") != "req-1" {
		t.Errorf("params arrived as LONG_PARAM of %d bytes and X-Request-Id %q", len(resp.Header.Get("Long-Param")), resp.Header.Get("Request-Id"))
	}
	if resp.Status != http.StatusTeapot {
		t.Errorf("status %d, want %d", resp.Status, http.StatusTeapot)
	}
	if !bytes.Equal(resp.Body, append(append([]byte{}, body...), body...)) {
		t.Errorf("answer of %d bytes, want the body twice (%d)", len(resp.Body), 2*len(body))
	}
}

// TestBounded: a server that never answers holds the call no longer than
// its context; a port no one listens on is ErrConnect.
func TestBounded(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = fastcgi.Do(ctx, l.Addr().String(), fastcgi.Request{})
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > time.Second {
		t.Errorf("Do against a silent server: %v after %s; want the deadline after 200ms", err, time.Since(start))
	}

	addr := l.Addr().String()
	l.Close()
	if _, err := fastcgi.Do(context.Background(), addr, fastcgi.Request{}); !errors.Is(err, fastcgi.ErrConnect) {
		t.Errorf("Do against a closed port: %v, want ErrConnect", err)
	}
}
