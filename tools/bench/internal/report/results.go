// Package report holds what one `make bench` measured (Results, saved as
// results.json beside the report), the figures derived from it, and the
// markdown report and PNG plots made from them.
package report

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sort"
	"time"

	"github.com/envoy-example/envoy-example/internal/fortio"
)

// Modes: each a release of the chart with its values file,
// charts/envoy-example/ci/<mode>-values.yaml (ModeValues), the same files
// the chart tests and the e2e install. Results from before the mode table
// (results.json of two releases) hold only Mesh and Bypass.
const (
	// Mesh: the chart's defaults (sidecars, statsd metrics, and mTLS once
	// the chart has it).
	Mesh = "mesh"
	// MeshPrometheus: Envoy's native /stats/prometheus, no statsd_exporter.
	MeshPrometheus = "mesh-prometheus"
	// MeshPlaintext: the mesh without mTLS between the sidecars.
	MeshPlaintext = "mesh-plaintext"
	// MeshPHP: item is the legacy PHP application behind its bridge.
	MeshPHP = "mesh-php"
	// Bypass: no sidecars (sidecars.enabled=false).
	Bypass = "bypass"
)

// ModeSpec is one way to install the chart that the bench can measure.
type ModeSpec struct {
	Name string
	// ValuesFile is the values file of its release besides
	// Settings.Values, relative to the repository root (ModeValues).
	ValuesFile string
	// What says in markdown what its release is.
	What string
}

// ModeValues is the values file of a mode, relative to the repository
// root: the chart's ci/<mode>-values.yaml, headed by what the mode is.
func ModeValues(mode string) string {
	return "charts/envoy-example/ci/" + mode + "-values.yaml"
}

// ModeTable lists the modes in the order the tables and plots show them.
var ModeTable = []ModeSpec{
	{Mesh, ModeValues(Mesh), "the chart's defaults: every service pod with its Envoy and statsd_exporter sidecars (`metrics.mode=statsd`)"},
	{MeshPrometheus, ModeValues(MeshPrometheus),
		"no statsd_exporter anywhere; each Envoy serves its own `GET /stats/prometheus`"},
	{MeshPlaintext, ModeValues(MeshPlaintext), "the mesh without mutual TLS between the sidecars"},
	{MeshPHP, ModeValues(MeshPHP),
		"item is the legacy PHP application under PHP-FPM behind its gRPC-to-FastCGI bridge (the php-fpm container counts as app)"},
	{Bypass, ModeValues(Bypass),
		"no sidecars: each app serves the Service port itself and dials its peers' headless Services with gRPC's DNS resolver"},
}

// Spec finds a mode of ModeTable by name.
func Spec(name string) (ModeSpec, bool) {
	for _, m := range ModeTable {
		if m.Name == name {
			return m, true
		}
	}
	return ModeSpec{}, false
}

// modeRank orders modes as ModeTable does, unknown ones last.
func modeRank(mode string) int {
	for i, m := range ModeTable {
		if m.Name == mode {
			return i
		}
	}
	return len(ModeTable)
}

// Phases of a bench invocation.
const (
	// PhaseConcurrency: seed 1x, user 1 replica, each concurrency level.
	PhaseConcurrency = "concurrency"
	// PhaseSeed: more seed data, one concurrency level.
	PhaseSeed = "seed"
	// PhaseReplicas: user at more replicas, one concurrency level.
	PhaseReplicas = "replicas"
)

// Results is everything one bench invocation measured.
type Results struct {
	Started, Finished time.Time
	Machine           Machine
	Settings          Settings
	Runs              []Run
}

// Machine says where the bench ran.
type Machine struct {
	// Host is the machine `make bench` ran on (its /proc): the node too
	// on the local cluster.
	HostCPU      string
	HostCPUs     int
	HostMemoryGB float64
	HostKernel   string
	// The node the release ran on, from the API server.
	NodeName         string
	NodeCPUs         string
	NodeMemory       string
	NodeKernel       string
	NodeOS           string
	KubeletVersion   string
	ContainerRuntime string
	// EnvoyVersion and FortioVersion are the pinned releases.
	EnvoyVersion, FortioVersion string
}

// Settings are the knobs of the invocation.
type Settings struct {
	Duration    time.Duration
	Concurrency []int
	Rounds      int
	// SeedScales and SeedConcurrency: the seed growth phase.
	SeedScales      []int
	SeedConcurrency int
	// UserReplicas and ReplicasConcurrency: the replicas phase.
	UserReplicas        int
	ReplicasConcurrency int
	// What the releases run with besides their mode's values.
	Values []string
	// Releases are the releases installed at once, one per mode. Empty in
	// results from before the mode table: then Releases derives them.
	Releases []Release `json:",omitempty"`
}

// Release is one mode's release and the phases it was measured in; in the
// other phases it was installed and idle.
type Release struct {
	Mode      string
	Namespace string
	// ValuesFile is the mode's values file (ModeSpec.ValuesFile).
	ValuesFile string `json:",omitempty"`
	// Set are the --set values of the mode in results from before the
	// modes were values files; empty since.
	Set    []string `json:",omitempty"`
	Phases []string
}

// Releases gives the releases of r: as recorded, or else (older results)
// one per mode its runs name, in bench-<mode>.
func (r *Results) Releases() []Release {
	if len(r.Settings.Releases) > 0 {
		return r.Settings.Releases
	}
	phases := map[string][]string{}
	var modes []string
	for _, run := range r.Runs {
		if _, ok := phases[run.Mode]; !ok {
			modes = append(modes, run.Mode)
		}
		if !slices.Contains(phases[run.Mode], run.Phase) {
			phases[run.Mode] = append(phases[run.Mode], run.Phase)
		}
	}
	sort.SliceStable(modes, func(i, j int) bool { return modeRank(modes[i]) < modeRank(modes[j]) })
	var out []Release
	for _, m := range modes {
		spec, _ := Spec(m)
		out = append(out, Release{Mode: m, Namespace: "bench-" + m, ValuesFile: spec.ValuesFile, Phases: phases[m]})
	}
	return out
}

// Run is one bounded fortio run against one release.
type Run struct {
	Phase        string
	Mode         string
	Round        int
	SeedScale    int
	UserReplicas int
	Started      time.Time
	Fortio       fortio.Summary
	RetCodes     map[string]int64
	// Served and Made are the gRPC calls the apps served and made during
	// the run, by app (user, order, item; frontend makes calls only),
	// health checks left out.
	Served map[string]float64
	Made   map[string]float64
	// UserPods are the calls each user pod served, in pod name order.
	UserPods []float64
	// Containers are the kubelet's figures for every container of the
	// release and the load generator.
	Containers []Container
}

// Container is one container's usage during a run.
type Container struct {
	// Component is frontend, user, order, item, ingress or fortio.
	Component string
	Pod       string
	// Name is the container: the app's name, envoy, statsd-exporter, fortio.
	Name string
	// Cores is the mean CPU use over Window seconds inside the run; the
	// window lies between two collections of the kubelet's stats that both
	// fall inside the load. Zero Window: no such pair was seen.
	Cores  float64
	Window float64
	// WorkingSetMB is the largest memory working set seen during the run.
	WorkingSetMB float64
	// ProxiedRPS, for an Envoy: requests per second through it, inbound
	// and outbound (from the apps' counters and fortio's count).
	ProxiedRPS float64
}

// Kind groups containers for the tables: app, sidecar-envoy,
// statsd-exporter (the sidecar), ingress (its Envoy and statsd_exporter,
// in both modes), fortio.
func (c Container) Kind() string {
	switch {
	case c.Component == "fortio":
		return "fortio"
	case c.Component == "ingress":
		return "ingress"
	case c.Name == "envoy":
		return "sidecar-envoy"
	case c.Name == "statsd-exporter":
		return "statsd-exporter"
	default:
		return "app"
	}
}

// Load reads a results.json.
func Load(path string) (*Results, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Results
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}

// Save writes r as indented JSON.
func (r *Results) Save(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// select returns the runs that keep says yes to, in order.
func (r *Results) selectRuns(keep func(Run) bool) []Run {
	var out []Run
	for _, run := range r.Runs {
		if keep(run) {
			out = append(out, run)
		}
	}
	return out
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
