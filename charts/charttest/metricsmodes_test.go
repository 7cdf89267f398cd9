package charttest

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/config"
	// Registers kubernetes_sd_configs, which the chart's config uses, with config.Load.
	_ "github.com/prometheus/prometheus/discovery/kubernetes"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/relabel"
	"github.com/prometheus/prometheus/model/textparse"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	promscrape "github.com/prometheus/prometheus/scrape"
	"github.com/prometheus/prometheus/util/teststorage"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	corev1 "k8s.io/api/core/v1"

	"github.com/envoy-example/envoy-example/charts/dashboards"
	"github.com/envoy-example/envoy-example/charts/queries"
	"github.com/envoy-example/envoy-example/charts/render"
	"github.com/envoy-example/envoy-example/internal/envoyproc"
	"github.com/envoy-example/envoy-example/internal/envoyproc/envoytest"
	itemv1 "github.com/envoy-example/envoy-example/protos/item/v1"
)

// The metrics modes of values.yaml (metrics.mode).
var metricsModes = []string{"statsd", "prometheus"}

// TestFourQueriesAgreeInBothMetricsModes runs the order pod's Envoy on the
// chart's rendered bootstrap once per metrics mode, with the same calls to
// item: in statsd mode with the real statsd_exporter on the rendered
// mapping, in prometheus mode alone. Each time it scrapes what the rendered
// Prometheus config scrapes (the job that keeps one of the pod's container
// ports, its metrics path and parameters), labels the samples as Prometheus
// does (the job's relabel_configs on the pod's discovery labels, its
// honor_labels, its metric_relabel_configs, all with Prometheus' own
// packages), stores two scrapes in a Prometheus TSDB and evaluates the four
// DESIGN.md queries with Prometheus' PromQL engine.
//
// Both modes must answer each query with the same label sets, select raw
// series of the same names and label sets (instance aside: the port
// differs), and keep the same Envoy series names: the dashboards and the
// four queries read either mode unchanged. Latency is in seconds in both.
func TestFourQueriesAgreeInBothMetricsModes(t *testing.T) {
	envoyPath := envoytest.Pinned(t)
	statsdPath := tool(t, "statsd_exporter")

	type outcome struct {
		answers  map[string][]string // query -> label sets of its result
		selected map[string][]string // query -> label sets of the raw series it reads
		names    []string            // every envoy_* series name stored
		panels   map[string][]string // dashboard query -> label sets of its result
		p95      float64             // p95 of order->item, in seconds
	}
	// Every dashboard panel's queries too: they must read the same in both modes.
	dir, err := dashboards.Dir()
	if err != nil {
		t.Fatal(err)
	}
	all, err := dashboards.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	panelQueries, err := dashboards.Queries(all, dashboards.DefaultVars)
	if err != nil {
		t.Fatal(err)
	}
	outcomes := map[string]outcome{}
	for _, mode := range metricsModes {
		ok := t.Run(mode, func(t *testing.T) {
			db := scrapeOrderPod(t, mode, envoyPath, statsdPath)
			o := outcome{answers: map[string][]string{}, selected: map[string][]string{}, panels: map[string][]string{}}
			for _, q := range queries.Design {
				vec := instantQuery(t, db.storage, q.Expr, db.at)
				if len(vec) == 0 {
					t.Errorf("%s: %s answers nothing", q.Name, q.Expr)
				}
				o.answers[q.Name] = labelSets(vec)
				for _, s := range vec {
					if q.Name == "envoy_example:upstream_rq_time:p95" && s.Metric.Get("app") == "order" && s.Metric.Get("cluster") == "item" {
						o.p95 = s.F
					}
				}
				expr, err := parser.NewParser(parser.Options{}).ParseExpr(q.Expr)
				if err != nil {
					t.Fatal(err)
				}
				for _, sel := range parser.ExtractSelectors(expr) {
					vs := &parser.VectorSelector{LabelMatchers: sel}
					o.selected[q.Name] = append(o.selected[q.Name], labelSets(instantQuery(t, db.storage, vs.String(), db.at), "instance")...)
				}
				sort.Strings(o.selected[q.Name])
				// Only the order pod runs here: of the mesh's hops, order->item.
				orderItem := queries.Hop{App: "order", Cluster: "item"}
				if len(queries.Missing(vectorLabels(vec), []queries.Hop{orderItem})) > 0 {
					t.Errorf("%s: no series for order->item: %v", q.Name, o.answers[q.Name])
				}
			}
			o.names = db.envoyNames()
			for _, q := range panelQueries {
				o.panels[q.String()] = labelSets(instantQuery(t, db.storage, q.PromQL, db.at), "instance")
			}
			outcomes[mode] = o
		})
		if !ok {
			t.FailNow()
		}
	}

	statsd, native := outcomes["statsd"], outcomes["prometheus"]
	for _, q := range queries.Design {
		t.Logf("%s: %v (reading %d series)", q.Name, statsd.answers[q.Name], len(statsd.selected[q.Name]))
	}
	t.Logf("Envoy series in both modes: %v", native.names)
	for _, q := range queries.Design {
		if !slices.Equal(statsd.answers[q.Name], native.answers[q.Name]) {
			t.Errorf("%s answers differently:\n  statsd:     %v\n  prometheus: %v", q.Name, statsd.answers[q.Name], native.answers[q.Name])
		}
		if !slices.Equal(statsd.selected[q.Name], native.selected[q.Name]) {
			t.Errorf("%s reads different series:\n  statsd:     %v\n  prometheus: %v", q.Name, statsd.selected[q.Name], native.selected[q.Name])
		}
	}
	// The one deliberate difference: Envoy's native histogram sum is in
	// milliseconds, and a relabelling cannot divide, so it is not kept.
	statsdNames := slices.DeleteFunc(slices.Clone(statsd.names), func(n string) bool { return n == "envoy_upstream_rq_time_sum" })
	if !slices.Equal(statsdNames, native.names) {
		t.Errorf("the modes keep different Envoy series:\n  statsd:     %v\n  prometheus: %v", statsdNames, native.names)
	}
	// The dashboards' queries, which only the order pod's Envoy feeds here
	// (the apps' own metrics are not scraped in this test): each answers
	// alike in both modes, but for what only statsd mode runs.
	answered := 0
	for _, q := range panelQueries {
		if q.Expect == dashboards.StatsdModeOnly {
			// What only statsd mode runs answers there, and only there.
			if k := q.String(); len(statsd.panels[k]) == 0 || len(native.panels[k]) != 0 {
				t.Errorf("dashboard query %s (%s): statsd mode answers %v, prometheus mode %v", k, q.Expect, statsd.panels[k], native.panels[k])
			}
			continue
		}
		k := q.String()
		if !slices.Equal(statsd.panels[k], native.panels[k]) {
			t.Errorf("dashboard query %s answers differently:\n  statsd:     %v\n  prometheus: %v\n  query: %s", k, statsd.panels[k], native.panels[k], q.PromQL)
		}
		if len(native.panels[k]) > 0 {
			answered++
		}
	}
	t.Logf("%d of %d dashboard queries answer here (the order pod's Envoy only), alike in both modes", answered, len(panelQueries))
	if answered < len(panelQueries)/2 {
		t.Errorf("only %d of %d dashboard queries answer: the comparison says little", answered, len(panelQueries))
	}
	// Seconds in both: loopback calls take well under 100 ms; in
	// milliseconds the p95 would be above 1.
	for mode, o := range outcomes {
		if o.p95 <= 0 || o.p95 > 0.1 {
			t.Errorf("%s: p95 of order->item = %v, want seconds between 0 and 0.1", mode, o.p95)
		}
	}
}

// scraped is what two scrapes of the order pod's Envoy stats left in a TSDB.
type scraped struct {
	storage *teststorage.TestStorage
	at      time.Time // the second scrape
}

// envoyNames returns the names of the envoy_* series stored, sorted.
func (s scraped) envoyNames() []string {
	q, err := s.storage.Querier(0, s.at.UnixMilli()+1)
	if err != nil {
		return []string{err.Error()}
	}
	defer q.Close()
	names, _, err := q.LabelValues(context.Background(), model.MetricNameLabel, nil)
	if err != nil {
		return []string{err.Error()}
	}
	return slices.DeleteFunc(names, func(n string) bool { return !strings.HasPrefix(n, "envoy_") })
}

// scrapeOrderPod runs the order pod's Envoy (and statsd_exporter in statsd
// mode) as the chart renders them for mode, sends calls to item through
// it, and stores two scrapes as the rendered Prometheus config would.
func scrapeOrderPod(t *testing.T, mode, envoyPath, statsdPath string) scraped {
	requirePortsFree(t)
	if l, err := net.Listen("tcp", "0.0.0.0:15090"); err != nil {
		t.Fatalf("port 15090 is taken (%v): the stats listener binds it", err)
	} else {
		l.Close()
	}
	s := base("metrics-" + mode + "-fast")
	s.opts.ValuesFiles = []string{plaintext}
	s.opts.Set = []string{"metrics.mode=" + mode, "envoy.healthCheck.interval=1s", "envoy.healthCheck.noTrafficInterval=1s", "envoy.statsFlushInterval=1s"}
	rel := renderScenario(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	dir := t.TempDir()
	dns := startDNS(t)
	startItemApp(t)
	startZipkin(t)

	// Where each container port of the pod answers on this machine.
	local := map[int32]string{15090: "127.0.0.1:15090"}
	if mode == "statsd" {
		mapping, err := rel.StatsdMapping()
		if err != nil {
			t.Fatal(err)
		}
		mappingPath := writeFile(t, dir, "mapping.yaml", mapping)
		local[9102] = freeAddr(t)
		var args []string
		for _, a := range sidecar(t, rel, "order", "statsd-exporter").Args {
			switch {
			case strings.HasPrefix(a, "--statsd.mapping-config="):
				a = "--statsd.mapping-config=" + mappingPath
			case strings.HasPrefix(a, "--web.listen-address="):
				a = "--web.listen-address=" + local[9102]
			}
			args = append(args, a)
		}
		startProcess(t, statsdPath, args...)
		waitHTTP(t, ctx, "http://"+local[9102]+"/metrics")
	}
	bootstraps, err := rel.EnvoyBootstraps()
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := writeFile(t, dir, "envoy.yaml", withResolver(t, bootstraps["order"], dns.addr))
	proxy, err := envoyproc.Start(ctx, envoyPath, envoyproc.Options{ConfigPath: cfgPath, Args: runArgs(t, sidecar(t, rel, "order", "envoy"), "demo-order-"+mode)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Stop() })

	job, target, port := envoyScrapeTarget(t, rel, "order")
	addr, ok := local[port]
	if !ok {
		t.Fatalf("job %s scrapes container port %d, which this test does not run", job.JobName, port)
	}
	scrapeURL := "http://" + addr + job.MetricsPath
	if len(job.Params) > 0 {
		scrapeURL += "?" + job.Params.Encode()
	}
	t.Logf("%s mode: job %s scrapes %s (container port %d), target labels %s", mode, job.JobName, scrapeURL, port, target)
	if mode == "prometheus" {
		checkStatsListenerRefusesTheRest(t, proxy)
	}

	conn, err := grpc.NewClient("127.0.0.1:7070", grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	items := itemv1.NewItemServiceClient(conn)
	call := func() error { _, err := items.ListItems(ctx, &itemv1.ListItemsRequest{}); return err }
	eventually(t, ctx, 30*time.Second, "ListItems through the egress listener", call)

	// Until every series the comparison needs is there: the hop's
	// requests, health and connections, and the spans' requests to jaeger
	// (both modes must have reached the same point).
	want := []string{
		`envoy_upstream_rq_time_count{app="order",cluster="item"}`,
		`envoy_upstream_rq_time_count{app="order",cluster="jaeger"}`,
		`envoy_health_check_healthy{app="order",cluster="item"} 1`,
		`envoy_upstream_cx_total{app="order",cluster="item"}`,
		`envoy_upstream_rq_xx{app="order",cluster="item",response_code_class="2"}`,
	}
	eventually(t, ctx, time.Minute, "the series of order->item", func() error {
		if err := call(); err != nil {
			return err
		}
		samples, err := scrapeAsPrometheus(scrapeURL, job, target)
		if err != nil {
			return err
		}
		for _, w := range want {
			if !hasSample(samples, w) {
				return fmt.Errorf("no %s yet", w)
			}
		}
		return nil
	})

	// Two scrapes, with calls before each, so that rate() has two points.
	db := teststorage.New(t)
	var at time.Time
	for i := 0; i < 2; i++ {
		for j := 0; j < 5; j++ {
			if err := call(); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(1500 * time.Millisecond) // a stats flush
		samples, err := scrapeAsPrometheus(scrapeURL, job, target)
		if err != nil {
			t.Fatal(err)
		}
		at = time.Now()
		app := db.Appender(ctx)
		for _, smp := range samples {
			if _, err := app.Append(0, smp.Metric, at.UnixMilli(), smp.F); err != nil {
				t.Fatalf("storing %s: %v", smp.Metric, err)
			}
		}
		if err := app.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	return scraped{storage: db, at: at}
}

// envoyScrapeTarget finds the one container port of a component's pod
// that the rendered Prometheus config's job "envoy" keeps, and the
// target's labels after relabel_configs, as Prometheus's pod discovery
// would present the pod.
func envoyScrapeTarget(t *testing.T, rel *render.Release, component string) (*config.ScrapeConfig, labels.Labels, int32) {
	t.Helper()
	text, err := rel.PrometheusConfig()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(text, nil)
	if err != nil {
		t.Fatalf("loading the rendered Prometheus config: %v", err)
	}
	jobs, err := cfg.GetScrapeConfigs()
	if err != nil {
		t.Fatal(err)
	}
	d := deployment(t, rel, component)
	spec := d.Spec.Template.Spec
	type found struct {
		job    *config.ScrapeConfig
		labels labels.Labels
		port   int32
	}
	var envoy []found
	for _, c := range append(slices.Clone(spec.InitContainers), spec.Containers...) {
		for _, p := range c.Ports {
			meta := model.LabelSet{
				model.AddressLabel:                                        model.LabelValue(net.JoinHostPort("10.244.0.17", strconv.Itoa(int(p.ContainerPort)))),
				"__meta_kubernetes_namespace":                             model.LabelValue(rel.Options.Namespace),
				"__meta_kubernetes_pod_name":                              model.LabelValue(d.Name + "-7d4b9c8f6-x2x9z"),
				"__meta_kubernetes_pod_phase":                             model.LabelValue(corev1.PodRunning),
				"__meta_kubernetes_pod_container_name":                    model.LabelValue(c.Name),
				"__meta_kubernetes_pod_container_port_name":               model.LabelValue(p.Name),
				"__meta_kubernetes_pod_container_port_number":             model.LabelValue(strconv.Itoa(int(p.ContainerPort))),
				"__meta_kubernetes_pod_label_app_kubernetes_io_component": model.LabelValue(d.Spec.Template.Labels["app.kubernetes.io/component"]),
			}
			for _, job := range jobs {
				lset, err := promscrape.PopulateLabels(labels.NewBuilder(labels.EmptyLabels()), job, meta, nil)
				if err != nil {
					t.Fatalf("job %s, port %s: %v", job.JobName, p.Name, err)
				}
				if !lset.IsEmpty() && job.JobName == "envoy" {
					envoy = append(envoy, found{job, lset, p.ContainerPort})
				}
			}
		}
	}
	if len(envoy) != 1 {
		t.Fatalf("the job envoy keeps %d container ports of %s, want exactly one", len(envoy), component)
	}
	return envoy[0].job, envoy[0].labels, envoy[0].port
}

// scrapeAsPrometheus scrapes url and labels every sample as a Prometheus
// scrape of target by job would: its parser, the target's public labels
// joined as honor_labels says, then metric_relabel_configs.
func scrapeAsPrometheus(url string, job *config.ScrapeConfig, target labels.Labels) (promql.Vector, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	// What Prometheus asks for by default; each server answers in the
	// format it can, which picks the parser.
	req.Header.Set("Accept", acceptHeader(job))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	p, err := textparse.New(body, resp.Header.Get("Content-Type"), labels.NewSymbolTable(), textparse.ParserOptions{})
	if err != nil {
		return nil, fmt.Errorf("parsing %s (%s): %w", url, resp.Header.Get("Content-Type"), err)
	}
	var out promql.Vector
	for {
		entry, err := p.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("parsing %s: %w", url, err)
		}
		if entry != textparse.EntrySeries {
			continue
		}
		_, _, v := p.Series()
		var scrapedLabels labels.Labels
		p.Labels(&scrapedLabels)
		lb := labels.NewBuilder(scrapedLabels)
		target.Range(func(l labels.Label) {
			if strings.HasPrefix(l.Name, "__") {
				return // internal labels of the target never reach a series
			}
			existing := scrapedLabels.Get(l.Name)
			switch {
			case existing == "":
				lb.Set(l.Name, l.Value)
			case job.HonorLabels:
				// The scraped value wins.
			default:
				lb.Set(model.ExportedLabelPrefix+l.Name, existing)
				lb.Set(l.Name, l.Value)
			}
		})
		if !relabel.ProcessBuilder(lb, job.MetricRelabelConfigs...) {
			continue
		}
		out = append(out, promql.Sample{Metric: lb.Labels(), F: v})
	}
}

// acceptHeader is the Accept header a Prometheus scrape of job sends: its
// scrape protocols in order of preference (as the scrape package writes it).
func acceptHeader(job *config.ScrapeConfig) string {
	var vals []string
	weight := len(config.ScrapeProtocolsHeaders) + 1
	for _, sp := range job.ScrapeProtocols {
		val := config.ScrapeProtocolsHeaders[sp]
		if sp == config.PrometheusText1_0_0 || sp == config.OpenMetricsText1_0_0 {
			val += ";" + model.EscapingKey + "=" + job.MetricNameEscapingScheme
		}
		vals = append(vals, fmt.Sprintf("%s;q=0.%d", val, weight))
		weight--
	}
	return strings.Join(append(vals, fmt.Sprintf("*/*;q=0.%d", weight)), ",")
}

// hasSample reports whether samples hold the series written as
// name{labels} (value), matching the listed labels only.
func hasSample(samples promql.Vector, want string) bool {
	expr, err := parser.NewParser(parser.Options{}).ParseExpr(strings.Fields(want)[0])
	if err != nil {
		panic(err)
	}
	matchers := expr.(*parser.VectorSelector).LabelMatchers
	for _, s := range samples {
		all := true
		for _, m := range matchers {
			all = all && m.Matches(s.Metric.Get(m.Name))
		}
		if all && (len(strings.Fields(want)) == 1 || strconv.FormatFloat(s.F, 'g', -1, 64) == strings.Fields(want)[1]) {
			return true
		}
	}
	return false
}

// instantQuery evaluates expr at ts with Prometheus's engine.
func instantQuery(t *testing.T, db *teststorage.TestStorage, expr string, ts time.Time) promql.Vector {
	t.Helper()
	engine := promql.NewEngine(promql.EngineOpts{MaxSamples: 1_000_000, Timeout: time.Minute, LookbackDelta: 5 * time.Minute})
	q, err := engine.NewInstantQuery(context.Background(), db, nil, expr, ts)
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	defer q.Close()
	res := q.Exec(context.Background())
	vec, err := res.Vector()
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return vec
}

// labelSets returns each sample's labels, less those named in without, as
// sorted strings.
func labelSets(vec promql.Vector, without ...string) []string {
	var out []string
	for _, s := range vec {
		out = append(out, labels.NewBuilder(s.Metric).Del(without...).Labels().String())
	}
	sort.Strings(out)
	return out
}

func vectorLabels(vec promql.Vector) []map[string]string {
	var out []map[string]string
	for _, s := range vec {
		out = append(out, s.Metric.Map())
	}
	return out
}

// checkStatsListenerRefusesTheRest: on 15090 only GET /stats/prometheus
// reaches the admin; its other pages (which can drain or stop Envoy) and
// other methods find no route.
func checkStatsListenerRefusesTheRest(t *testing.T, proxy *envoyproc.Process) {
	t.Helper()
	do := func(method, path string) int {
		req, _ := http.NewRequest(method, "http://127.0.0.1:15090"+path, nil)
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
		if err != nil {
			t.Fatalf("%s %s on 15090: %v", method, path, err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := do(http.MethodGet, "/stats/prometheus"); got != http.StatusOK {
		t.Errorf("GET /stats/prometheus on 15090 = %d, want 200", got)
	}
	for _, r := range [][2]string{
		{http.MethodPost, "/stats/prometheus"}, {http.MethodHead, "/stats/prometheus"}, {http.MethodGet, "/stats"},
		{http.MethodGet, "/stats/prometheus/"}, {http.MethodGet, "/config_dump"}, {http.MethodGet, "/ready"},
		{http.MethodPost, "/healthcheck/fail"}, {http.MethodPost, "/drain_listeners"}, {http.MethodPost, "/quitquitquit"},
	} {
		if got := do(r[0], r[1]); got != http.StatusNotFound {
			t.Errorf("%s %s on 15090 = %d, want 404 (no route)", r[0], r[1], got)
		}
	}
	if got := httpStatus(t, "http://127.0.0.1:15021/ready"); got != http.StatusOK {
		t.Errorf("after the refused admin calls /ready = %d, want 200 (still serving)", got)
	}
	select {
	case <-proxy.Exited():
		t.Fatalf("Envoy exited: the stats listener let /quitquitquit through\n%s", proxy.Logs())
	default:
	}
}
