package report

import (
	"bytes"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/envoy-example/envoy-example/internal/fortio"
)

// Latency each mode adds to the bypass, ms, at every percentile of the
// synthetic runs.
var syntheticExtra = map[string]float64{Mesh: 1, MeshPrometheus: 0.5, MeshPlaintext: 0.7, MeshPHP: 3}

// addRun adds a synthetic run: every app 0.2 core; with sidecars each
// Envoy 0.1 core (0.08 in mesh-prometheus) and 20 MB, each
// statsd_exporter (not in mesh-prometheus) 0.01 core and 8 MB; in
// mesh-php a php-fpm container beside item.
func addRun(r *Results, phase, mode string, round, c, seed, reps int, rps, p50 float64) {
	extra := syntheticExtra[mode]
	req := int64(rps * 20)
	run := Run{Phase: phase, Mode: mode, Round: round, SeedScale: seed, UserReplicas: reps,
		Fortio: fortio.Summary{Concurrency: c, Requests: req, RPS: rps, P50: p50 + extra, P90: 2*p50 + extra, P99: 3*p50 + extra, MeanMs: p50, ResponseBytes: 2048 * float64(seed)},
		Served: map[string]float64{"user": float64(req), "order": float64(req), "item": float64(req)},
		Made:   map[string]float64{"frontend": 2 * float64(req), "order": float64(req)}}
	for i := 0; i < reps; i++ {
		run.UserPods = append(run.UserPods, float64(req)/float64(reps))
	}
	envoyCores := 0.1
	if mode == MeshPrometheus {
		envoyCores = 0.08
	}
	for _, app := range Apps {
		run.Containers = append(run.Containers, Container{Component: app, Pod: app + "-1", Name: app, Cores: 0.2, Window: 10, WorkingSetMB: 10})
		if mode == MeshPHP && app == "item" {
			run.Containers = append(run.Containers, Container{Component: app, Pod: app + "-1", Name: "php-fpm", Cores: 0.3, Window: 10, WorkingSetMB: 30})
		}
		if mode == Bypass {
			continue
		}
		proxied := map[string]float64{"frontend": 3, "user": 1, "order": 2, "item": 1}[app] * rps
		run.Containers = append(run.Containers,
			Container{Component: app, Pod: app + "-1", Name: "envoy", Cores: envoyCores, Window: 10, WorkingSetMB: 20, ProxiedRPS: proxied})
		if mode != MeshPrometheus {
			run.Containers = append(run.Containers, Container{Component: app, Pod: app + "-1", Name: "statsd-exporter", Cores: 0.01, Window: 10, WorkingSetMB: 8})
		}
	}
	run.Containers = append(run.Containers,
		Container{Component: "ingress", Pod: "ingress-1", Name: "envoy", Cores: 0.05, Window: 10, WorkingSetMB: 18, ProxiedRPS: rps},
		Container{Component: "fortio", Pod: "fortio", Name: "fortio", Cores: 0.3, Window: 0, WorkingSetMB: 12})
	r.Runs = append(r.Runs, run)
}

// synthetic builds the runs of a small bench of two modes, as before the
// mode table: two rounds at concurrency 1 and 4, a seed phase and a
// replicas phase. The mesh is 1 ms slower at every percentile, its
// sidecars use 0.1 core each.
func synthetic() *Results {
	r := &Results{Started: time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC), Finished: time.Date(2026, 11, 26, 14, 12, 0, 0, time.UTC),
		Machine:  Machine{HostCPU: "Test CPU", HostCPUs: 2, HostMemoryGB: 24, EnvoyVersion: "1.40.0", FortioVersion: "1.68.2", NodeCPUs: "2"},
		Settings: Settings{Duration: 20 * time.Second, Concurrency: []int{1, 4}, Rounds: 2, SeedScales: []int{1, 10}, SeedConcurrency: 4, UserReplicas: 3, ReplicasConcurrency: 4}}
	for round := 1; round <= 2; round++ {
		for _, c := range []int{1, 4} {
			addRun(r, PhaseConcurrency, Mesh, round, c, 1, 1, 500*float64(c)-float64(round), 2*float64(c))
			addRun(r, PhaseConcurrency, Bypass, round, c, 1, 1, 600*float64(c)+float64(round), 2*float64(c))
		}
	}
	for _, s := range []int{1, 10} {
		addRun(r, PhaseSeed, Mesh, 1, 4, s, 1, 1000/float64(s), 4*float64(s))
		addRun(r, PhaseSeed, Bypass, 1, 4, s, 1, 1100/float64(s), 4*float64(s))
	}
	addRun(r, PhaseReplicas, Mesh, 1, 4, 1, 3, 2000, 8)
	addRun(r, PhaseReplicas, Bypass, 1, 4, 1, 3, 2400, 8)
	return r
}

// syntheticModes adds the other modes to synthetic, as the mode table
// records them: mesh-prometheus (0.5 ms less than the mesh, 20 rps more
// per connection, Envoys at 0.08 core, no statsd_exporter) and
// mesh-plaintext (0.3 ms less than the mesh) in the concurrency phase, and
// mesh-php (2 ms more than the mesh, 80% of its rps) in the seed phase.
func syntheticModes() *Results {
	r := synthetic()
	for round := 1; round <= 2; round++ {
		for _, c := range []int{1, 4} {
			addRun(r, PhaseConcurrency, MeshPrometheus, round, c, 1, 1, 520*float64(c)-float64(round), 2*float64(c))
			addRun(r, PhaseConcurrency, MeshPlaintext, round, c, 1, 1, 510*float64(c)-float64(round), 2*float64(c))
		}
	}
	for _, s := range []int{1, 10} {
		addRun(r, PhaseSeed, MeshPHP, 1, 4, s, 1, 800/float64(s), 4*float64(s))
	}
	r.Settings.Releases = []Release{
		{Mode: Mesh, Namespace: "bench-mesh", ValuesFile: ModeValues(Mesh), Phases: []string{PhaseConcurrency, PhaseSeed, PhaseReplicas}},
		{Mode: MeshPrometheus, Namespace: "bench-mesh-prometheus", ValuesFile: ModeValues(MeshPrometheus), Phases: []string{PhaseConcurrency}},
		{Mode: MeshPlaintext, Namespace: "bench-mesh-plaintext", ValuesFile: ModeValues(MeshPlaintext), Phases: []string{PhaseConcurrency}},
		{Mode: MeshPHP, Namespace: "bench-mesh-php", ValuesFile: ModeValues(MeshPHP), Phases: []string{PhaseSeed}},
		{Mode: Bypass, Namespace: "bench-bypass", ValuesFile: ModeValues(Bypass), Phases: []string{PhaseConcurrency, PhaseSeed, PhaseReplicas}},
	}
	return r
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// roughly: for per-1000 figures, whose median over runs of rps 519 and
// 518 is not exactly the figure at 518.5.
func roughly(a, b float64) bool { return math.Abs(a-b) < 1e-4 }

func TestPoints(t *testing.T) {
	pts := Points(synthetic(), PhaseConcurrency)
	if len(pts) != 4 || pts[0].Mode != Mesh || pts[0].Concurrency != 1 || pts[1].Mode != Bypass || pts[3].Concurrency != 4 {
		t.Fatalf("points %+v", pts)
	}
	m := pts[0]
	// Median of 499 and 498; 2 runs.
	if m.Runs != 2 || !near(m.RPS, 498.5) || !near(m.P50, 3) || !near(m.P90, 5) || !near(m.P99, 7) {
		t.Errorf("mesh c=1 %+v", m)
	}
	if !near(m.RPCsPerRequest, 3) || !near(m.RPCsByApp["item"], 1) {
		t.Errorf("rpcs %v %v", m.RPCsPerRequest, m.RPCsByApp)
	}
	// Four sidecars at 0.1 core at 498.5 rps.
	if !near(m.Cores["sidecar-envoy"], 0.4) || math.Abs(m.CoresPer1000["sidecar-envoy"]-0.4/0.4985) > 1e-3 {
		t.Errorf("cores %v per 1000 %v", m.Cores, m.CoresPer1000)
	}
	if !math.IsNaN(m.Cores["fortio"]) {
		t.Errorf("fortio had no window, yet cores %v", m.Cores["fortio"])
	}
	if !math.IsNaN(pts[1].Cores["sidecar-envoy"]) || pts[1].MemoryMB["app"] != 40 {
		t.Errorf("bypass %+v", pts[1])
	}
	rep := Points(synthetic(), PhaseReplicas)
	if len(rep) != 2 || len(rep[0].UserPodShares) != 3 || !near(rep[0].UserPodShares[0], 1.0/3) {
		t.Errorf("replicas %+v", rep)
	}
}

func TestOverheads(t *testing.T) {
	o := Overheads(synthetic())
	if len(o) != 2 {
		t.Fatalf("%+v", o)
	}
	if !near(o[0].D50, 1) || !near(o[0].D90, 1) || !near(o[0].HopP90, 1.0/PathSidecars) {
		t.Errorf("%+v", o[0])
	}
	if !near(o[0].RPSLoss, 1-498.5/601.5) {
		t.Errorf("loss %v", o[0].RPSLoss)
	}
}

func TestEnvoyCosts(t *testing.T) {
	costs := EnvoyCosts(synthetic(), Mesh, 4)
	if len(costs) != 6 {
		t.Fatalf("%+v", costs)
	}
	byName := map[string]EnvoyCost{}
	for _, c := range costs {
		byName[c.Component] = c
	}
	rps := 1998.5 // median of 1999 and 1998
	if f := byName["frontend"]; !near(f.ProxiedRPS, 3*rps) || !near(f.VCPUPer1000, 0.1/(3*rps/1000)) {
		t.Errorf("frontend %+v", f)
	}
	all := byName["sidecars"]
	if !near(all.Cores, 0.4) || !near(all.ProxiedRPS, 7*rps) || !near(all.MemoryMB, 20) {
		t.Errorf("sidecars %+v", all)
	}
	if in := byName["ingress"]; !near(in.ProxiedRPS, rps) {
		t.Errorf("ingress %+v", in)
	}
}

// Points of every mode, in ModeTable's order; mesh-prometheus without
// statsd_exporters, mesh-php's php-fpm among the apps.
func TestPointsOfModes(t *testing.T) {
	var modes []string
	for _, pt := range Points(syntheticModes(), PhaseConcurrency) {
		if pt.Concurrency == 1 {
			modes = append(modes, pt.Mode)
		}
	}
	if !slices.Equal(modes, []string{Mesh, MeshPrometheus, MeshPlaintext, Bypass}) {
		t.Errorf("modes at concurrency 1: %v", modes)
	}
	seed := Points(syntheticModes(), PhaseSeed)
	if len(seed) != 6 || seed[1].Mode != MeshPHP || !near(seed[1].Cores["app"], 1.1) || seed[1].MemoryMB["app"] != 70 {
		t.Errorf("seed %+v", seed[1])
	}
	prom := Points(syntheticModes(), PhaseConcurrency)[1]
	if !math.IsNaN(prom.CoresPer1000["statsd-exporter"]) || !roughly(prom.SidecarCoresPer1000, 0.32/0.5185) || !near(prom.SidecarMemoryPerPodMB, 20) {
		t.Errorf("mesh-prometheus %+v", prom)
	}
}

func TestMetricsSavings(t *testing.T) {
	s := MetricsSavings(syntheticModes())
	if len(s) != 2 || s[0].Concurrency != 1 || s[1].Concurrency != 4 {
		t.Fatalf("%+v", s)
	}
	// Four Envoys and four statsd_exporters at 498.5 rps against four
	// Envoys at 0.08 at 518.5 rps.
	if !roughly(s[0].CPU, 0.44/0.4985-0.32/0.5185) || !near(s[0].MemoryPerPodMB, 8) {
		t.Errorf("c=1: %+v", s[0])
	}
	if !near(s[0].P50PerSidecar, 0.5/PathSidecars) || !near(s[1].P90PerSidecar, 0.5/PathSidecars) {
		t.Errorf("latency per sidecar %v %v", s[0].P50PerSidecar, s[1].P90PerSidecar)
	}
	if len(MetricsSavings(synthetic())) != 0 {
		t.Error("savings without mesh-prometheus")
	}
}

func TestLegacyItem(t *testing.T) {
	items := LegacyItem(syntheticModes())
	if len(items) != 2 || items[0].SeedScale != 1 || items[1].SeedScale != 10 {
		t.Fatalf("%+v", items)
	}
	if !near(items[0].RPSChange, -0.2) || !near(items[0].D90, 2) || !near(items[1].PHP.RPS, 80) || !near(items[1].Go.RPS, 100) {
		t.Errorf("%+v", items)
	}
}

func TestMTLSCosts(t *testing.T) {
	costs := MTLSCosts(syntheticModes())
	if len(costs) != 2 {
		t.Fatalf("%+v", costs)
	}
	if !near(costs[0].D90, 0.3) || !near(costs[0].HopP90, 0.3/PathMTLSHops) || costs[0].Without.Mode != MeshPlaintext {
		t.Errorf("%+v", costs[0])
	}
	if len(MTLSCosts(synthetic())) != 0 {
		t.Error("mTLS cost without mesh-plaintext")
	}
}

// inShortItem is the bullet of "In short" that starts with head, with
// its sub-bullets.
func inShortItem(t *testing.T, r *Results, head string) string {
	t.Helper()
	var md bytes.Buffer
	if err := Markdown(&md, r); err != nil {
		t.Fatal(err)
	}
	_, short, _ := strings.Cut(md.String(), "## In short\n")
	short, _, _ = strings.Cut(short, "\n\n")
	_, item, ok := strings.Cut(short, "- **"+head)
	if !ok {
		t.Fatalf("no %q in In short:\n%s", head, short)
	}
	if i := strings.Index(item, "\n- "); i >= 0 {
		item = item[:i]
	}
	return item
}

// Each new figure of "In short" comes from the runs: it says what the
// synthetic runs give, and changing one input of it changes it.
func TestInShortFromRuns(t *testing.T) {
	scale := func(phase, mode string, f func(*Run)) func(*Results) {
		return func(r *Results) {
			for i := range r.Runs {
				if r.Runs[i].Phase == phase && r.Runs[i].Mode == mode {
					f(&r.Runs[i])
				}
			}
		}
	}
	envoys := func(f func(*Container)) func(*Run) {
		return func(run *Run) {
			for i := range run.Containers {
				if run.Containers[i].Name == "envoy" && run.Containers[i].Component != "ingress" {
					f(&run.Containers[i])
				}
			}
		}
	}
	for _, tc := range []struct {
		name, head, want string
		change           func(*Results)
		changed          string
	}{
		{"metrics CPU", "The metrics switch.", "Concurrency 1: CPU 0.88 → 0.62 (0.27 saved, 30%)",
			scale(PhaseConcurrency, MeshPrometheus, envoys(func(c *Container) { c.Cores = 0.05 })), "Concurrency 1: CPU 0.88 → 0.39 (0.50 saved, 56%)"},
		{"metrics memory", "The metrics switch.", "memory 28.0 → 20.0 MB per pod (8.0 MB saved)",
			scale(PhaseConcurrency, MeshPrometheus, envoys(func(c *Container) { c.WorkingSetMB = 16 })), "memory 28.0 → 16.0 MB per pod (12.0 MB saved)"},
		{"metrics latency", "The metrics switch.", "latency saved per sidecar +0.100 ms at p50 and +0.100 ms at p90",
			scale(PhaseConcurrency, MeshPrometheus, func(run *Run) { run.Fortio.P90 -= 1 }), "latency saved per sidecar +0.100 ms at p50 and +0.300 ms at p90"},
		{"legacy rps", "The legacy item.", "Seed 1×: 800 requests/s against 1000 (-20%), p90 11.00 ms against 9.00 (+2.00 ms)",
			scale(PhaseSeed, MeshPHP, func(run *Run) { run.Fortio.RPS /= 2 }), "Seed 1×: 400 requests/s against 1000 (-60%)"},
		{"legacy p90", "The legacy item.", "Seed 10×: 80 requests/s against 100 (-20%), p90 83.00 ms against 81.00 (+2.00 ms)",
			scale(PhaseSeed, MeshPHP, func(run *Run) { run.Fortio.P90 += 5 }), "p90 88.00 ms against 81.00 (+7.00 ms)"},
		{"mTLS", "mTLS.", "Concurrency 1: +0.100 ms at p50 and +0.100 ms at p90 per hop (4.70 → 5.00 ms at p90",
			scale(PhaseConcurrency, MeshPlaintext, func(run *Run) { run.Fortio.P90 -= 0.3 }), "Concurrency 1: +0.100 ms at p50 and +0.200 ms at p90 per hop (4.40 → 5.00 ms at p90"},
	} {
		r := syntheticModes()
		before := inShortItem(t, r, tc.head)
		if !strings.Contains(before, tc.want) {
			t.Errorf("%s: lacks %q:\n%s", tc.name, tc.want, before)
		}
		tc.change(r)
		after := inShortItem(t, r, tc.head)
		if after == before || !strings.Contains(after, tc.changed) {
			t.Errorf("%s: after the change, lacks %q:\n%s", tc.name, tc.changed, after)
		}
	}
}

// A report of two modes has none of the new figures.
func TestInShortWithoutModes(t *testing.T) {
	var md bytes.Buffer
	if err := Markdown(&md, synthetic()); err != nil {
		t.Fatal(err)
	}
	for _, head := range []string{"The metrics switch", "The legacy item", "mTLS.", "Added by mTLS", "What the metrics switch saves"} {
		if strings.Contains(md.String(), head) {
			t.Errorf("report of mesh and bypass has %q", head)
		}
	}
}

func TestWriteReportAndPlots(t *testing.T) {
	dir := t.TempDir()
	r := syntheticModes()
	if err := r.Save(filepath.Join(dir, ResultsFile)); err != nil {
		t.Fatal(err)
	}
	back, err := Load(filepath.Join(dir, ResultsFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := Write(dir, back); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(dir, ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Test CPU (2 CPUs), 24 GiB of memory",
		"| 1 | mesh | 498 | 3.00 | 5.00 | 7.00 |",
		"| 1 | +1.00 | +1.00 | +1.00 |",
		"next to Istio's reference of 2.65 ms at p90",
		"| *Istio reference, per Envoy* | 1000 | | 0.35 | 40 |",
		"| 10× | mesh | 20.0 |",
		"| 3 | bypass | 2400 |",
		"33% / 33% / 33%",
		"![latency against concurrency, by mode](latency.png)",
		"5 releases of the chart at once",
		"`mesh-php` (namespace `bench-mesh-php`; `-f charts/envoy-example/ci/mesh-php-values.yaml`)",
		"| 1 | mesh-prometheus | 518 | 2.50 | 4.50 | 6.50 |",
		"| 1 | mesh-prometheus | 518 | 1.543 | 0.617 | n/a |",
		"| 4 | mesh-plaintext |",
		"| 1× | mesh-php | 2.0 | 800 |",
		"| 1 | +0.30 | +0.30 | +0.30 | 2% | +0.100 | +0.100 | +0.100 |",
		"| 1 | 0.883 | 0.617 | 0.265 | 28.0 | 20.0 | 8.0 | +0.100 | +0.100 |",
		"| mesh-prometheus | **all sidecars** (memory: mean per sidecar) |",
		"mutual TLS in `mesh`",
	} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("report:\n%s", md)
	}
	for _, name := range []string{LatencyPNG, ThroughputPNG, SeedPNG, CPUPNG} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if w := img.Bounds().Dx(); w < 300 {
			t.Errorf("%s: %d px wide", name, w)
		}
	}
}

// The results of a real make bench on the local cluster (2 CPUs): the
// figures the committed report states come out of them.
func TestRealResults(t *testing.T) {
	r, err := Load("../../testdata/results.json")
	if err != nil {
		t.Fatal(err)
	}
	o := Overheads(r)
	if len(o) != 3 || o[0].Concurrency != 1 || o[2].Concurrency != 16 {
		t.Fatalf("overheads %+v", o)
	}
	// One request at a time: 2.12 ms added at p50, 2.68 at p90.
	if math.Abs(o[0].D50-2.12) > 0.01 || math.Abs(o[0].D90-2.68) > 0.01 {
		t.Errorf("c=1: +%.2f ms p50, +%.2f ms p90", o[0].D50, o[0].D90)
	}
	for _, x := range o {
		if x.D50 <= 0 || x.RPSLoss <= 0 {
			t.Errorf("c=%d: the mesh is not slower: %+v", x.Concurrency, x)
		}
	}
	costs := EnvoyCosts(r, Mesh, 16)
	all := costs[len(costs)-1]
	if all.Component != "sidecars" || math.Abs(all.VCPUPer1000-0.199) > 0.001 || math.Abs(all.MemoryMB-17.4) > 0.1 {
		t.Errorf("sidecars %+v", all)
	}
	for _, pt := range Points(r, PhaseConcurrency) {
		if pt.Runs != 2 || math.Abs(pt.RPCsPerRequest-3) > 0.01 || pt.Errors != 0 {
			t.Errorf("%s c=%d: %d runs, %.3f RPCs per request, %d errors", pt.Mode, pt.Concurrency, pt.Runs, pt.RPCsPerRequest, pt.Errors)
		}
	}
	rep := Points(r, PhaseReplicas)
	if len(rep) != 2 || len(rep[0].UserPodShares) != 3 || rep[1].UserPodShares[0] != 1 {
		t.Errorf("replicas: mesh shares %v, bypass shares %v", rep[0].UserPodShares, rep[1].UserPodShares)
	}
	var md bytes.Buffer
	if err := Markdown(&md, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"AMD EPYC (2 CPUs)", "| 16 | +18.17 | +26.26 | +39.49 | 56% |", "13 × 504"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

// When mTLS's added p90 changes sign between concurrency levels, the
// report says the difference is below the noise, and only then.
func TestMTLSNoiseSentence(t *testing.T) {
	const noise = "changes sign from one concurrency to another"
	r := syntheticModes()
	if item := inShortItem(t, r, "mTLS."); strings.Contains(item, noise) {
		t.Fatalf("every level slower with mTLS, yet the noise sentence:\n%s", item)
	}
	// Plaintext slower than mTLS at one level only.
	for i := range r.Runs {
		run := &r.Runs[i]
		if run.Phase == PhaseConcurrency && run.Mode == MeshPlaintext && run.Fortio.Concurrency == r.Settings.Concurrency[0] {
			run.Fortio.P90 += 10
		}
	}
	if item := inShortItem(t, r, "mTLS."); !strings.Contains(item, noise) {
		t.Fatalf("signs differ between levels, yet no noise sentence:\n%s", item)
	}
}

// Results from before the modes were values files name each release's
// --set values ("Set"): they still load, and the report shows them.
func TestResultsWithSetStillLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, ResultsFile)
	r := syntheticModes()
	for i := range r.Settings.Releases {
		rel := &r.Settings.Releases[i]
		rel.ValuesFile = ""
		if rel.Mode == MeshPHP {
			rel.Set = []string{"services.item.implementation=php"}
		}
	}
	if err := r.Save(path); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"Set": [`) || strings.Contains(string(data), `"ValuesFile"`) {
		t.Fatalf("old-style results.json:\n%s", data)
	}
	back, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := Write(dir, back); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(dir, ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	if want := "`mesh-php` (namespace `bench-mesh-php`; `services.item.implementation=php`)"; !strings.Contains(string(md), want) {
		t.Errorf("report lacks %q", want)
	}
}
