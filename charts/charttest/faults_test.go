package charttest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/envoy-example/envoy-example/internal/envoyproc"
	"github.com/envoy-example/envoy-example/internal/envoyproc/envoytest"
	itemv1 "github.com/envoy-example/envoy-example/protos/item/v1"
)

// TestFaultsWithRealEnvoy runs the order pod's Envoy, as the chart renders
// it with faults.order.abort.percent=30 and fault headers on, in front of
// a stand-in item app on 127.0.0.1:9090. As in
// TestStatsTracesAndDrainWithRealEnvoy, a stub DNS answers 127.0.0.1 for
// every Service, so the egress listener's item cluster is this Envoy's own
// inbound listener: one Envoy plays the caller's sidecar and the server's
// (so with the plaintext mode's values, as in
// TestStatsTracesAndDrainWithRealEnvoy).
//
// It checks what the fault tour claims: the server-side fault aborts about
// 30% of the calls with UNAVAILABLE; the caller's retries absorb most of
// them (with retries off, about 30% reach the app's caller); health checks
// are never aborted; a fault header aborts one call with the status it
// names; the admin runtime turns the fault up, down, or into a delay on
// this Envoy alone, with no restart.
func TestFaultsWithRealEnvoy(t *testing.T) {
	envoyPath := envoytest.Pinned(t)
	requirePortsFree(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	dns := startDNS(t)
	startItemApp(t)

	start := func(t *testing.T, name string, set ...string) (*grpc.ClientConn, *grpc.ClientConn, string) {
		t.Helper()
		s := base(name)
		s.opts.ValuesFiles = []string{plaintext}
		s.opts.Set = append([]string{"jaeger.enabled=false", "faults.order.abort.percent=30", "faults.order.headers=true",
			"envoy.healthCheck.interval=1s", "envoy.healthCheck.noTrafficInterval=1s"}, set...)
		rel := renderScenario(t, s)
		bootstraps, err := rel.EnvoyBootstraps()
		if err != nil {
			t.Fatal(err)
		}
		cfg := writeFile(t, t.TempDir(), "envoy.yaml", withResolver(t, bootstraps["order"], dns.addr))
		proxy, err := envoyproc.Start(ctx, envoyPath, envoyproc.Options{ConfigPath: cfg, Args: runArgs(t, sidecar(t, rel, "order", "envoy"), "demo-order-faults")})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = proxy.Stop() })
		dial := func(addr string) *grpc.ClientConn {
			conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { conn.Close() })
			return conn
		}
		return dial("127.0.0.1:8080"), dial("127.0.0.1:7070"), "http://" + proxy.AdminAddr
	}

	// failures makes n ListItems calls on conn and counts the failed ones,
	// requiring every failure to have the given code.
	failures := func(t *testing.T, conn *grpc.ClientConn, n int, want codes.Code, md ...string) int {
		t.Helper()
		items := itemv1.NewItemServiceClient(conn)
		failed := 0
		for i := 0; i < n; i++ {
			callCtx := metadata.AppendToOutgoingContext(ctx, md...)
			_, err := items.ListItems(callCtx, &itemv1.ListItemsRequest{})
			if err == nil {
				continue
			}
			if status.Code(err) != want {
				t.Fatalf("call %d: %v, want %s", i, err, want)
			}
			failed++
		}
		return failed
	}

	t.Run("retries-absorb-a-30%-abort", func(t *testing.T) {
		inbound, egress, admin := start(t, "faults-order-30")
		waitHealthy(t, ctx, admin, "item", "127.0.0.1:8080")
		const calls = 1000
		// On the server side: 30% ± 5 standard deviations (0.072).
		direct := failures(t, inbound, calls, codes.Unavailable)
		t.Logf("inbound (the server's Envoy): %d of %d calls aborted", direct, calls)
		if direct < 228 || direct > 372 {
			t.Errorf("%d of %d calls to the inbound listener aborted, want about 30%%", direct, calls)
		}
		// Through the caller's Envoy, each call has three tries (retries.attempts 2):
		// 0.3^3 = 2.7% fail all three, under 6% with 5 standard deviations.
		through := failures(t, egress, calls, codes.Unavailable)
		retries := stat(t, admin, "cluster.item.upstream_rq_retry")
		t.Logf("egress (the caller's Envoy, retrying): %d of %d calls failed, %d retries", through, calls, retries)
		if through > 60 {
			t.Errorf("%d of %d calls failed through the egress listener: the retries did not absorb the aborts", through, calls)
		}
		if retries < 200 {
			t.Errorf("cluster.item.upstream_rq_retry = %d after %d calls at 30%% aborts, want at least 200", retries, calls)
		}
		if n := stat(t, admin, "http.inbound.fault.aborts_injected"); n < int64(direct) {
			t.Errorf("http.inbound.fault.aborts_injected = %d, want at least %d", n, direct)
		}
		// Health checks go through the same listener and are never aborted.
		health := healthpb.NewHealthClient(inbound)
		for i := 0; i < 200; i++ {
			resp, err := health.Check(ctx, &healthpb.HealthCheckRequest{Service: "item.v1.ItemService"})
			if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
				t.Fatalf("health check %d = %v, %v: faults must spare health checks", i, resp, err)
			}
		}
		// A fault header aborts one call with the status it names; the
		// caller's Envoy does not retry NOT_FOUND.
		runtime(t, admin, "fault.http.abort.abort_percent", "0")
		if n := failures(t, egress, 50, codes.NotFound, "x-envoy-fault-abort-grpc-request", "5"); n != 50 {
			t.Errorf("%d of 50 calls with x-envoy-fault-abort-grpc-request: 5 failed, want all, with NOT_FOUND", n)
		}
		if n := failures(t, egress, 50, codes.Unavailable); n != 0 {
			t.Errorf("%d of 50 calls failed without the header and the runtime abort at 0%%", n)
		}
		// The runtime, on this Envoy alone: every call, then a delay.
		runtime(t, admin, "fault.http.abort.abort_percent", "100")
		if n := failures(t, inbound, 50, codes.Unavailable); n != 50 {
			t.Errorf("%d of 50 calls aborted with the runtime abort at 100%%, want 50", n)
		}
		runtime(t, admin, "fault.http.abort.abort_percent", "0")
		runtime(t, admin, "fault.http.delay.fixed_delay_percent", "100")
		runtime(t, admin, "fault.http.delay.fixed_duration_ms", "300")
		began := time.Now()
		if n := failures(t, inbound, 3, codes.OK); n != 0 {
			t.Errorf("%d delayed calls failed", n)
		}
		// Envoy's timers may fire a millisecond early (898 ms was seen
		// for 3 × 300 ms): allow 50 ms in all, far from no delay (~3 ms).
		if took := time.Since(began); took < 850*time.Millisecond {
			t.Errorf("3 calls with a 300 ms runtime delay took %s", took)
		}
	})

	// A 3 s delay on every call, with the chart's timeouts (per try 2s, two
	// retries, route 5s) and a caller's 5 s deadline, as the frontend's.
	t.Run("a-3s-delay-meets-the-timeouts", func(t *testing.T) {
		_, egress, admin := start(t, "faults-order-delay-3s", "faults.order.abort.percent=0", "faults.order.delay.percent=100", "faults.order.delay.duration=3s")
		waitHealthy(t, ctx, admin, "item", "127.0.0.1:8080")
		callCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		began := time.Now()
		_, err := itemv1.NewItemServiceClient(egress).ListItems(callCtx, &itemv1.ListItemsRequest{})
		took := time.Since(began)
		perTry := stat(t, admin, "cluster.item.upstream_rq_per_try_timeout")
		t.Logf("through the egress listener: %v after %s; %d per-try timeouts", err, took.Round(time.Millisecond), perTry)
		// Envoy ends the call when the caller's grpc-timeout runs out
		// (route max_stream_duration), with DEADLINE_EXCEEDED: the frontend
		// turns that into a 504 naming the service.
		if st := status.Convert(err); st.Code() != codes.DeadlineExceeded {
			t.Errorf("a call held 3s = %v, want DEADLINE_EXCEEDED", err)
		}
		if took < 4500*time.Millisecond || took > 5500*time.Millisecond {
			t.Errorf("the timeout answered after %s, want at the caller's deadline (5s)", took)
		}
		// Two tries timed out after 2s each before the deadline (0-2s, 2-4s).
		if perTry != 2 {
			t.Errorf("cluster.item.upstream_rq_per_try_timeout = %d, want 2", perTry)
		}
	})

	t.Run("retries-off-let-the-aborts-through", func(t *testing.T) {
		_, egress, admin := start(t, "faults-order-30-no-retries", "envoy.retries.attempts=0")
		waitHealthy(t, ctx, admin, "item", "127.0.0.1:8080")
		const calls = 1000
		through := failures(t, egress, calls, codes.Unavailable)
		t.Logf("egress without retries: %d of %d calls failed", through, calls)
		if through < 228 || through > 372 {
			t.Errorf("%d of %d calls failed through the egress listener without retries, want about 30%%", through, calls)
		}
	})
}

// waitHealthy waits until the Envoy at admin (a URL) has host
// (address:port) healthy in cluster.
func waitHealthy(t *testing.T, ctx context.Context, admin, cluster, host string) {
	t.Helper()
	eventually(t, ctx, 30*time.Second, host+" healthy in cluster "+cluster, func() error {
		hosts, err := envoyproc.HealthyHosts(strings.TrimPrefix(admin, "http://"), cluster)
		if err == nil && !slices.Contains(hosts, host) {
			err = fmt.Errorf("healthy hosts %v", hosts)
		}
		return err
	})
}

// stat reads one counter or gauge from the Envoy admin at admin (a URL).
func stat(t *testing.T, admin, name string) int64 {
	t.Helper()
	n, err := envoyproc.Stat(strings.TrimPrefix(admin, "http://"), name)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// runtime sets one runtime key through the admin's runtime layer.
func runtime(t *testing.T, admin, key, value string) {
	t.Helper()
	if err := envoyproc.RuntimeModify(strings.TrimPrefix(admin, "http://"), key, value); err != nil {
		t.Fatal(err)
	}
}

func get(u string) (string, error) {
	resp, err := http.Get(u)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %d %s", u, resp.StatusCode, body)
	}
	return string(body), err
}
