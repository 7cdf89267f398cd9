package charttest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"golang.org/x/net/dns/dnsmessage"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/envoy-example/envoy-example/charts/render"
	"github.com/envoy-example/envoy-example/internal/envoyproc"
	"github.com/envoy-example/envoy-example/internal/envoyproc/envoytest"
	itemv1 "github.com/envoy-example/envoy-example/protos/item/v1"
)

// TestStatsTracesAndDrainWithRealEnvoy runs the order pod's sidecars on
// this machine, as the chart renders them: the real Envoy on the rendered
// bootstrap with the rendered arguments, the real statsd_exporter on the
// rendered mapping with its rendered arguments. The only change: Envoy asks
// a stub DNS server (there is no cluster DNS here), which answers 127.0.0.1
// for every Service, so the item cluster is this pod's own inbound listener
// in front of a gRPC item server on 127.0.0.1:9090.
//
// It checks what no static check can: the mapping turns Envoy's real stats
// into the series the four DESIGN.md queries read, labelled app and
// cluster; gRPC health checks pass through the inbound listener; spans
// reach the Zipkin collector named after the service; and the preStop hook
// waits for the app, fails the health check and drains the inbound
// listener while egress keeps working.
//
// One Envoy plays the caller's sidecar and the server's, so mtls is off
// (the plaintext mode's values): with it, order's Envoy would rightly
// refuse to take its own certificate for item's. TestMTLSWithRealEnvoys covers the TLS hops.
//
// It uses the bootstrap's own ports (8080, 7070, 9901, 15021, 9090, 9411,
// 9091 and UDP 9125 on loopback) and fails if one is taken.
func TestStatsTracesAndDrainWithRealEnvoy(t *testing.T) {
	envoyPath := envoytest.Pinned(t)
	statsdPath := tool(t, "statsd_exporter")
	if _, err := exec.LookPath("bash"); err != nil {
		t.Fatal("the preStop hook needs bash (the official Envoy image has it): install bash")
	}
	requirePortsFree(t)

	// Faster health checks and stats flushes than the defaults, so that
	// the test waits seconds, not a no-traffic interval: the first check
	// fails here (the item cluster is Envoy's own inbound listener, which
	// opens only after the clusters are initialised).
	fast := base("fast-health-checks-and-flushes")
	fast.opts.ValuesFiles = []string{plaintext}
	fast.opts.Set = []string{"envoy.healthCheck.interval=1s", "envoy.healthCheck.noTrafficInterval=1s", "envoy.statsFlushInterval=1s"}
	rel := renderScenario(t, fast)
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// The stub cluster DNS.
	dns := startDNS(t)

	// The item app: ItemService and gRPC health on 127.0.0.1:9090.
	startItemApp(t)

	// Jaeger's Zipkin receiver, as a stub that keeps the spans.
	spans := startZipkin(t)

	// statsd_exporter, as the pod runs it.
	mapping, err := rel.StatsdMapping()
	if err != nil {
		t.Fatal(err)
	}
	mappingPath := writeFile(t, dir, "mapping.yaml", mapping)
	statsd := sidecar(t, rel, "order", "statsd-exporter")
	metricsAddr := freeAddr(t)
	var statsdArgs []string
	for _, a := range statsd.Args {
		switch {
		case strings.HasPrefix(a, "--statsd.mapping-config="):
			a = "--statsd.mapping-config=" + mappingPath
		case strings.HasPrefix(a, "--web.listen-address="):
			a = "--web.listen-address=" + metricsAddr // 9102 may be anyone's
		}
		statsdArgs = append(statsdArgs, a)
	}
	if !slices.Contains(statsdArgs, "--statsd.listen-udp=127.0.0.1:9125") {
		t.Fatalf("statsd_exporter args %v do not listen on UDP 127.0.0.1:9125, where Envoy sends", statsd.Args)
	}
	startProcess(t, statsdPath, statsdArgs...)
	waitHTTP(t, ctx, "http://"+metricsAddr+"/metrics")

	// Envoy, as the pod runs it, asking the stub DNS.
	bootstraps, err := rel.EnvoyBootstraps()
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := writeFile(t, dir, "envoy.yaml", withResolver(t, bootstraps["order"], dns.addr))
	container := sidecar(t, rel, "order", "envoy")
	proxy, err := envoyproc.Start(ctx, envoyPath, envoyproc.Options{ConfigPath: cfgPath, Args: runArgs(t, container, "demo-order-test")})
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Stop()
	if proxy.AdminAddr != "127.0.0.1:9901" {
		t.Errorf("admin on %s, want 127.0.0.1:9901", proxy.AdminAddr)
	}

	// The readiness listener answers the kubelet's probe.
	if code := httpStatus(t, "http://127.0.0.1:15021/ready"); code != http.StatusOK {
		t.Fatalf("GET :15021/ready = %d, want 200", code)
	}

	// Calls through the egress listener, as the order app makes them.
	conn, err := grpc.NewClient("127.0.0.1:7070", grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	items := itemv1.NewItemServiceClient(conn)
	// The app passes on the trace context the ingress started (B3, sampled)
	// and the request id, as the services do.
	const requestID = "pipeline-test-request"
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	eventually(t, ctx, 30*time.Second, "ListItems through the egress listener", func() error {
		callCtx := metadata.AppendToOutgoingContext(ctx, "x-request-id", requestID,
			"x-b3-traceid", traceID, "x-b3-spanid", "00f067aa0ba902b7", "x-b3-sampled", "1")
		resp, err := items.ListItems(callCtx, &itemv1.ListItemsRequest{})
		if err == nil && len(resp.GetItems()) != 1 {
			err = fmt.Errorf("%d items", len(resp.GetItems()))
		}
		return err
	})
	for i := 0; i < 5; i++ {
		if _, err := items.ListItems(ctx, &itemv1.ListItemsRequest{}); err != nil {
			t.Fatal(err)
		}
	}

	// Envoy asked DNS for the Services' FQDNs only: no search domains.
	for _, q := range dns.queried() {
		if !strings.HasSuffix(q, ".default.svc.cluster.local.") {
			t.Errorf("Envoy asked DNS for %q: the resolver should not try search domains", q)
		}
	}
	if !slices.Contains(dns.queried(), "demo-item.default.svc.cluster.local.") {
		t.Errorf("Envoy never resolved the item Service; it asked for %v", dns.queried())
	}

	// The four series, labelled app and cluster, on statsd_exporter.
	eventually(t, ctx, time.Minute, "the DESIGN.md series on statsd_exporter", func() error {
		families, err := scrape("http://" + metricsAddr + "/metrics")
		if err != nil {
			return err
		}
		return checkSeries(families)
	})

	// Spans reached the collector, named after the service, with the id.
	eventually(t, ctx, 30*time.Second, "spans at the Zipkin collector", func() error {
		return spans.check(requestID, traceID)
	})

	// The preStop hook, as rendered, while a stand-in for the app's admin
	// port is open: it must wait for the app to exit before draining.
	if container.Lifecycle == nil || container.Lifecycle.PreStop == nil || container.Lifecycle.PreStop.Exec == nil {
		t.Fatal("the Envoy container has no exec preStop hook")
	}
	hook := container.Lifecycle.PreStop.Exec.Command
	app, err := net.Listen("tcp", "127.0.0.1:9091")
	if err != nil {
		t.Fatal(err)
	}
	hookDone := make(chan error, 1)
	hookStart := time.Now()
	go func() {
		out, err := exec.CommandContext(ctx, hook[0], hook[1:]...).CombinedOutput()
		if err != nil {
			err = fmt.Errorf("%v: %s", err, out)
		}
		hookDone <- err
	}()
	time.Sleep(2 * time.Second)
	if code := httpStatus(t, "http://127.0.0.1:15021/ready"); code != http.StatusOK {
		t.Errorf("Envoy drained (/ready = %d) while the app was still up", code)
	}
	app.Close() // the app exits
	appGone := time.Now()
	eventually(t, ctx, 10*time.Second, "/ready failing once the hook runs", func() error {
		if code := httpStatus(t, "http://127.0.0.1:15021/ready"); code != http.StatusServiceUnavailable {
			return fmt.Errorf("/ready = %d, want 503", code)
		}
		return nil
	})
	select {
	case err := <-hookDone:
		if err != nil {
			t.Fatalf("preStop hook: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("preStop hook still running after a minute")
	}
	drain := drainTime(t, container)
	if took := time.Since(appGone); took < drain-time.Second {
		t.Errorf("the hook returned %s after the app exited, before the %s drain", took, drain)
	}
	t.Logf("preStop hook took %s (app exit after 2s, then the drain)", time.Since(hookStart).Round(100*time.Millisecond))
	// Draining stopped the inbound listener; egress still takes the app's
	// calls, and Envoy runs until the kubelet's SIGTERM.
	eventually(t, ctx, 10*time.Second, "the inbound listener closed after the drain", func() error {
		c, err := net.DialTimeout("tcp", "127.0.0.1:8080", time.Second)
		if err == nil {
			c.Close()
			return fmt.Errorf("8080 still accepts connections")
		}
		return nil
	})
	if c, err := net.DialTimeout("tcp", "127.0.0.1:7070", time.Second); err != nil {
		t.Errorf("the egress listener closed with the inbound drain: %v", err)
	} else {
		c.Close()
	}
	select {
	case <-proxy.Exited():
		t.Fatalf("Envoy exited during the preStop hook:\n%s", proxy.Logs())
	default:
	}
	if err := proxy.Stop(); err != nil {
		t.Errorf("Envoy on SIGTERM: %v", err)
	}
}

// checkSeries looks for what the four queries read, for the order app's
// call to item.
func checkSeries(families map[string]*dto.MetricFamily) error {
	find := func(name string, typ dto.MetricType) (*dto.Metric, error) {
		f, ok := families[name]
		if !ok {
			return nil, fmt.Errorf("no %s yet", name)
		}
		if f.GetType() != typ {
			return nil, fmt.Errorf("%s is a %s, want %s", name, f.GetType(), typ)
		}
		for _, m := range f.Metric {
			labels := map[string]string{}
			for _, l := range m.Label {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["app"] == "order" && labels["cluster"] == "item" {
				return m, nil
			}
		}
		return nil, fmt.Errorf("no %s{app=\"order\",cluster=\"item\"} yet", name)
	}
	// envoy_upstream_rq_time_bucket and _count: a histogram in seconds.
	m, err := find("envoy_upstream_rq_time", dto.MetricType_HISTOGRAM)
	if err != nil {
		return err
	}
	h := m.GetHistogram()
	if h.GetSampleCount() < 6 || len(h.GetBucket()) == 0 || h.GetBucket()[0].GetUpperBound() != 0.001 {
		return fmt.Errorf("envoy_upstream_rq_time: %d samples, buckets %v", h.GetSampleCount(), h.GetBucket())
	}
	if h.GetSampleSum() > 5 {
		return fmt.Errorf("envoy_upstream_rq_time sums %fs for a few loopback calls: milliseconds not turned into seconds?", h.GetSampleSum())
	}
	if m, err = find("envoy_health_check_healthy", dto.MetricType_GAUGE); err != nil {
		return err
	} else if m.GetGauge().GetValue() != 1 {
		return fmt.Errorf("envoy_health_check_healthy = %v, want 1", m.GetGauge().GetValue())
	}
	if m, err = find("envoy_upstream_cx_total", dto.MetricType_COUNTER); err != nil {
		return err
	} else if m.GetCounter().GetValue() < 1 {
		return fmt.Errorf("envoy_upstream_cx_total = %v", m.GetCounter().GetValue())
	}
	// The probes' route to Envoy's admin (the test GETs :15021/ready before
	// this) is not a hop between services: no series names it.
	for name, f := range families {
		for _, m := range f.Metric {
			for _, l := range m.Label {
				if l.GetName() == "cluster" && l.GetValue() == "envoy_admin" {
					return fmt.Errorf("%s has a series for cluster envoy_admin, the probes' route", name)
				}
			}
		}
	}
	// Everything unmapped is dropped, not exported under raw names.
	for name := range families {
		if strings.HasPrefix(name, "envoy_order_") || strings.HasPrefix(name, "envoy_cluster_") {
			return fmt.Errorf("unmapped statsd name exported as %s", name)
		}
	}
	return nil
}

func scrape(url string) (map[string]*dto.MetricFamily, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(resp.Body)
}

// requirePortsFree fails, naming the port, when the bootstrap's ports are taken.
func requirePortsFree(t *testing.T) {
	t.Helper()
	// IPv4, as the bootstrap binds (0.0.0.0): a port-forward on [::1] is no conflict.
	// The ports of ports.yaml the bootstrap and the stand-ins bind.
	for _, name := range []string{"service", "envoyReady", "egress", "envoyAdmin", "app", "appOps", "zipkin"} {
		host := "127.0.0.1"
		if name == "service" || name == "envoyReady" {
			host = "0.0.0.0"
		}
		addr := net.JoinHostPort(host, strconv.Itoa(int(port(t, name))))
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("port %s is taken (%v): this test runs the rendered bootstrap on its own ports; stop what holds it", addr, err)
		}
		l.Close()
	}
	statsd := net.JoinHostPort("127.0.0.1", strconv.Itoa(int(port(t, "statsd"))))
	pc, err := net.ListenPacket("udp", statsd)
	if err != nil {
		t.Fatalf("UDP %s is taken (%v): statsd_exporter must receive there", statsd, err)
	}
	pc.Close()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// sidecar returns one of the sidecar containers of a component's pods.
func sidecar(t *testing.T, rel *render.Release, component, name string) (c corev1.Container) {
	t.Helper()
	spec := deployment(t, rel, component).Spec.Template.Spec
	for _, c := range append(slices.Clone(spec.InitContainers), spec.Containers...) {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("%s has no %s container", component, name)
	return
}

// withResolver points the bootstrap's c-ares resolver at the stub DNS; the
// rest of the bootstrap is as rendered.
func withResolver(t *testing.T, text, dnsAddr string) string {
	t.Helper()
	var cfg map[string]any
	if err := yaml.Unmarshal([]byte(text), &cfg); err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(dnsAddr)
	var portNum int
	fmt.Sscan(port, &portNum)
	resolver, ok := cfg["typed_dns_resolver_config"].(map[string]any)
	if !ok {
		t.Fatal("the bootstrap has no typed_dns_resolver_config")
	}
	resolver["typed_config"].(map[string]any)["resolvers"] = []any{
		map[string]any{"socket_address": map[string]any{"address": host, "port_value": portNum}},
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// startProcess runs a helper binary for the test's duration.
func startProcess(t *testing.T, bin string, args ...string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var out syncWriter
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("%s output:\n%s", bin, out.String())
		}
	})
}

type syncWriter struct {
	mu sync.Mutex
	b  strings.Builder
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

func waitHTTP(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	eventually(t, ctx, 20*time.Second, "GET "+url, func() error {
		resp, err := http.Get(url)
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	})
}

func httpStatus(t *testing.T, url string) int {
	t.Helper()
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// eventually retries check until it passes or within runs out.
func eventually(t *testing.T, ctx context.Context, within time.Duration, what string, check func() error) {
	t.Helper()
	start := time.Now()
	deadline := start.Add(within)
	for {
		err := check()
		if err == nil {
			if took := time.Since(start); took > time.Second {
				t.Logf("%s: after %s", what, took.Round(100*time.Millisecond))
			}
			return
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("%s: still failing after %s: %v", what, within, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// stubDNS answers A queries for any *.svc.cluster.local name with
// 127.0.0.1, nothing else, and remembers what it was asked.
type stubDNS struct {
	addr string
	mu   sync.Mutex
	asks []string
}

func (d *stubDNS) queried() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.asks)
}

func startDNS(t *testing.T) *stubDNS {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	d := &stubDNS{addr: pc.LocalAddr().String()}
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			var p dnsmessage.Parser
			h, err := p.Start(buf[:n])
			if err != nil {
				continue
			}
			q, err := p.Question()
			if err != nil {
				continue
			}
			name := strings.ToLower(q.Name.String())
			d.mu.Lock()
			if !slices.Contains(d.asks, name) {
				d.asks = append(d.asks, name)
			}
			d.mu.Unlock()
			known := strings.HasSuffix(name, ".svc.cluster.local.")
			rcode := dnsmessage.RCodeSuccess
			if !known {
				rcode = dnsmessage.RCodeNameError
			}
			b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired, RCode: rcode})
			_ = b.StartQuestions()
			_ = b.Question(q)
			_ = b.StartAnswers()
			if known && q.Type == dnsmessage.TypeA {
				_ = b.AResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 5}, dnsmessage.AResource{A: [4]byte{127, 0, 0, 1}})
			}
			msg, err := b.Finish()
			if err == nil {
				_, _ = pc.WriteTo(msg, from)
			}
		}
	}()
	return d
}

// itemApp stands in for the item app: one item, and SERVING health.
type itemApp struct {
	itemv1.UnimplementedItemServiceServer
}

func (itemApp) ListItems(context.Context, *itemv1.ListItemsRequest) (*itemv1.ListItemsResponse, error) {
	return &itemv1.ListItemsResponse{Items: []*itemv1.Item{{Id: 1, Name: "first item"}}}, nil
}

func startItemApp(t *testing.T) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:9090")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	itemv1.RegisterItemServiceServer(s, itemApp{})
	hs := health.NewServer()
	hs.SetServingStatus(itemv1.ItemService_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(s, hs)
	go s.Serve(l)
	t.Cleanup(s.Stop)
}

// zipkinStub keeps the spans Envoy posts to /api/v2/spans.
type zipkinStub struct {
	mu    sync.Mutex
	spans []zipkinSpan
}

type zipkinSpan struct {
	TraceID       string            `json:"traceId"`
	Kind          string            `json:"kind"`
	Tags          map[string]string `json:"tags"`
	LocalEndpoint struct {
		ServiceName string `json:"serviceName"`
	} `json:"localEndpoint"`
}

func startZipkin(t *testing.T) *zipkinStub {
	t.Helper()
	z := &zipkinStub{}
	l, err := net.Listen("tcp", "127.0.0.1:9411")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/api/v2/spans" {
			http.Error(w, "not the Zipkin v2 endpoint", http.StatusNotFound)
			return
		}
		body, _ := io.ReadAll(r.Body)
		var spans []zipkinSpan
		if err := json.Unmarshal(body, &spans); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		z.mu.Lock()
		z.spans = append(z.spans, spans...)
		z.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return z
}

// check finds the request's client span (egress) and server span
// (inbound) in the caller's trace, both named after the order service, and
// no span of a health check.
func (z *zipkinStub) check(requestID, traceID string) error {
	z.mu.Lock()
	defer z.mu.Unlock()
	kinds := map[string]string{} // kind -> trace id
	for _, s := range z.spans {
		if strings.Contains(s.Tags["http.url"], "grpc.health.v1") {
			return fmt.Errorf("a health check was traced: %+v", s)
		}
		if s.Tags["guid:x-request-id"] != requestID {
			continue
		}
		if s.TraceID != traceID {
			return fmt.Errorf("span in trace %s, want the caller's %s", s.TraceID, traceID)
		}
		if s.LocalEndpoint.ServiceName != "order" {
			return fmt.Errorf("span of service %q, want order (node.cluster)", s.LocalEndpoint.ServiceName)
		}
		if len(s.TraceID) != 32 {
			return fmt.Errorf("trace id %q is not 128-bit", s.TraceID)
		}
		kinds[s.Kind] = s.TraceID
	}
	if kinds["CLIENT"] == "" || kinds["SERVER"] == "" {
		return fmt.Errorf("spans of %s by kind: %v (of %d spans)", requestID, kinds, len(z.spans))
	}
	if kinds["CLIENT"] != kinds["SERVER"] {
		return fmt.Errorf("client and server spans in different traces: %v", kinds)
	}
	return nil
}

// drainTime is the --drain-time-s the chart gives Envoy.
func drainTime(t *testing.T, c corev1.Container) time.Duration {
	t.Helper()
	for i, a := range c.Args {
		if a == "--drain-time-s" && i+1 < len(c.Args) {
			var n int
			if _, err := fmt.Sscan(c.Args[i+1], &n); err == nil {
				return time.Duration(n) * time.Second
			}
		}
	}
	t.Fatalf("no --drain-time-s in %v", c.Args)
	return 0
}
