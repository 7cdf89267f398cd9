package report

import (
	"math"
	"sort"
)

// Kinds of container, in the order the tables show them.
var Kinds = []string{"app", "sidecar-envoy", "statsd-exporter", "ingress", "fortio"}

// Apps are the four services, in the order of the request path.
var Apps = []string{"frontend", "user", "order", "item"}

// PathSidecars is how many sidecar Envoys the longest path of GET /
// crosses, one after the other: the frontend's inbound listener, then the
// frontend's egress and order's inbound (frontend -> order), then order's
// egress and item's inbound (order -> item). The call to user runs
// alongside the call to order (services/frontend), so it adds Envoys but
// not to the longest path. The ingress Envoy is in both modes.
const PathSidecars = 5

// Reference figures: Istio's performance pages (Istio 1.12 to 1.16, a
// mesh of 1000 services and 2000 sidecars, 70,000 requests per second in
// all): each Envoy uses about 0.35 vCPU and 40 MB per 1000 requests per
// second through it, and a request that crosses a client and a server
// sidecar takes about 2.65 ms longer at p90.
const (
	IstioVCPUPer1000 = 0.35
	IstioMemoryMB    = 40
	IstioAddedP90Ms  = 2.65
)

// Point is the median over the rounds of one mode at one setting.
type Point struct {
	Mode                             string
	Concurrency, SeedScale, Replicas int
	Runs                             int
	RPS, P50, P90, P99, MeanMs       float64
	Requests, Errors                 int64
	ResponseKB                       float64
	// RPCsPerRequest: gRPC calls served per request, in all; RPCsByApp by
	// the app that served them.
	RPCsPerRequest float64
	RPCsByApp      map[string]float64
	// Cores and CoresPer1000 (per 1000 requests per second through the
	// ingress) by container kind; NaN where the kubelet gave no window.
	Cores        map[string]float64
	CoresPer1000 map[string]float64
	// MemoryMB is the working set of each kind, summed over its containers.
	MemoryMB map[string]float64
	// SidecarCoresPer1000 are the service pods' sidecars (Envoys and
	// statsd_exporters, the ingress left out) per 1000 requests/s into the
	// ingress, and SidecarMemoryPerPodMB their working set per pod: what
	// the metrics switch changes. NaN without sidecars.
	SidecarCoresPer1000   float64
	SidecarMemoryPerPodMB float64
	// UserPodShares: the share of user's calls each user pod served,
	// largest first (from the run with the median rps).
	UserPodShares []float64
}

// Points groups the runs of a phase by mode and setting and takes the
// medians, ordered by seed scale, replicas, concurrency, then mode as
// ModeTable lists them.
func Points(r *Results, phase string) []Point {
	type key struct {
		mode       string
		c, s, reps int
	}
	groups := map[key][]Run{}
	var keys []key
	for _, run := range r.selectRuns(func(run Run) bool { return run.Phase == phase }) {
		k := key{run.Mode, run.Fortio.Concurrency, run.SeedScale, run.UserReplicas}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], run)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.s != b.s {
			return a.s < b.s
		}
		if a.reps != b.reps {
			return a.reps < b.reps
		}
		if a.c != b.c {
			return a.c < b.c
		}
		return modeRank(a.mode) < modeRank(b.mode)
	})
	var out []Point
	for _, k := range keys {
		out = append(out, point(k.mode, groups[k]))
	}
	return out
}

func point(mode string, runs []Run) Point {
	p := Point{Mode: mode, Concurrency: runs[0].Fortio.Concurrency, SeedScale: runs[0].SeedScale, Replicas: runs[0].UserReplicas,
		Runs: len(runs), RPCsByApp: map[string]float64{}, Cores: map[string]float64{}, CoresPer1000: map[string]float64{}, MemoryMB: map[string]float64{}}
	col := func(f func(Run) float64) float64 {
		var xs []float64
		for _, r := range runs {
			if v := f(r); !math.IsNaN(v) {
				xs = append(xs, v)
			}
		}
		if len(xs) == 0 {
			return math.NaN()
		}
		return median(xs)
	}
	p.RPS = col(func(r Run) float64 { return r.Fortio.RPS })
	p.P50 = col(func(r Run) float64 { return r.Fortio.P50 })
	p.P90 = col(func(r Run) float64 { return r.Fortio.P90 })
	p.P99 = col(func(r Run) float64 { return r.Fortio.P99 })
	p.MeanMs = col(func(r Run) float64 { return r.Fortio.MeanMs })
	p.ResponseKB = col(func(r Run) float64 { return r.Fortio.ResponseBytes / 1024 })
	for _, r := range runs {
		p.Requests += r.Fortio.Requests
		p.Errors += r.Fortio.Errors
	}
	p.RPCsPerRequest = col(func(r Run) float64 { return perRequest(r, "") })
	for _, app := range []string{"user", "order", "item"} {
		p.RPCsByApp[app] = col(func(r Run) float64 { return perRequest(r, app) })
	}
	for _, kind := range Kinds {
		p.Cores[kind] = col(func(r Run) float64 { return kindCores(r, kind) })
		p.CoresPer1000[kind] = col(func(r Run) float64 { return kindCores(r, kind) / (r.Fortio.RPS / 1000) })
		p.MemoryMB[kind] = col(func(r Run) float64 { return kindMemory(r, kind) })
	}
	p.SidecarCoresPer1000 = col(func(r Run) float64 { return sidecarCores(r) / (r.Fortio.RPS / 1000) })
	p.SidecarMemoryPerPodMB = col(sidecarMemoryPerPod)
	// The user pods' shares, from the run with the median rps.
	byRPS := append([]Run(nil), runs...)
	sort.Slice(byRPS, func(i, j int) bool { return byRPS[i].Fortio.RPS < byRPS[j].Fortio.RPS })
	mid := byRPS[len(byRPS)/2]
	var total float64
	for _, v := range mid.UserPods {
		total += v
	}
	if total > 0 {
		for _, v := range mid.UserPods {
			p.UserPodShares = append(p.UserPodShares, v/total)
		}
		sort.Sort(sort.Reverse(sort.Float64Slice(p.UserPodShares)))
	}
	return p
}

// perRequest is the calls app served per request (all apps when app is "").
func perRequest(r Run, app string) float64 {
	if r.Fortio.Requests == 0 {
		return math.NaN()
	}
	var n float64
	for a, v := range r.Served {
		if app == "" || a == app {
			n += v
		}
	}
	return n / float64(r.Fortio.Requests)
}

// kindCores sums the cores of a kind; NaN if one of them has no window
// or the run has none of that kind.
func kindCores(r Run, kind string) float64 {
	var total float64
	n := 0
	for _, c := range r.Containers {
		if c.Kind() != kind {
			continue
		}
		if c.Window == 0 {
			return math.NaN()
		}
		total += c.Cores
		n++
	}
	if n == 0 {
		return math.NaN()
	}
	return total
}

// isSidecar: a container injected beside a service's app.
func isSidecar(c Container) bool {
	return c.Kind() == "sidecar-envoy" || c.Kind() == "statsd-exporter"
}

// sidecarCores sums the sidecars' cores: NaN if one has no window or the
// run has no sidecar Envoy.
func sidecarCores(r Run) float64 {
	total, envoys := 0.0, 0
	for _, c := range r.Containers {
		if !isSidecar(c) {
			continue
		}
		if c.Window == 0 {
			return math.NaN()
		}
		total += c.Cores
		if c.Kind() == "sidecar-envoy" {
			envoys++
		}
	}
	if envoys == 0 {
		return math.NaN()
	}
	return total
}

// sidecarMemoryPerPod is the sidecars' working set over the pods that
// have a sidecar Envoy.
func sidecarMemoryPerPod(r Run) float64 {
	total := 0.0
	pods := map[string]bool{}
	for _, c := range r.Containers {
		if isSidecar(c) {
			total += c.WorkingSetMB
		}
		if c.Kind() == "sidecar-envoy" {
			pods[c.Pod] = true
		}
	}
	if len(pods) == 0 {
		return math.NaN()
	}
	return total / float64(len(pods))
}

func kindMemory(r Run, kind string) float64 {
	var total float64
	n := 0
	for _, c := range r.Containers {
		if c.Kind() == kind {
			total += c.WorkingSetMB
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return total
}

// Overhead is what one mode adds to another at one setting (With minus
// Without), in all and per hop of the longest path.
type Overhead struct {
	Concurrency            int
	With, Without          Point
	D50, D90, D99          float64 // ms
	RPSLoss                float64 // fraction of Without's rps lost
	HopP50, HopP90, HopP99 float64 // ms per hop
}

// PathMTLSHops is how many hops between Envoys the longest path of GET /
// crosses with mTLS (issue 11): ingress -> frontend, frontend -> order,
// order -> item. Client -> ingress and Envoy <-> app stay plain.
const PathMTLSHops = 3

// Overheads pairs the mesh and bypass points of the concurrency phase:
// what the sidecars add, per sidecar on the longest path.
func Overheads(r *Results) []Overhead {
	return Compare(Points(r, PhaseConcurrency), Mesh, Bypass, PathSidecars)
}

// MTLSCosts: what mTLS adds (mesh minus mesh-plaintext) at each
// concurrency, per hop with TLS on the longest path.
func MTLSCosts(r *Results) []Overhead {
	return Compare(Points(r, PhaseConcurrency), Mesh, MeshPlaintext, PathMTLSHops)
}

// Compare pairs the points of modes with and without that share a
// concurrency, seed scale and replicas, in the order of pts, and divides
// the latency added over hops.
func Compare(pts []Point, with, without string, hops int) []Overhead {
	type setting struct{ c, s, reps int }
	at := func(p Point) setting { return setting{p.Concurrency, p.SeedScale, p.Replicas} }
	others := map[setting]Point{}
	for _, p := range pts {
		if p.Mode == without {
			others[at(p)] = p
		}
	}
	var out []Overhead
	for _, w := range pts {
		b, ok := others[at(w)]
		if w.Mode != with || !ok {
			continue
		}
		o := Overhead{Concurrency: w.Concurrency, With: w, Without: b, D50: w.P50 - b.P50, D90: w.P90 - b.P90, D99: w.P99 - b.P99}
		if b.RPS > 0 {
			o.RPSLoss = 1 - w.RPS/b.RPS
		}
		h := float64(hops)
		o.HopP50, o.HopP90, o.HopP99 = o.D50/h, o.D90/h, o.D99/h
		out = append(out, o)
	}
	return out
}

// MetricsSaving is what metrics.mode=prometheus saves against the statsd
// mode at one concurrency: statsd minus prometheus, so positive is saved.
type MetricsSaving struct {
	Concurrency        int
	Statsd, Prometheus Point
	// CPU: the sidecars' cores per 1000 requests/s into the ingress.
	CPU float64
	// MemoryPerPodMB: the sidecars' working set per service pod.
	MemoryPerPodMB float64
	// P50PerSidecar, P90PerSidecar: latency saved per sidecar Envoy on
	// the longest path, ms.
	P50PerSidecar, P90PerSidecar float64
}

// MetricsSavings compares mesh (statsd) with mesh-prometheus at each
// concurrency of the concurrency phase.
func MetricsSavings(r *Results) []MetricsSaving {
	var out []MetricsSaving
	for _, o := range Compare(Points(r, PhaseConcurrency), Mesh, MeshPrometheus, PathSidecars) {
		s, p := o.With, o.Without
		out = append(out, MetricsSaving{Concurrency: o.Concurrency, Statsd: s, Prometheus: p,
			CPU:            s.SidecarCoresPer1000 - p.SidecarCoresPer1000,
			MemoryPerPodMB: s.SidecarMemoryPerPodMB - p.SidecarMemoryPerPodMB,
			P50PerSidecar:  o.HopP50, P90PerSidecar: o.HopP90})
	}
	return out
}

// ItemCompare sets the PHP item against the Go one at one seed scale, in
// the mesh.
type ItemCompare struct {
	SeedScale int
	Go, PHP   Point
	// RPSChange is PHP's requests/s over Go's, minus 1; D90 PHP's p90
	// minus Go's, ms.
	RPSChange, D90 float64
}

// LegacyItem compares mesh-php with mesh at each scale of the seed phase.
func LegacyItem(r *Results) []ItemCompare {
	var out []ItemCompare
	for _, o := range Compare(Points(r, PhaseSeed), MeshPHP, Mesh, 1) {
		out = append(out, ItemCompare{SeedScale: o.With.SeedScale, Go: o.Without, PHP: o.With, RPSChange: -o.RPSLoss, D90: o.D90})
	}
	return out
}

// EnvoyCost is one Envoy's cost in the mesh at one concurrency (medians
// over the rounds).
type EnvoyCost struct {
	Component   string // frontend, user, order, item (sidecars) or ingress
	ProxiedRPS  float64
	Cores       float64
	VCPUPer1000 float64 // cores per 1000 requests per second through it
	MemoryMB    float64
}

// EnvoyCosts gives each Envoy's cost in mode at concurrency c of the
// concurrency phase, and the sidecars' total (Component "sidecars": cores
// and proxied rps summed, memory the mean per sidecar).
func EnvoyCosts(r *Results, mode string, c int) []EnvoyCost {
	runs := r.selectRuns(func(run Run) bool {
		return run.Phase == PhaseConcurrency && run.Mode == mode && run.Fortio.Concurrency == c
	})
	per := map[string][][3]float64{} // component -> per run: rps, cores, memory
	for _, run := range runs {
		sums := map[string]*[3]float64{}
		valid := map[string]bool{}
		for _, ct := range run.Containers {
			if ct.Name != "envoy" {
				continue
			}
			s := sums[ct.Component]
			if s == nil {
				s = &[3]float64{}
				sums[ct.Component] = s
				valid[ct.Component] = true
			}
			s[0] += ct.ProxiedRPS
			s[1] += ct.Cores
			s[2] = math.Max(s[2], ct.WorkingSetMB)
			valid[ct.Component] = valid[ct.Component] && ct.Window > 0
		}
		for comp, s := range sums {
			if valid[comp] {
				per[comp] = append(per[comp], *s)
			}
		}
	}
	var out []EnvoyCost
	var total EnvoyCost
	total.Component = "sidecars"
	nSidecars := 0
	for _, comp := range append(append([]string(nil), Apps...), "ingress") {
		rows := per[comp]
		if len(rows) == 0 {
			continue
		}
		var rps, cores, mem []float64
		for _, x := range rows {
			rps, cores, mem = append(rps, x[0]), append(cores, x[1]), append(mem, x[2])
		}
		e := EnvoyCost{Component: comp, ProxiedRPS: median(rps), Cores: median(cores), MemoryMB: median(mem)}
		if e.ProxiedRPS > 0 {
			e.VCPUPer1000 = e.Cores / (e.ProxiedRPS / 1000)
		}
		out = append(out, e)
		if comp != "ingress" {
			total.ProxiedRPS += e.ProxiedRPS
			total.Cores += e.Cores
			total.MemoryMB += e.MemoryMB
			nSidecars++
		}
	}
	if nSidecars > 0 {
		total.MemoryMB /= float64(nSidecars)
		if total.ProxiedRPS > 0 {
			total.VCPUPer1000 = total.Cores / (total.ProxiedRPS / 1000)
		}
		out = append(out, total)
	}
	return out
}
