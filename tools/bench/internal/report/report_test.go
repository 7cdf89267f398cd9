package report

import (
	"bytes"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/envoy-example/envoy-example/internal/fortio"
)

// synthetic builds the runs of a small bench: two rounds at concurrency 1
// and 4, a seed phase and a replicas phase. The mesh is 1 ms slower at
// every percentile, its sidecars use 0.1 core each.
func synthetic() *Results {
	r := &Results{Started: time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC), Finished: time.Date(2026, 11, 26, 14, 12, 0, 0, time.UTC),
		Machine:  Machine{HostCPU: "Test CPU", HostCPUs: 2, HostMemoryGB: 24, EnvoyVersion: "1.40.0", FortioVersion: "1.68.2", NodeCPUs: "2"},
		Settings: Settings{Duration: 20 * time.Second, Concurrency: []int{1, 4}, Rounds: 2, SeedScales: []int{1, 10}, SeedConcurrency: 4, UserReplicas: 3, ReplicasConcurrency: 4}}
	add := func(phase, mode string, round, c, seed, reps int, rps, p50 float64) {
		extra := 0.0
		if mode == Mesh {
			extra = 1
		}
		req := int64(rps * 20)
		run := Run{Phase: phase, Mode: mode, Round: round, SeedScale: seed, UserReplicas: reps,
			Fortio: fortio.Summary{Concurrency: c, Requests: req, RPS: rps, P50: p50 + extra, P90: 2*p50 + extra, P99: 3*p50 + extra, MeanMs: p50, ResponseBytes: 2048 * float64(seed)},
			Served: map[string]float64{"user": float64(req), "order": float64(req), "item": float64(req)},
			Made:   map[string]float64{"frontend": 2 * float64(req), "order": float64(req)}}
		for i := 0; i < reps; i++ {
			run.UserPods = append(run.UserPods, float64(req)/float64(reps))
		}
		for _, app := range Apps {
			run.Containers = append(run.Containers, Container{Component: app, Pod: app + "-1", Name: app, Cores: 0.2, Window: 10, WorkingSetMB: 10})
			if mode == Mesh {
				proxied := map[string]float64{"frontend": 3, "user": 1, "order": 2, "item": 1}[app] * rps
				run.Containers = append(run.Containers,
					Container{Component: app, Pod: app + "-1", Name: "envoy", Cores: 0.1, Window: 10, WorkingSetMB: 20, ProxiedRPS: proxied},
					Container{Component: app, Pod: app + "-1", Name: "statsd-exporter", Cores: 0.01, Window: 10, WorkingSetMB: 8})
			}
		}
		run.Containers = append(run.Containers,
			Container{Component: "ingress", Pod: "ingress-1", Name: "envoy", Cores: 0.05, Window: 10, WorkingSetMB: 18, ProxiedRPS: rps},
			Container{Component: "fortio", Pod: "fortio", Name: "fortio", Cores: 0.3, Window: 0, WorkingSetMB: 12})
		r.Runs = append(r.Runs, run)
	}
	for round := 1; round <= 2; round++ {
		for _, c := range []int{1, 4} {
			add(PhaseConcurrency, Mesh, round, c, 1, 1, 500*float64(c)-float64(round), 2*float64(c))
			add(PhaseConcurrency, Bypass, round, c, 1, 1, 600*float64(c)+float64(round), 2*float64(c))
		}
	}
	for _, s := range []int{1, 10} {
		add(PhaseSeed, Mesh, 1, 4, s, 1, 1000/float64(s), 4*float64(s))
		add(PhaseSeed, Bypass, 1, 4, s, 1, 1100/float64(s), 4*float64(s))
	}
	add(PhaseReplicas, Mesh, 1, 4, 1, 3, 2000, 8)
	add(PhaseReplicas, Bypass, 1, 4, 1, 3, 2400, 8)
	return r
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

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

func TestWriteReportAndPlots(t *testing.T) {
	dir := t.TempDir()
	r := synthetic()
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
		"![latency against concurrency, mesh and bypass](latency.png)",
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
