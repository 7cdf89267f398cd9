package charttest

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/envoy-example/envoy-example/charts/render"
	"github.com/envoy-example/envoy-example/internal/envoyproc"
	"github.com/envoy-example/envoy-example/internal/envoyproc/envoytest"
)

// edgeIP is where this test moves the ingress Envoy's addresses, apart from
// the other loopback tests' 127.0.0.1 and 127.0.0.2.
const edgeIP = "127.0.0.5"

// The ingress behaves as an edge, with the real Envoy on the rendered
// bootstrap (mtls off, so no certificates; no frontend behind it, so what
// gets past the limits is a 503 "no healthy upstream"): requests beyond
// ingress.rateLimit.requestsPerSecond get 429 with x-local-rate-limit,
// counted in ingress_rate_limit.http_local_rate_limit.rate_limited; a
// header name with an underscore is refused with 400.
func TestIngressEdgeLimits(t *testing.T) {
	bin := envoytest.Pinned(t)
	for _, p := range []string{"8080", "15021", "9901"} {
		l, err := net.Listen("tcp", net.JoinHostPort(edgeIP, p))
		if err != nil {
			t.Fatalf("%s:%s is taken (%v)", edgeIP, p, err)
		}
		l.Close()
	}
	rel, err := render.Render(render.Options{Set: []string{"mtls.enabled=false", "jaeger.enabled=false", "ingress.rateLimit.requestsPerSecond=5"}})
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := envoyOnDisk(t, rel, "ingress", t.TempDir(), nil)
	rewriteFile(t, cfg, func(tree map[string]any) { moveAddresses(tree, edgeIP) })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, err := envoyproc.Start(ctx, bin, envoyproc.Options{ConfigPath: cfg, Args: runArgs(t, envoyContainer(t, rel, "ingress"), "demo-ingress-edge-test")})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	url := "http://" + net.JoinHostPort(edgeIP, "8080") + "/"

	codes := map[int]int{}
	limited := 0
	for i := 0; i < 20; i++ {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		codes[resp.StatusCode]++
		if resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("x-local-rate-limit") == "true" {
			limited++
		}
	}
	// A bucket of 5 tokens, refilled by 5 each second: 20 requests in well
	// under two seconds leave at least 10 without a token.
	if limited < 10 || codes[http.StatusServiceUnavailable] < 5 || codes[http.StatusServiceUnavailable] > 10 {
		t.Errorf("20 requests at a limit of 5/s: %v (%d with x-local-rate-limit), want 5 to 10 let through (503: no frontend here) and the rest 429", codes, limited)
	}
	if n := stat(t, "http://"+p.AdminAddr, "ingress_rate_limit.http_local_rate_limit.rate_limited"); n != int64(limited) {
		t.Errorf("rate_limited = %d, %d requests got 429", n, limited)
	}
	t.Logf("20 requests at ingress.rateLimit.requestsPerSecond=5: %v", codes)

	time.Sleep(1100 * time.Millisecond) // a fresh bucket
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("x_forwarded_user", "admin")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a header name with an underscore: %s, want 400", resp.Status)
	}
}
