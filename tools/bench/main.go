// Command bench measures what the mesh costs (`make bench`): it installs
// the chart on the cluster KUBECONFIG names once per mode of
// report.ModeTable that a phase measures, each release in its own
// namespace with its mode's values file, the chart's
// ci/<mode>-values.yaml (the mesh as is, mesh-prometheus, mesh-plaintext,
// mesh-php, bypass with sidecars.enabled=false), runs a fortio pod
// against each release's ingress Service in turn, at several concurrency
// levels, with more seed data and with more user replicas,
// reads the kubelet's resource metrics and the apps' gRPC counters around
// every run, and writes a markdown report with PNG plots.
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
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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

// The release is named "bench" in every mode's namespace (namespace);
// the load generator runs in nsLoad.
const (
	release     = "bench"
	nsLoad      = "bench-load"
	appsPort    = 9091 // the apps' /metrics (DESIGN.md)
	ingressPort = 8080
)

type options struct {
	out         string
	capture     string
	values      []string
	duration    time.Duration
	warmup      time.Duration
	concurrency []int
	rounds      int
	// modes are the modes each phase measures, in the order given.
	modes        map[string][]string
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

// parseModes reads a list of modes of report.ModeTable.
func parseModes(s string) ([]string, error) {
	var out []string
	for _, f := range strings.Split(s, ",") {
		name := strings.TrimSpace(f)
		if _, ok := report.Spec(name); !ok {
			var known []string
			for _, m := range report.ModeTable {
				known = append(known, m.Name)
			}
			return nil, fmt.Errorf("mode %q in %q: want some of %s", name, s, strings.Join(known, ", "))
		}
		if slices.Contains(out, name) {
			return nil, fmt.Errorf("mode %q twice in %q", name, s)
		}
		out = append(out, name)
	}
	return out, nil
}

// phaseModes reads the --modes flags of the three phases.
func phaseModes(conc, seed, replicas string) (map[string][]string, error) {
	out := map[string][]string{}
	for phase, list := range map[string]string{report.PhaseConcurrency: conc, report.PhaseSeed: seed, report.PhaseReplicas: replicas} {
		modes, err := parseModes(list)
		if err != nil {
			return nil, err
		}
		out[phase] = modes
	}
	return out, nil
}

// phases in the order bench runs them.
var phases = []string{report.PhaseConcurrency, report.PhaseSeed, report.PhaseReplicas}

// releases are the releases to install: one per mode that some phase
// measures, in ModeTable's order. A release idles in the phases that do
// not measure it.
func releases(modes map[string][]string) []report.Release {
	var out []report.Release
	for _, spec := range report.ModeTable {
		rel := report.Release{Mode: spec.Name, Namespace: namespace(spec.Name), ValuesFile: spec.ValuesFile}
		for _, phase := range phases {
			if slices.Contains(modes[phase], spec.Name) {
				rel.Phases = append(rel.Phases, phase)
			}
		}
		if len(rel.Phases) > 0 {
			out = append(out, rel)
		}
	}
	return out
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
	concModes := fs.String("modes", "mesh,mesh-plaintext,mesh-prometheus,bypass",
		"modes of the concurrency phase")
	seedModes := fs.String("seed-modes", "mesh,mesh-php,bypass", "modes of the seed growth phase")
	replicasModes := fs.String("replicas-modes", "mesh,bypass", "modes of the replicas phase")
	fs.StringVar(&o.out, "out", "bench", "directory of the report, plots and results.json")
	fs.StringVar(&o.capture, "capture", "", "also write the raw fortio JSON, kubelet and app metrics of the first runs here (test data)")
	fs.Var(&values, "values", "values file for every release (repeatable), relative to the repository root, e.g. ci/values-offline.yaml")
	fs.DurationVar(&o.duration, "duration", 25*time.Second, "length of each load run")
	fs.DurationVar(&o.warmup, "warmup", 5*time.Second, "unrecorded load on each release after it changes")
	fs.IntVar(&o.rounds, "rounds", 2, "runs of each mode per concurrency level in the concurrency phase")
	fs.IntVar(&o.seedConc, "seed-concurrency", 4, "concurrency of the seed growth phase")
	fs.IntVar(&o.replicas, "user-replicas", 3, "user replicas of the replicas phase (0: skip it)")
	fs.IntVar(&o.replicasConc, "replicas-concurrency", 16, "concurrency of the replicas phase")
	fs.DurationVar(&o.poll, "poll", 2*time.Second, "how often the kubelet's resource metrics are read during a run")
	fs.DurationVar(&o.timeout, "timeout", 45*time.Minute, "bound on the whole invocation")
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
	if err == nil {
		o.modes, err = phaseModes(*concModes, *seedModes, *replicasModes)
	}
	if o.replicas <= 1 && o.modes != nil {
		o.modes[report.PhaseReplicas] = nil // no replicas phase: its modes need no release
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
	// releases are the releases installed, one per mode.
	releases []report.Release
	results  *report.Results
	capture  map[string]bool // what was captured already
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
	b := &bencher{o: o, k: k, logf: logf, targets: map[string]string{}, capture: map[string]bool{}, releases: releases(o.modes)}
	b.results = &report.Results{Started: time.Now().UTC(), Settings: report.Settings{
		Duration: o.duration, Concurrency: o.concurrency, Rounds: o.rounds,
		SeedScales: o.seedScales, SeedConcurrency: o.seedConc,
		UserReplicas: o.replicas, ReplicasConcurrency: o.replicasConc,
		Values:   append(append([]string(nil), o.values...), "jaeger.enabled=false", "prometheus.enabled=false"),
		Releases: b.releases,
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
			namespaces := []string{nsLoad}
			for _, rel := range b.releases {
				namespaces = append(namespaces, rel.Namespace)
			}
			logf("deleting namespaces %s", strings.Join(namespaces, ", "))
			if derr := k.DeleteNamespaces(cctx, namespaces...); derr != nil && err == nil {
				err = derr
			}
		}()
	}

	// Every release, then the load generator.
	all := b.modes()
	logf("%d releases: %s", len(all), strings.Join(all, ", "))
	if err := b.install(ctx, all, 1, 1); err != nil {
		return err
	}
	logf("starting the fortio pod (%s)", o.fortioImage)
	if b.fortio, err = k.StartFortio(ctx, nsLoad, o.fortioImage, corev1.PullPolicy(o.pullPolicy)); err != nil {
		return err
	}
	if err := b.nodeInfo(ctx); err != nil {
		return err
	}
	for _, mode := range all {
		ip, err := k.ServiceIP(ctx, namespace(mode), release+"-ingress")
		if err != nil {
			return err
		}
		b.targets[mode] = fmt.Sprintf("http://%s:%d/", ip, ingressPort)
	}
	if err := b.warm(ctx, all); err != nil {
		return err
	}
	if err := b.concurrencyPhase(ctx); err != nil {
		return err
	}
	if err := b.seedPhase(ctx); err != nil {
		return err
	}
	if err := b.replicasPhase(ctx); err != nil {
		return err
	}
	b.results.Finished = time.Now().UTC()
	b.save()
	if err := report.Write(o.out, b.results); err != nil {
		return err
	}
	logf("wrote %s", filepath.Join(o.out, report.ReportFile))
	return nil
}

// concurrencyPhase: every level, every round, the phase's modes in turn.
// The first mode rotates with the round and the level, so that at each
// level a different mode goes first in each round.
func (b *bencher) concurrencyPhase(ctx context.Context) error {
	modes := b.o.modes[report.PhaseConcurrency]
	for round := 1; round <= b.o.rounds; round++ {
		for level, conc := range b.o.concurrency {
			for _, mode := range order(modes, round-1+level) {
				if err := b.measure(ctx, report.PhaseConcurrency, mode, round, conc, 1, 1); err != nil {
					return err
				}
			}
		}
	}
	b.save()
	return nil
}

// seedPhase: the phase's modes at each seed scale. Scale 1 at the
// phase's concurrency is measured again, so that the growth compares runs
// made alike. Only the phase's releases get the larger seed.
func (b *bencher) seedPhase(ctx context.Context) error {
	modes := b.o.modes[report.PhaseSeed]
	for i, scale := range b.o.seedScales {
		if scale != 1 {
			if err := b.install(ctx, modes, scale, 1); err != nil {
				return err
			}
			if err := b.warm(ctx, modes); err != nil {
				return err
			}
		}
		for _, mode := range order(modes, i) {
			if err := b.measure(ctx, report.PhaseSeed, mode, 1, b.o.seedConc, scale, 1); err != nil {
				return err
			}
		}
		b.save()
	}
	return nil
}

// replicasPhase: the phase's modes with user at more replicas.
func (b *bencher) replicasPhase(ctx context.Context) error {
	modes := b.o.modes[report.PhaseReplicas]
	if len(modes) == 0 {
		return nil
	}
	if err := b.install(ctx, modes, 1, b.o.replicas); err != nil {
		return err
	}
	// Let every caller's Envoy resolve and health-check the new pods.
	time.Sleep(12 * time.Second)
	if err := b.warm(ctx, modes); err != nil {
		return err
	}
	for _, mode := range order(modes, 0) {
		if err := b.measure(ctx, report.PhaseReplicas, mode, 1, b.o.replicasConc, 1, b.o.replicas); err != nil {
			return err
		}
	}
	return nil
}

// order is modes rotated by turn: turn 0 as given, turn 1 starting with
// the second, and so on, so that over turns every mode goes first.
func order(modes []string, turn int) []string {
	out := make([]string, 0, len(modes))
	for i := range modes {
		out = append(out, modes[(turn+i)%len(modes)])
	}
	return out
}

// namespace is a mode's namespace (bench-mesh, bench-bypass, ...).
func namespace(mode string) string {
	return "bench-" + mode
}

// modes are the modes of the releases installed.
func (b *bencher) modes() []string {
	var out []string
	for _, rel := range b.releases {
		out = append(out, rel.Mode)
	}
	return out
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

// installFiles are the values files of a mode's release: the common ones
// (--values), then the mode's (ci/<mode>-values.yaml).
func installFiles(common []string, mode string) []string {
	files := append([]string(nil), common...)
	if spec, ok := report.Spec(mode); ok && spec.ValuesFile != "" {
		files = append(files, spec.ValuesFile)
	}
	return files
}

// installValues are the --set values of every release with the seed scale
// and user replicas given; they override the values files.
func installValues(seed, userReplicas int) []string {
	return []string{"jaeger.enabled=false", "prometheus.enabled=false",
		fmt.Sprintf("seedScale=%d", seed), fmt.Sprintf("services.user.replicas=%d", userReplicas)}
}

// install installs or upgrades the releases of modes with the seed scale
// and user replicas given.
func (b *bencher) install(ctx context.Context, modes []string, seed, userReplicas int) error {
	for _, mode := range modes {
		if err := b.k.Install(ctx, release, namespace(mode), installFiles(b.o.values, mode), installValues(seed, userReplicas)); err != nil {
			return err
		}
	}
	return nil
}

// warm sends unrecorded load to the releases of modes: connections,
// caches and Envoy's DNS and health checks settle before anything is
// measured.
func (b *bencher) warm(ctx context.Context, modes []string) error {
	if b.o.warmup <= 0 {
		return nil
	}
	for _, mode := range modes {
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
			return nil, fmt.Errorf("%s/%s metrics: %w (the pod now: %s)", p.Namespace, p.Name, err, b.podState(ctx, p))
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

// podState says what became of a pod whose metrics could not be read
// (gone, terminating, restarted), so that a failed run says why.
func (b *bencher) podState(ctx context.Context, p corev1.Pod) string {
	now, err := b.k.Clientset.CoreV1().Pods(p.Namespace).Get(ctx, p.Name, metav1.GetOptions{})
	if err != nil {
		return err.Error()
	}
	state := fmt.Sprintf("phase %s, ready %t", now.Status.Phase, kube.Ready(*now))
	if now.DeletionTimestamp != nil {
		state += ", terminating"
	}
	for _, c := range append(append([]corev1.ContainerStatus(nil), now.Status.InitContainerStatuses...), now.Status.ContainerStatuses...) {
		if c.RestartCount > 0 {
			state += fmt.Sprintf(", %s restarted %d times", c.Name, c.RestartCount)
			if t := c.LastTerminationState.Terminated; t != nil {
				state += fmt.Sprintf(" (last: %s, exit %d)", t.Reason, t.ExitCode)
			}
		}
	}
	return state
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
	if sum.Errors > 0 {
		b.logf("%s %s c=%d seed=%d: answers by code %v", phase, mode, conc, seed, res.RetCodes)
	}
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
