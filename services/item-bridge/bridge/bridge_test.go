package bridge_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	itemv1 "github.com/envoy-example/envoy-example/protos/item/v1"
	"github.com/envoy-example/envoy-example/services/integration/phpfpmtest"
	"github.com/envoy-example/envoy-example/services/integration/testmesh"
	"github.com/envoy-example/envoy-example/services/internal/app"
	"github.com/envoy-example/envoy-example/services/item-bridge/bridge"
)

// The answers themselves are compared with the Go item service's by the
// conformance suite (services/integration); these tests are about the
// bridge: what reaches PHP, and what a caller sees when PHP-FPM is slow,
// stuck or gone.

func startBridge(t *testing.T, c bridge.Config) *testmesh.Service {
	t.Helper()
	return testmesh.StartOne(t, "item-bridge", testmesh.Options{}, func(ctx context.Context, p *app.Process) error {
		return bridge.Run(ctx, p, c)
	})
}

// TestTraceHeadersReachPHP: the ids of a call arrive in PHP as FastCGI
// params and are in the PHP application's log line.
func TestTraceHeadersReachPHP(t *testing.T) {
	fpm := phpfpmtest.Start(t)
	s := startBridge(t, bridge.Config{FPMAddr: fpm.Addr, Script: fpm.Script, SeedScale: 1})
	c := itemv1.NewItemServiceClient(s.Dial(t))
	const requestID, traceID = "req-php-7", "463ac35c9f6413ad48485a3953bb6124"
	ctx := metadata.AppendToOutgoingContext(context.Background(),
		"x-request-id", requestID, "x-b3-traceid", traceID, "x-b3-spanid", "a2fb4a1d1a96d312", "x-b3-sampled", "1")
	if _, err := c.GetItem(ctx, &itemv1.GetItemRequest{Id: 3}); err != nil {
		t.Fatal(err)
	}
	// The call is counted as the Go service's calls are (go-grpc-prometheus).
	if n := handled(t, s, "GetItem", "OK"); n != 1 {
		t.Errorf("grpc_server_handled_total{GetItem, OK} = %v, want 1", n)
	}
	want := `"request_id":"` + requestID + `","trace_id":"` + traceID + `","method":"/item.v1.ItemService/GetItem","status":"OK"`
	deadline := time.Now().Add(5 * time.Second)
	for !fpm.LogHas(want) {
		if time.Now().After(deadline) {
			t.Fatalf("PHP-FPM's log has no line with %s:\n%s", want, fpm.Logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSlowPHP: a script that does not answer in time ends the call with
// DEADLINE_EXCEEDED at the caller's deadline or at --php-timeout,
// whichever comes first, and never later.
func TestSlowPHP(t *testing.T) {
	fpm := phpfpmtest.Start(t)
	slow, err := filepath.Abs("testdata/slow.php")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(slow, 0o644); err != nil {
		t.Fatal(err)
	}
	// The probe asks the same slow script: keep its verdict out of the way.
	s := startBridgeUnprobed(t, bridge.Config{FPMAddr: fpm.Addr, Script: slow, Timeout: 700 * time.Millisecond})
	c := itemv1.NewItemServiceClient(s.Dial(t))
	for _, tc := range []struct {
		name     string
		deadline time.Duration
		says     string
		within   time.Duration
	}{
		{"the caller's deadline first", 200 * time.Millisecond, "", 600 * time.Millisecond},
		{"--php-timeout first", 10 * time.Second, "PHP-FPM did not answer within 700ms", 1500 * time.Millisecond},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), tc.deadline)
		start := time.Now()
		_, err := c.GetItem(ctx, &itemv1.GetItemRequest{Id: 1})
		took := time.Since(start)
		cancel()
		testmesh.WantStatus(t, tc.name, err, codes.DeadlineExceeded, tc.says)
		if took > tc.within {
			t.Errorf("%s: the call took %s, want at most %s", tc.name, took, tc.within)
		}
	}
}

// TestStuckOrGoneFPM, without PHP: a listener that accepts and never
// answers gives DEADLINE_EXCEEDED at --php-timeout; one that hangs up at
// once gives UNAVAILABLE; no listener at all gives UNAVAILABLE.
func TestStuckOrGoneFPM(t *testing.T) {
	stuck := listen(t, func(c net.Conn) { time.Sleep(5 * time.Second); c.Close() })
	hangUp := listen(t, func(c net.Conn) { c.Close() })
	gone := listen(t, nil)
	for _, tc := range []struct {
		name, addr string
		code       codes.Code
		says       string
	}{
		{"stuck", stuck, codes.DeadlineExceeded, "PHP-FPM did not answer within 300ms"},
		{"hangs up", hangUp, codes.Unavailable, "PHP-FPM broke off the call"},
		{"gone", gone, codes.Unavailable, "PHP-FPM does not answer"},
	} {
		s := startBridgeUnprobed(t, bridge.Config{FPMAddr: tc.addr, Script: "/srv/item-php/index.php", Timeout: 300 * time.Millisecond})
		start := time.Now()
		_, err := itemv1.NewItemServiceClient(s.Dial(t)).ListItems(context.Background(), &itemv1.ListItemsRequest{})
		testmesh.WantStatus(t, tc.name, err, tc.code, tc.says)
		if took := time.Since(start); took > time.Second {
			t.Errorf("%s: the call took %s, want at most 1s", tc.name, took)
		}
	}
}

// startBridgeUnprobed starts a bridge whose probe never says PHP-FPM is
// down, for tests where it would be.
func startBridgeUnprobed(t *testing.T, c bridge.Config) *testmesh.Service {
	t.Helper()
	return testmesh.StartOne(t, "item-bridge", testmesh.Options{}, func(ctx context.Context, p *app.Process) error {
		return bridge.Serve(ctx, p, c, func(ctx context.Context, report func(error)) { report(nil) })
	})
}

// listen serves each connection with handle on a loopback port; with a
// nil handle it returns an address no one listens on.
func listen(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if handle == nil {
		addr := l.Addr().String()
		l.Close()
		return addr
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go handle(c)
		}
	}()
	return l.Addr().String()
}

// handled is grpc_server_handled_total of item.v1.ItemService's method
// with code, as the bridge's /metrics says.
func handled(t *testing.T, s *testmesh.Service, method, code string) float64 {
	t.Helper()
	mf := s.Metrics(t)["grpc_server_handled_total"]
	if mf == nil {
		t.Fatal("no grpc_server_handled_total on /metrics")
	}
	for _, m := range mf.GetMetric() {
		l := map[string]string{}
		for _, p := range m.GetLabel() {
			l[p.GetName()] = p.GetValue()
		}
		if l["grpc_service"] == "item.v1.ItemService" && l["grpc_method"] == method && l["grpc_code"] == code {
			return m.GetCounter().GetValue()
		}
	}
	return 0
}
