// Package report holds what one `make bench` measured (Results, saved as
// results.json beside the report), the figures derived from it, and the
// markdown report and PNG plots made from them.
package report

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/envoy-example/envoy-example/internal/fortio"
)

// Modes: the sidecar mesh (the chart's default) and the mesh bypassed
// (sidecars.enabled=false).
const (
	Mesh   = "mesh"
	Bypass = "bypass"
)

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
	// What the releases run with besides the switch.
	Values []string
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
