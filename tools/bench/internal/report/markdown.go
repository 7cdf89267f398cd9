package report

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Files the report writes beside REPORT.md.
const (
	ReportFile    = "REPORT.md"
	ResultsFile   = "results.json"
	LatencyPNG    = "latency.png"
	ThroughputPNG = "throughput.png"
	SeedPNG       = "seedscale.png"
	CPUPNG        = "cpu.png"
)

// Write writes REPORT.md and the plots into dir.
func Write(dir string, r *Results) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := Plots(dir, r); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, ReportFile))
	if err != nil {
		return err
	}
	if err := Markdown(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func num(v float64, digits int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "n/a"
	}
	return fmt.Sprintf("%.*f", digits, v)
}

func signed(v float64, digits int) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	return fmt.Sprintf("%+.*f", digits, v)
}

// signedPct: a change as a signed percentage.
func signedPct(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "n/a"
	}
	return fmt.Sprintf("%+.0f%%", v*100)
}

func pct(v float64) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	return fmt.Sprintf("%.0f%%", v*100)
}

// page builds the report's markdown.
type page struct {
	b strings.Builder
	r *Results
}

func (pg *page) p(format string, args ...any) { fmt.Fprintf(&pg.b, format, args...) }

// Markdown writes the report.
func Markdown(w io.Writer, r *Results) error {
	pg := &page{r: r}
	pg.header()
	pg.inShort()
	pg.howMeasured()
	pg.latency()
	pg.cpuAndMemory()
	pg.calls()
	pg.growth()
	pg.errors()
	pg.caveats()
	_, err := io.WriteString(w, pg.b.String())
	return err
}

func (pg *page) header() {
	p, r := pg.p, pg.r
	m := r.Machine
	p("# What the mesh costs\n\n")
	p("Measured by `make bench` (tools/bench) from %s to %s UTC. Every table and plot below comes from that one run; ",
		r.Started.UTC().Format("2006-01-02 15:04"), r.Finished.UTC().Format("15:04"))
	p("the raw figures are in [%s](%s), and `go run ./tools/bench report bench` remakes this page and its plots from them. `make bench` measures again (%.0f minutes of measuring here, plus the cluster and the images).\n\n",
		ResultsFile, ResultsFile, r.Finished.Sub(r.Started).Minutes())
	p("**Machine.** %s (%d CPUs), %.0f GiB of memory, Linux %s. Kubernetes %s (%s) on one node (%s CPUs) on the same machine: ",
		m.HostCPU, m.HostCPUs, m.HostMemoryGB, m.HostKernel, m.KubeletVersion, m.ContainerRuntime, m.NodeCPUs)
	p("the load generator, the %d releases and the cluster itself share those %d CPUs. Envoy %s, fortio %s.\n\n",
		len(r.Releases()), m.HostCPUs, m.EnvoyVersion, m.FortioVersion)
}

// inShort: the headline figures, each from the runs it needs; a figure
// whose modes were not measured is left out.
func (pg *page) inShort() {
	overheads := Overheads(pg.r)
	savings, items, mtls := MetricsSavings(pg.r), LegacyItem(pg.r), MTLSCosts(pg.r)
	if len(overheads)+len(savings)+len(items)+len(mtls) == 0 {
		return
	}
	pg.p("## In short\n\n")
	if len(overheads) > 0 {
		pg.meshCost(overheads)
	}
	if len(savings) > 0 {
		pg.metricsSwitch(savings)
	}
	if len(items) > 0 {
		pg.legacyItem(items)
	}
	if len(mtls) > 0 {
		pg.mtlsCost(mtls)
	}
	pg.p("\nIstio's figures (its performance pages, Istio 1.12 to 1.16) come from a mesh of 1000 services and 2000 sidecars carrying 70,000 requests/s, ")
	pg.p("the latency from HTTP/1.1 with 1 kB payloads at 1000 requests/s over 16 client connections, 2 proxy worker threads and mutual TLS; ")
	tls := "plain text"
	if len(mtls) > 0 {
		tls = "mutual TLS in `" + Mesh + "`"
	}
	pg.p("ours from four services on two CPUs shared with everything else, %s, Envoy with 2 worker threads. ", tls)
	pg.p("They are of the same kind, not the same experiment: read them as orders of magnitude.\n\n")
}

// meshCost: what the sidecars add, mesh against bypass.
func (pg *page) meshCost(overheads []Overhead) {
	p := pg.p
	hi, lo := overheads[len(overheads)-1], overheads[0]
	p("- **Latency.** With one request at a time the sidecars add %s ms at p50 and %s ms at p90 to `GET /` (%s → %s ms at p90); ",
		num(lo.D50, 2), num(lo.D90, 2), num(lo.Without.P90, 2), num(lo.With.P90, 2))
	p("that is %s ms at p90 per sidecar Envoy on the longest path (%d of them), %s ms per client-and-server pair of sidecars, ",
		num(lo.HopP90, 2), PathSidecars, num(2*lo.HopP90, 2))
	p("next to Istio's reference of %.2f ms at p90 for such a pair.", IstioAddedP90Ms)
	p(" At concurrency %d, where the two CPUs are saturated, the mesh adds %s ms at p90 (%s ms per sidecar).\n",
		hi.Concurrency, num(hi.D90, 1), num(hi.HopP90, 2))
	p("- **Throughput.** At concurrency %d the mesh serves %s requests/s against %s without sidecars (%s fewer): ",
		hi.Concurrency, num(hi.With.RPS, 0), num(hi.Without.RPS, 0), pct(hi.RPSLoss))
	p("on this machine every Envoy competes with the apps for the same two CPUs.\n")
	if costs := EnvoyCosts(pg.r, Mesh, hi.Concurrency); len(costs) > 0 {
		t := costs[len(costs)-1]
		p("- **Per Envoy.** The sidecar Envoys used %s vCPU per 1000 requests/s through them (Istio: %.2f) ",
			num(t.VCPUPer1000, 2), IstioVCPUPer1000)
		p("and %s MB of memory working set each (Istio: %d MB), at concurrency %d.\n", num(t.MemoryMB, 0), IstioMemoryMB, hi.Concurrency)
	}
	c := hi.With.CoresPer1000
	p("- **Whole-request CPU.** Per 1000 requests/s into the ingress, at concurrency %d, the mesh's sidecars take %s cores (Envoys %s, statsd_exporters %s) where the four apps take %s. ",
		hi.Concurrency, num(c["sidecar-envoy"]+c["statsd-exporter"], 2), num(c["sidecar-envoy"], 2), num(c["statsd-exporter"], 2), num(c["app"], 2))
	p("The statsd_exporters' share grows with the load because Envoy's statsd sink sends every request's timings (upstream_rq_time and the like) as statsd lines.\n")
}

// metricsSwitch: what metrics.mode=prometheus saves against statsd.
func (pg *page) metricsSwitch(savings []MetricsSaving) {
	pg.p("- **The metrics switch.** `metrics.mode=prometheus` (`%s`) against the default statsd (`%s`), for the service pods' sidecars (Envoys, and in statsd mode their statsd_exporters): ",
		MeshPrometheus, Mesh)
	pg.p("CPU in cores per 1000 requests/s into the ingress, memory working set per pod, and latency per sidecar Envoy on the longest path (statsd minus prometheus: positive is saved).\n")
	for _, s := range savings {
		pg.p("  - Concurrency %d: CPU %s → %s (%s saved, %s); memory %s → %s MB per pod (%s MB saved); latency saved per sidecar %s ms at p50 and %s ms at p90.\n",
			s.Concurrency, num(s.Statsd.SidecarCoresPer1000, 2), num(s.Prometheus.SidecarCoresPer1000, 2), num(s.CPU, 2),
			pct(s.CPU/s.Statsd.SidecarCoresPer1000), num(s.Statsd.SidecarMemoryPerPodMB, 1), num(s.Prometheus.SidecarMemoryPerPodMB, 1),
			num(s.MemoryPerPodMB, 1), signed(s.P50PerSidecar, 3), signed(s.P90PerSidecar, 3))
	}
}

// legacyItem: the PHP item against the Go one, by seed scale.
func (pg *page) legacyItem(items []ItemCompare) {
	pg.p("- **The legacy item.** `services.item.implementation=php` (`%s`: PHP-FPM behind the gRPC-to-FastCGI bridge) against the Go item (`%s`), at concurrency %d:\n",
		MeshPHP, Mesh, pg.r.Settings.SeedConcurrency)
	for _, it := range items {
		pg.p("  - Seed %d×: %s requests/s against %s (%s), p90 %s ms against %s (%s ms).\n",
			it.SeedScale, num(it.PHP.RPS, 0), num(it.Go.RPS, 0), signedPct(it.RPSChange), num(it.PHP.P90, 2), num(it.Go.P90, 2), signed(it.D90, 2))
	}
}

// mtlsCost: what mutual TLS adds per hop, mesh against mesh-plaintext.
func (pg *page) mtlsCost(costs []Overhead) {
	pg.p("- **mTLS.** The mesh (`%s`) against the same mesh without mTLS (`%s`), per hop with TLS on the longest path (%d: ingress → frontend, frontend → order, order → item), ",
		Mesh, MeshPlaintext, PathMTLSHops)
	pg.p("next to Istio's %.2f ms at p90 for a client-and-server pair of sidecars, mTLS included:\n", IstioAddedP90Ms)
	faster, slower := false, false
	for _, o := range costs {
		pg.p("  - Concurrency %d: %s ms at p50 and %s ms at p90 per hop (%s → %s ms at p90 for `GET /`); throughput with mTLS %s.\n",
			o.Concurrency, signed(o.HopP50, 3), signed(o.HopP90, 3), num(o.Without.P90, 2), num(o.With.P90, 2), signedPct(-o.RPSLoss))
		faster = faster || o.HopP90 < 0
		slower = slower || o.HopP90 > 0
	}
	if faster && slower {
		pg.p("  - The p90 difference changes sign from one concurrency to another: what mTLS adds per request is below what this machine's run-to-run noise lets the bench resolve. Envoy keeps its upstream connections open, so handshakes are rare; what is left is encrypting a few kB per request.\n")
	}
}

func (pg *page) howMeasured() {
	p, s, m := pg.p, pg.r.Settings, pg.r.Machine
	releases := pg.r.Releases()
	p("## How it was measured\n\n")
	p("- %d releases of the chart at once, each in its own namespace; a mode is a release with a few values set:\n", len(releases))
	for _, rel := range releases {
		what := "(a mode this report does not know)"
		if spec, ok := Spec(rel.Mode); ok {
			what = spec.What
		}
		set := "no values set"
		switch {
		case rel.ValuesFile != "":
			set = "`-f " + rel.ValuesFile + "`"
		case len(rel.Set) > 0: // results from before the modes were values files
			set = "`" + strings.Join(rel.Set, "`, `") + "`"
		}
		p("  - `%s` (namespace `%s`; %s) — %s. Measured in the %s.\n", rel.Mode, rel.Namespace, set, what, phaseList(rel.Phases))
	}
	p("\n  All keep the ingress Envoy, so mesh against bypass is the sidecars alone. Values in all: `%s`. ", strings.Join(s.Values, "`, `"))
	p("A release not measured in a phase stays installed and idle meanwhile (its Envoys' health checks only).\n")
	p("- A fortio %s pod (the `fortio/fortio` image the image builder makes) sends `GET /` to the ingress Service of one release at a time, ", m.FortioVersion)
	p("with a fixed number of connections (the concurrency) as fast as answers come (`qps=-1`), for %s per run. ", s.Duration)
	turns := "the first one rotating from round to round and level to level so that no mode always runs first"
	if len(s.Releases) == 0 { // results from before the mode table
		turns = "mesh first in odd rounds, bypass first in even ones"
	}
	p("Runs take turns between the releases (%s), %d rounds per concurrency level, and the tables give the median of the rounds.\n", turns, s.Rounds)
	p("- CPU and memory: the kubelet's resource metrics (`/metrics/resource` through the API server), polled during each run. ")
	p("CPU is the growth of `container_cpu_usage_seconds_total` between two collections by the kubelet that both fall inside the run, over the time between them; ")
	p("memory is the largest `container_memory_working_set_bytes` seen (the working set: the kubelet reports no RSS).\n")
	p("- Calls: each app's `grpc_server_handled_total` and `grpc_client_handled_total` (go-grpc-prometheus) before and after each run, Envoy's health checks (`grpc.health.v1.Health`) left out. ")
	p("An Envoy's requests per second are its app's inbound requests plus its outbound calls.\n")
	p("- Added latency per sidecar: mesh minus bypass, divided by the %d sidecar Envoys on the longest path of `GET /` (frontend inbound; frontend egress → order inbound; order egress → item inbound; the call to user runs alongside the call to order).\n\n", PathSidecars)
}

// phaseList: "the concurrency phase", "the concurrency, seed and replicas phases".
func phaseList(phases []string) string {
	switch len(phases) {
	case 0:
		return "no phase"
	case 1:
		return phases[0] + " phase"
	}
	return strings.Join(phases[:len(phases)-1], ", ") + " and " + phases[len(phases)-1] + " phases"
}

func (pg *page) latency() {
	p := pg.p
	conc := Points(pg.r, PhaseConcurrency)
	p("## Latency and throughput by concurrency\n\n")
	p("![latency against concurrency, by mode](%s)\n![throughput against concurrency](%s)\n\n", LatencyPNG, ThroughputPNG)
	p("| concurrency | mode | requests/s | p50 ms | p90 ms | p99 ms | mean ms | requests | errors |\n|---:|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, pt := range conc {
		p("| %d | %s | %s | %s | %s | %s | %s | %d | %d |\n", pt.Concurrency, pt.Mode, num(pt.RPS, 0), num(pt.P50, 2), num(pt.P90, 2), num(pt.P99, 2), num(pt.MeanMs, 2), pt.Requests, pt.Errors)
	}
	p("\n### Added by the mesh (mesh − bypass)\n\n")
	pg.overheadTable(Overheads(pg.r), "sidecar")
	p("\nAt concurrency 1 the difference is the Envoys' own work per request; with more connections than CPUs it is mostly waiting for a CPU, which the Envoys' extra work makes scarcer.\n\n")
	if mtls := MTLSCosts(pg.r); len(mtls) > 0 {
		p("### Added by mTLS (%s − %s)\n\n", Mesh, MeshPlaintext)
		pg.overheadTable(mtls, "hop")
		p("\nPer hop: divided by the %d hops with TLS on the longest path.\n\n", PathMTLSHops)
	}
}

// overheadTable: one row per concurrency, in all and per (sidecar or hop).
func (pg *page) overheadTable(overheads []Overhead, per string) {
	pg.p("| concurrency | p50 ms | p90 ms | p99 ms | throughput lost | per %[1]s p50 ms | per %[1]s p90 ms | per %[1]s p99 ms |\n|---:|---:|---:|---:|---:|---:|---:|---:|\n", per)
	for _, o := range overheads {
		pg.p("| %d | %s | %s | %s | %s | %s | %s | %s |\n", o.Concurrency, signed(o.D50, 2), signed(o.D90, 2), signed(o.D99, 2), pct(o.RPSLoss), signed(o.HopP50, 3), signed(o.HopP90, 3), signed(o.HopP99, 3))
	}
}

func (pg *page) cpuAndMemory() {
	p := pg.p
	conc := Points(pg.r, PhaseConcurrency)
	p("## CPU and memory\n\n")
	p("![CPU per 1000 requests/s by container kind](%s)\n\n", CPUPNG)
	p("Cores per 1000 requests/s into the ingress (each kind summed over its containers; no statsd_exporter in `%s` or `%s`):\n\n", MeshPrometheus, Bypass)
	p("| concurrency | mode | requests/s | apps | sidecar Envoys | sidecar statsd_exporters | ingress (Envoy + statsd_exporter) | fortio |\n|---:|---|---:|---:|---:|---:|---:|---:|\n")
	for _, pt := range conc {
		p("| %d | %s | %s | %s | %s | %s | %s | %s |\n", pt.Concurrency, pt.Mode, num(pt.RPS, 0),
			num(pt.CoresPer1000["app"], 3), num(pt.CoresPer1000["sidecar-envoy"], 3), num(pt.CoresPer1000["statsd-exporter"], 3),
			num(pt.CoresPer1000["ingress"], 3), num(pt.CoresPer1000["fortio"], 3))
	}
	p("\nMemory working set in MB (each kind summed over its containers):\n\n")
	p("| concurrency | mode | apps | sidecar Envoys | sidecar statsd_exporters | ingress (Envoy + statsd_exporter) | fortio |\n|---:|---|---:|---:|---:|---:|---:|\n")
	for _, pt := range conc {
		p("| %d | %s | %s | %s | %s | %s | %s |\n", pt.Concurrency, pt.Mode,
			num(pt.MemoryMB["app"], 1), num(pt.MemoryMB["sidecar-envoy"], 1), num(pt.MemoryMB["statsd-exporter"], 1),
			num(pt.MemoryMB["ingress"], 1), num(pt.MemoryMB["fortio"], 1))
	}
	if savings := MetricsSavings(pg.r); len(savings) > 0 {
		pg.savingsTable(savings)
	}
	if overheads := Overheads(pg.r); len(overheads) > 0 {
		for _, o := range []Overhead{overheads[0], overheads[len(overheads)-1]} {
			pg.envoyTable(o.Concurrency)
		}
	}
}

// savingsTable: the metrics switch at every concurrency.
func (pg *page) savingsTable(savings []MetricsSaving) {
	pg.p("\n### What the metrics switch saves (%s − %s)\n\n", Mesh, MeshPrometheus)
	pg.p("The service pods' sidecars (Envoys, and in statsd mode their statsd_exporters); latency per sidecar Envoy on the longest path.\n\n")
	pg.p("| concurrency | sidecar cores per 1000 requests/s, statsd | prometheus | saved | sidecar MB per pod, statsd | prometheus | saved | p50 ms per sidecar | p90 ms per sidecar |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, s := range savings {
		pg.p("| %d | %s | %s | %s | %s | %s | %s | %s | %s |\n", s.Concurrency,
			num(s.Statsd.SidecarCoresPer1000, 3), num(s.Prometheus.SidecarCoresPer1000, 3), num(s.CPU, 3),
			num(s.Statsd.SidecarMemoryPerPodMB, 1), num(s.Prometheus.SidecarMemoryPerPodMB, 1), num(s.MemoryPerPodMB, 1),
			signed(s.P50PerSidecar, 3), signed(s.P90PerSidecar, 3))
	}
}

// envoyTable: each Envoy's cost at concurrency c, in every mode with
// sidecars.
func (pg *page) envoyTable(c int) {
	pg.p("\n### Each Envoy at concurrency %d\n\n", c)
	pg.p("| mode | Envoy | requests/s through it | cores | vCPU per 1000 requests/s | working set MB |\n|---|---|---:|---:|---:|---:|\n")
	for _, mode := range pg.modes(PhaseConcurrency) {
		if mode == Bypass {
			continue
		}
		for _, e := range EnvoyCosts(pg.r, mode, c) {
			name := e.Component + " sidecar"
			switch e.Component {
			case "ingress":
				name = "ingress"
			case "sidecars":
				name = "**all sidecars** (memory: mean per sidecar)"
			}
			pg.p("| %s | %s | %s | %s | %s | %s |\n", mode, name, num(e.ProxiedRPS, 0), num(e.Cores, 3), num(e.VCPUPer1000, 3), num(e.MemoryMB, 1))
		}
	}
	pg.p("| | *Istio reference, per Envoy* | 1000 | | %.2f | %d |\n", IstioVCPUPer1000, IstioMemoryMB)
}

// modes lists the modes measured in a phase, in ModeTable's order.
func (pg *page) modes(phase string) []string {
	return pointModes(Points(pg.r, phase))
}

func (pg *page) calls() {
	p := pg.p
	p("\n## RPCs per request\n\n")
	p("| concurrency | mode | user | order | item | all |\n|---:|---|---:|---:|---:|---:|\n")
	for _, pt := range Points(pg.r, PhaseConcurrency) {
		p("| %d | %s | %s | %s | %s | %s |\n", pt.Concurrency, pt.Mode, num(pt.RPCsByApp["user"], 2), num(pt.RPCsByApp["order"], 2), num(pt.RPCsByApp["item"], 2), num(pt.RPCsPerRequest, 2))
	}
	p("\n`GET /` makes one ListUsers, one ListOrderDetails and, from order, one batch lookup of the items: 3 calls whatever the data size (the services fetch in batches), ")
	p("so in the mesh each request crosses 1 + 2 × 3 = 7 sidecar listeners.\n")
}

func (pg *page) growth() {
	p, s := pg.p, pg.r.Settings
	if pts := Points(pg.r, PhaseSeed); len(pts) > 0 {
		p("\n## Growth with the seed data\n\n")
		p("![p90 latency against seed scale](%s)\n\n", SeedPNG)
		p("Concurrency %d, user at 1 replica; `seedScale` multiplies the generated data of user, order and item.\n\n", s.SeedConcurrency)
		p("| seed scale | mode | response KB | requests/s | p50 ms | p90 ms | p99 ms | RPCs per request | errors |\n|---:|---|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, pt := range pts {
			p("| %d× | %s | %s | %s | %s | %s | %s | %s | %d |\n", pt.SeedScale, pt.Mode, num(pt.ResponseKB, 1), num(pt.RPS, 0), num(pt.P50, 2), num(pt.P90, 2), num(pt.P99, 2), num(pt.RPCsPerRequest, 2), pt.Errors)
		}
	}
	if pts := Points(pg.r, PhaseReplicas); len(pts) > 0 {
		p("\n## Growth with replicas\n\n")
		p("Concurrency %d, seed 1×. The 1-replica rows are the concurrency phase's.\n\n", s.ReplicasConcurrency)
		p("| user replicas | mode | requests/s | p50 ms | p90 ms | p99 ms | errors | share of user's calls per pod |\n|---:|---|---:|---:|---:|---:|---:|---|\n")
		var rows []Point
		for _, pt := range Points(pg.r, PhaseConcurrency) {
			if pt.Concurrency == s.ReplicasConcurrency {
				rows = append(rows, pt)
			}
		}
		for _, pt := range append(rows, pts...) {
			var shares []string
			for _, v := range pt.UserPodShares {
				shares = append(shares, pct(v))
			}
			p("| %d | %s | %s | %s | %s | %s | %d | %s |\n", pt.Replicas, pt.Mode, num(pt.RPS, 0), num(pt.P50, 2), num(pt.P90, 2), num(pt.P99, 2), pt.Errors, strings.Join(shares, " / "))
		}
		p("\nIn the mesh the frontend's Envoy balances its calls over all user pods (round robin, per request). ")
		p("Without it, gRPC's default pick_first sends every call of a frontend pod down one connection to one user pod, so extra user replicas take no load: ")
		p("the balancing is part of what the sidecars' cost buys. On this machine the two CPUs, not user, are the bottleneck, so more user replicas cannot add throughput in either mode; ")
		p("in the mesh they add health checks and connections to the frontend's Envoy.\n")
	}
}

func (pg *page) errors() {
	p, r := pg.p, pg.r
	var failed []string
	for _, run := range r.Runs {
		if run.Fortio.Errors == 0 {
			continue
		}
		var codes []string
		for code, n := range run.RetCodes {
			if code != "200" {
				codes = append(codes, fmt.Sprintf("%d × %s", n, code))
			}
		}
		sort.Strings(codes)
		failed = append(failed, fmt.Sprintf("%s %s at concurrency %d (seed %d×, user ×%d): %s",
			run.Phase, run.Mode, run.Fortio.Concurrency, run.SeedScale, run.UserReplicas, strings.Join(codes, ", ")))
	}
	if len(failed) > 0 {
		p("\n## Errors\n\n")
		p("Answers other than 200 (fortio's status codes; -1 is a connection error). A 504 is a timeout: the ingress Envoy (route timeout 5s, 2s per try) or the frontend (5s per request) gave up waiting.\n\n")
		for _, f := range failed {
			p("- %s\n", f)
		}
	}
}

func (pg *page) caveats() {
	p, m, s := pg.p, pg.r.Machine, pg.r.Settings
	p("\n## Caveats\n\n")
	p("- One small machine: the load generator, the %d releases, the kubelet and the API server share %d CPUs, so absolute figures are this machine's; the ratios between modes and the per-Envoy costs travel better.\n", len(pg.r.Releases()), m.HostCPUs)
	p("- Jaeger and Prometheus are off in every release (`jaeger.enabled=false`, `prometheus.enabled=false`): the figures are the data path, without tracing. ")
	p("With tracing on, each Envoy also reports a span per request. In `%s` nothing scrapes the Envoys' `/stats/prometheus` then, so the cost of serving a scrape (every 10 s by the chart's default, a few hundred series) is not in its figures; in statsd mode the statsd_exporters take every request's lines whether scraped or not.\n", MeshPrometheus)
	p("- CPU is averaged over the part of each run between two kubelet collections (the window, about %s or more of each %s run); runs where the kubelet collected fewer than twice during the load show n/a.\n", "10 s", s.Duration)
	p("- The bypass has no retries, health checks or per-request balancing: it is the cheapest possible wiring, not an equivalent one.\n")
}
