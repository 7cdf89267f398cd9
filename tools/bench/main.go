// Command bench measures what the mesh costs (`make bench`): it installs
// the chart twice on the cluster KUBECONFIG names, once as is (the sidecar
// mesh) and once with sidecars.enabled=false (the apps wired to each
// other's Services), runs a fortio pod against each release's ingress
// Service in turn, at several concurrency levels, with more seed data and
// with more user replicas, reads the kubelet's resource metrics and the
// apps' gRPC counters around every run, and writes a markdown report with
// PNG plots.
//
//	go run ./tools/bench [flags]          measure, then write the report
//	go run ./tools/bench report [DIR]     remake the report from DIR/results.json
//
// Every load run is bounded by --duration; the whole invocation by
// --timeout. The namespaces it creates are deleted at the end unless --keep.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/envoy-example/envoy-example/internal/fortio"
	"github.com/envoy-example/envoy-example/internal/kube"
	"github.com/envoy-example/envoy-example/internal/repo"
	"github.com/envoy-example/envoy-example/tools/bench/internal/promtext"
	"github.com/envoy-example/envoy-example/tools/bench/internal/report"
	"github.com/envoy-example/envoy-example/tools/bench/internal/usage"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// Namespaces the bench uses; the release is named "bench" in both.
const (
	release     = "bench"
	nsMesh      = "bench-mesh"
	nsBypass    = "bench-bypass"
	nsLoad      = "bench-load"
	appsPort    = 9091 // the apps' /metrics (DESIGN.md)
	ingressPort = 8080
)

type options struct {
	out          string
	capture      string
	values       []string
	duration     time.Duration
	warmup       time.Duration
	concurrency  []int
	rounds       int
	seedScales   []int
	seedConc     int
	replicas     int
	replicasConc int
	poll         time.Duration
	timeout      time.Duration
	keep         bool
	fortioImage  string
	pullPolicy   string
}

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func ints(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a list of positive integers", s)
		}
		out = append(out, n)
	}
	return out, nil
}

func run(args []string, stdout, stderr io.Writer) int {
	logf := func(format string, a ...any) {
		fmt.Fprintf(stdout, "bench: %s %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, a...))
	}
	if len(args) > 0 && args[0] == "report" {
		dir := "bench"
		if len(args) > 1 {
			dir = args[1]
		}
		r, err := report.Load(filepath.Join(dir, report.ResultsFile))
		if err == nil {
			err = report.Write(dir, r)
		}
		if err != nil {
			fmt.Fprintf(stderr, "bench: %v\n", err)
			return 1
		}
		logf("wrote %s", filepath.Join(dir, report.ReportFile))
		return 0
	}

	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	var values listFlag
	conc := fs.String("concurrency", "1,4,16", "fortio connections of the concurrency phase")
	seeds := fs.String("seed-scales", "1,10,100", "seed scales of the growth phase (1 is measured too)")
	fs.StringVar(&o.out, "out", "bench", "directory of the report, plots and results.json")
	fs.StringVar(&o.capture, "capture", "", "also write the raw fortio JSON, kubelet and app metrics of the first runs here (test data)")
	fs.Var(&values, "values", "values file for both releases (repeatable), relative to the repository root, e.g. ci/values-offline.yaml")
	fs.DurationVar(&o.duration, "duration", 25*time.Second, "length of each load run")
	fs.DurationVar(&o.warmup, "warmup", 5*time.Second, "unrecorded load on each release after it changes")
	fs.IntVar(&o.rounds, "rounds", 2, "mesh/bypass pairs per concurrency level in the concurrency phase")
	fs.IntVar(&o.seedConc, "seed-concurrency", 4, "concurrency of the seed growth phase")
	fs.IntVar(&o.replicas, "user-replicas", 3, "user replicas of the replicas phase (0: skip it)")
	fs.IntVar(&o.replicasConc, "replicas-concurrency", 16, "concurrency of the replicas phase")
	fs.DurationVar(&o.poll, "poll", 2*time.Second, "how often the kubelet's resource metrics are read during a run")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Minute, "bound on the whole invocation")
	fs.BoolVar(&o.keep, "keep", false, "leave the releases and the fortio pod installed")
	fs.StringVar(&o.fortioImage, "fortio-image", "", "fortio image (default fortio/fortio:<FORTIO_VERSION of versions.mk>)")
	fs.StringVar(&o.pullPolicy, "pull-policy", "IfNotPresent", "pull policy of the fortio pod")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	o.values = values
	var err error
	if o.concurrency, err = ints(*conc); err == nil {
		o.seedScales, err = ints(*seeds)
	}
	if err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	if err := bench(ctx, o, logf); err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 1
	}
	return 0
}

type bencher struct {
	o       options
	k       *kube.Client
	logf    func(string, ...any)
	fortio  *corev1.Pod
	targets map[string]string // mode -> ingress URL
	results *report.Results
	capture map[string]bool // what was captured already
}

func bench(ctx context.Context, o options, logf func(string, ...any)) (err error) {
	root, err := repo.Root()
	if err != nil {
		return err
	}
	pins, err := repo.ReadPins(root)
	if err != nil {
		return err
	}
	envoyVersion, err := pins.Get("ENVOY_VERSION")
	if err != nil {
		return err
	}
	fortioVersion, err := pins.Get("FORTIO_VERSION")
	if err != nil {
		return err
	}
	if o.fortioImage == "" {
		o.fortioImage = "fortio/fortio:" + strings.TrimPrefix(fortioVersion, "v")
	}
	k, err := kube.Connect()
	if err != nil {
		return err
	}
	k.Log = logf
	b := &bencher{o: o, k: k, logf: logf, targets: map[string]string{}, capture: map[string]bool{}}
	b.results = &report.Results{Started: time.Now().UTC(), Settings: report.Settings{
		Duration: o.duration, Concurrency: o.concurrency, Rounds: o.rounds,
		SeedScales: o.seedScales, SeedConcurrency: o.seedConc,
		UserReplicas: o.replicas, ReplicasConcurrency: o.replicasConc,
		Values: append(append([]string(nil), o.values...), "jaeger.enabled=false", "prometheus.enabled=false"),
	}}
	b.results.Machine = hostMachine()
	b.results.Machine.EnvoyVersion = envoyVersion
	b.results.Machine.FortioVersion = strings.TrimPrefix(fortioVersion, "v")
	if o.capture != "" {
		if err := os.MkdirAll(o.capture, 0o755); err != nil {
			return err
		}
	}

	if !o.keep {
		defer func() {
			cctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
			defer cancel()
			logf("deleting namespaces %s, %s, %s", nsMesh, nsBypass, nsLoad)
			if derr := k.DeleteNamespaces(cctx, nsMesh, nsBypass, nsLoad); derr != nil && err == nil {
				err = derr
			}
		}()
	}

	// Both releases, then the load generator.
	if err := b.install(ctx, 1, 1); err != nil {
		return err
	}
	logf("starting the fortio pod (%s)", o.fortioImage)
	if b.fortio, err = k.StartFortio(ctx, nsLoad, o.fortioImage, corev1.PullPolicy(o.pullPolicy)); err != nil {
		return err
	}
	if err := b.nodeInfo(ctx); err != nil {
		return err
	}
	for _, mode := range []string{report.Mesh, report.Bypass} {
		ip, err := k.ServiceIP(ctx, namespace(mode), release+"-ingress")
		if err != nil {
			return err
		}
		b.targets[mode] = fmt.Sprintf("http://%s:%d/", ip, ingressPort)
	}
	if err := b.warm(ctx); err != nil {
		return err
	}

	// Phase 1: concurrency, alternating mesh and bypass.
	for round := 1; round <= o.rounds; round++ {
		for _, conc := range o.concurrency {
			for _, mode := range order(round) {
				if err := b.measure(ctx, report.PhaseConcurrency, mode, round, conc, 1, 1); err != nil {
					return err
				}
			}
		}
	}
	b.save()

	// Phase 2: seed data. Scale 1 at the phase's concurrency is measured
	// again, so that the growth compares runs made alike.
	for i, scale := range o.seedScales {
		if scale != 1 {
			if err := b.install(ctx, scale, 1); err != nil {
				return err
			}
			if err := b.warm(ctx); err != nil {
				return err
			}
		}
		for _, mode := range order(i + 1) {
			if err := b.measure(ctx, report.PhaseSeed, mode, 1, o.seedConc, scale, 1); err != nil {
				return err
			}
		}
		b.save()
	}

	// Phase 3: user replicas.
	if o.replicas > 1 {
		if err := b.install(ctx, 1, o.replicas); err != nil {
			return err
		}
		// Let every caller's Envoy resolve and health-check the new pods.
		time.Sleep(12 * time.Second)
		if err := b.warm(ctx); err != nil {
			return err
		}
		for _, mode := range order(1) {
			if err := b.measure(ctx, report.PhaseReplicas, mode, 1, o.replicasConc, 1, o.replicas); err != nil {
				return err
			}
		}
	}
	b.results.Finished = time.Now().UTC()
	b.save()
	if err := report.Write(o.out, b.results); err != nil {
		return err
	}
	logf("wrote %s", filepath.Join(o.out, report.ReportFile))
	return nil
}

// order alternates which mode goes first.
func order(round int) []string {
	if round%2 == 1 {
		return []string{report.Mesh, report.Bypass}
	}
	return []string{report.Bypass, report.Mesh}
}

func namespace(mode string) string {
	if mode == report.Mesh {
		return nsMesh
	}
	return nsBypass
}

func (b *bencher) save() {
	if err := os.MkdirAll(b.o.out, 0o755); err != nil {
		b.logf("saving results: %v", err)
		return
	}
	if err := b.results.Save(filepath.Join(b.o.out, report.ResultsFile)); err != nil {
		b.logf("saving results: %v", err)
	}
}

// install installs or upgrades both releases with the seed scale and user
// replicas given.
func (b *bencher) install(ctx context.Context, seed, userReplicas int) error {
	set := []string{"jaeger.enabled=false", "prometheus.enabled=false", fmt.Sprintf("services.user.replicas=%d", userReplicas)}
	for _, s := range []string{"user", "order", "item"} {
		set = append(set, fmt.Sprintf("services.%s.seedScale=%d", s, seed))
	}
	for _, mode := range []string{report.Mesh, report.Bypass} {
		s := set
		if mode == report.Bypass {
			s = append(append([]string(nil), set...), "sidecars.enabled=false")
		}
		if err := b.k.Install(ctx, release, namespace(mode), b.o.values, s); err != nil {
			return err
		}
	}
	return nil
}

// warm sends unrecorded load to both releases: connections, caches and
// Envoy's DNS and health checks settle before anything is measured.
func (b *bencher) warm(ctx context.Context) error {
	if b.o.warmup <= 0 {
		return nil
	}
	for _, mode := range []string{report.Mesh, report.Bypass} {
		if _, _, err := b.load(ctx, mode, 4, b.o.warmup); err != nil {
			return fmt.Errorf("warm-up of %s: %w", mode, err)
		}
	}
	return nil
}

// load runs fortio against a release's ingress and returns its JSON.
func (b *bencher) load(ctx context.Context, mode string, conc int, d time.Duration) (*fortio.Result, []byte, error) {
	q := url.Values{}
	q.Set("url", b.targets[mode])
	q.Set("c", strconv.Itoa(conc))
	q.Set("t", d.String())
	q.Set("qps", "-1")
	q.Set("r", "0.0001")
	q.Set("p", "50,90,99")
	q.Set("timeout", "10s")
	rctx, cancel := context.WithTimeout(ctx, d+50*time.Second)
	defer cancel()
	raw, err := b.k.PodGet(rctx, nsLoad, b.fortio.Name, kube.FortioPort, "fortio/rest/run", q)
	if err != nil {
		return nil, nil, fmt.Errorf("fortio run: %w", err)
	}
	res, err := fortio.Parse(bytes.NewReader(raw))
	return res, raw, err
}

// podsOf lists the ready pods of a release and the fortio pod.
func (b *bencher) podsOf(ctx context.Context, mode string) ([]corev1.Pod, error) {
	pods, err := b.k.ReadyPods(ctx, namespace(mode), "")
	if err != nil {
		return nil, err
	}
	return append(pods, *b.fortio), nil
}

// appCalls scrapes every app pod's gRPC counters.
func (b *bencher) appCalls(ctx context.Context, pods []corev1.Pod, captureAs string) (map[string]promtext.GRPCCalls, error) {
	out := map[string]promtext.GRPCCalls{}
	for _, p := range pods {
		switch kube.Component(p) {
		case "frontend", "user", "order", "item":
		default:
			continue
		}
		raw, err := b.k.PodGet(ctx, p.Namespace, p.Name, appsPort, "metrics", nil)
		if err != nil {
			return nil, fmt.Errorf("%s/%s metrics: %w", p.Namespace, p.Name, err)
		}
		b.keep(captureAs+"-"+kube.Component(p)+".txt", raw)
		calls, err := promtext.App(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("%s/%s metrics: %w", p.Namespace, p.Name, err)
		}
		out[p.Name] = calls
	}
	return out, nil
}

// keep writes a raw capture once, when --capture is set.
func (b *bencher) keep(name string, data []byte) {
	if b.o.capture == "" || b.capture[name] {
		return
	}
	b.capture[name] = true
	if err := os.WriteFile(filepath.Join(b.o.capture, name), data, 0o644); err != nil {
		b.logf("capture %s: %v", name, err)
	}
}

// poller reads the kubelet's resource metrics of the nodes until stopped.
func (b *bencher) poller(ctx context.Context, nodes []string, rec *usage.Recorder, captureAs string) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var mu sync.Mutex
	scrape := func() {
		for _, n := range nodes {
			raw, err := b.k.KubeletResource(ctx, n)
			if err != nil {
				if ctx.Err() == nil {
					b.logf("kubelet metrics of %s: %v", n, err)
				}
				continue
			}
			b.keep(captureAs, raw)
			stats, err := promtext.Kubelet(bytes.NewReader(raw))
			if err != nil {
				b.logf("kubelet metrics of %s: %v", n, err)
				continue
			}
			mu.Lock()
			rec.Add(stats)
			mu.Unlock()
		}
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(b.o.poll)
		defer t.Stop()
		for {
			scrape()
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() {
		cancel()
		wg.Wait()
		// One more, after the run: the last collection inside it may only
		// now be visible.
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		for _, n := range nodes {
			if raw, err := b.k.KubeletResource(sctx, n); err == nil {
				if stats, err := promtext.Kubelet(bytes.NewReader(raw)); err == nil {
					rec.Add(stats)
				}
			}
		}
	}
}

// measure makes one recorded run.
func (b *bencher) measure(ctx context.Context, phase, mode string, round, conc, seed, userReplicas int) error {
	pods, err := b.podsOf(ctx, mode)
	if err != nil {
		return err
	}
	nodes := map[string]bool{}
	for _, p := range pods {
		nodes[p.Spec.NodeName] = true
	}
	var nodeList []string
	for n := range nodes {
		nodeList = append(nodeList, n)
	}
	captureAs := fmt.Sprintf("%s-c%d", mode, conc)
	before, err := b.appCalls(ctx, pods, "app-metrics-before-"+captureAs)
	if err != nil {
		return err
	}
	rec := usage.NewRecorder()
	stopPoll := b.poller(ctx, nodeList, rec, "kubelet-resource-"+captureAs+".txt")
	res, raw, err := b.load(ctx, mode, conc, b.o.duration)
	stopPoll()
	if err != nil {
		return fmt.Errorf("%s c=%d: %w", mode, conc, err)
	}
	b.keep("fortio-"+captureAs+".json", raw)
	after, err := b.appCalls(ctx, pods, "app-metrics-after-"+captureAs)
	if err != nil {
		return err
	}
	sum, err := res.Summarize()
	if err != nil {
		return err
	}
	run := report.Run{Phase: phase, Mode: mode, Round: round, SeedScale: seed, UserReplicas: userReplicas, Started: res.StartTime,
		Fortio: sum, RetCodes: res.RetCodes, Served: map[string]float64{}, Made: map[string]float64{}}
	secs := time.Duration(res.ActualDuration).Seconds()
	delta := map[string]promtext.GRPCCalls{}
	frontends := 0
	for _, p := range pods {
		comp := kube.Component(p)
		if comp == "frontend" {
			frontends++
		}
		a, ok := after[p.Name]
		if !ok {
			continue
		}
		d := a.Sub(before[p.Name])
		delta[p.Name] = d
		run.Served[comp] += d.TotalServed()
		run.Made[comp] += d.TotalMade()
		if comp == "user" {
			run.UserPods = append(run.UserPods, d.TotalServed())
		}
	}
	// The load window in the node's clock (fortio runs on a node).
	from := res.StartTime.Add(500 * time.Millisecond)
	to := res.StartTime.Add(time.Duration(res.ActualDuration))
	for _, p := range pods {
		comp := kube.Component(p)
		for _, ct := range p.Spec.InitContainers {
			if ct.RestartPolicy != nil && *ct.RestartPolicy == corev1.ContainerRestartPolicyAlways {
				b.addContainer(&run, rec, p, comp, ct.Name, from, to, delta, secs, frontends)
			}
		}
		for _, ct := range p.Spec.Containers {
			b.addContainer(&run, rec, p, comp, ct.Name, from, to, delta, secs, frontends)
		}
	}
	b.results.Runs = append(b.results.Runs, run)
	b.logf("%-11s %-6s c=%-2d seed=%-3d user=%d: %6.0f req/s  p50 %6.2f  p90 %6.2f  p99 %6.2f ms  errors %d  rpc/req %.2f",
		phase, mode, conc, seed, userReplicas, sum.RPS, sum.P50, sum.P90, sum.P99, sum.Errors, (run.Served["user"]+run.Served["order"]+run.Served["item"])/float64(max(sum.Requests, 1)))
	return nil
}

func (b *bencher) addContainer(run *report.Run, rec *usage.Recorder, p corev1.Pod, comp, name string, from, to time.Time,
	delta map[string]promtext.GRPCCalls, secs float64, frontends int) {
	u, ok := rec.Usage(promtext.ContainerKey{Namespace: p.Namespace, Pod: p.Name, Container: name}, from, to)
	if !ok {
		b.logf("no kubelet figures for %s/%s %s", p.Namespace, p.Name, name)
	}
	c := report.Container{Component: comp, Pod: p.Name, Name: name, Cores: u.Cores, Window: u.Window.Seconds(), WorkingSetMB: u.MaxWorkingSet / 1e6}
	if name == "envoy" && secs > 0 {
		switch comp {
		case "ingress":
			c.ProxiedRPS = run.Fortio.RPS
		case "frontend":
			c.ProxiedRPS = run.Fortio.RPS/float64(max(frontends, 1)) + delta[p.Name].TotalMade()/secs
		default:
			d := delta[p.Name]
			c.ProxiedRPS = (d.TotalServed() + d.TotalMade()) / secs
		}
	}
	run.Containers = append(run.Containers, c)
}

// nodeInfo records the node the releases run on.
func (b *bencher) nodeInfo(ctx context.Context) error {
	n, err := b.k.Node(ctx, b.fortio.Spec.NodeName)
	if err != nil {
		return err
	}
	m := &b.results.Machine
	m.NodeName = n.Name
	m.NodeCPUs = n.Status.Capacity.Cpu().String()
	m.NodeMemory = n.Status.Capacity.Memory().String()
	m.NodeKernel = n.Status.NodeInfo.KernelVersion
	m.NodeOS = n.Status.NodeInfo.OSImage
	m.KubeletVersion = n.Status.NodeInfo.KubeletVersion
	m.ContainerRuntime = n.Status.NodeInfo.ContainerRuntimeVersion
	return nil
}

// hostMachine describes the machine bench runs on, from /proc.
func hostMachine() report.Machine {
	m := report.Machine{HostCPUs: runtime.NumCPU()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.HostCPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
				kb, _ := strconv.ParseFloat(f[1], 64)
				m.HostMemoryGB = kb / (1 << 20)
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.HostKernel = strings.TrimSpace(string(b))
	}
	return m
}
