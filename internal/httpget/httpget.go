// Package httpget is the one GET that the readers of the demo's HTTP APIs
// (internal/jaeger, internal/promapi) share: a base that may lack its
// scheme, a bounded body, the status left to the reader, which knows how
// its API spells an error.
package httpget

import (
	"context"
	"io"
	"net/http"
	"strings"
)

// MaxBody bounds the body read from any answer.
const MaxBody = 16 << 20

// Get sends GET base+path, base being a URL or host:port (then http), and
// returns the answer (its body already read and closed) and its body. A nil
// client is http.DefaultClient.
func Get(ctx context.Context, client *http.Client, base, path string) (*http.Response, []byte, error) {
	if client == nil {
		client = http.DefaultClient
	}
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(base, "/")+path, nil)
	if err != nil {
		return nil, nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody))
	if err != nil {
		return nil, nil, err
	}
	return resp, body, nil
}
