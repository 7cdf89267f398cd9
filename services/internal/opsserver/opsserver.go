// Package opsserver serves what the platform asks of every service on its
// ops port (--ops-listen, :9091 in the chart): /metrics for Prometheus,
// /healthz for the kubelet's liveness probe and /readyz for its readiness
// probe. It listens apart from the service's own server so that probes and
// scrapes bypass the Envoy sidecar. (Not to be confused with Envoy's admin,
// on 127.0.0.1:9901 in the same pod.)
package opsserver

import (
	"net/http"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// State is where a service is in its life.
type State int32

const (
	// Starting: not yet listening; not ready.
	Starting State = iota
	// Serving: ready for traffic.
	Serving
	// Draining: SIGTERM received, finishing the calls in flight; not ready,
	// so that traffic moves elsewhere, but still alive.
	Draining
)

func (s State) String() string {
	switch s {
	case Serving:
		return "serving"
	case Draining:
		return "draining"
	default:
		return "starting"
	}
}

// Readiness holds a service's State, shared by /readyz and the gRPC health
// service, and whether what it depends on answers. The zero value is
// Starting, with nothing down.
type Readiness struct {
	state atomic.Int32
	// down names the dependency that does not answer, or is nil.
	down atomic.Pointer[string]
}

// SetDown marks the service not ready, whatever its State, because of what
// reason names (the item bridge's PHP-FPM not answering); "" clears it.
func (r *Readiness) SetDown(reason string) {
	if reason == "" {
		r.down.Store(nil)
		return
	}
	r.down.Store(&reason)
}

// Set moves the service to s.
func (r *Readiness) Set(s State) { r.state.Store(int32(s)) }

// State is the current state.
func (r *Readiness) State() State { return State(r.state.Load()) }

// AddProbes mounts /healthz and /readyz on mux. /healthz answers 200 while
// the process can serve HTTP at all: restarting a draining process would
// only cut its calls. /readyz answers 200 only while Serving and nothing
// it depends on is down (SetDown).
func AddProbes(mux *http.ServeMux, r *Readiness) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		s := r.State()
		if s != Serving {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("not ready: " + s.String() + "\n"))
			return
		}
		if down := r.down.Load(); down != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("not ready: " + *down + "\n"))
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
}

// Handler serves /metrics from g, plus the probes.
func Handler(g prometheus.Gatherer, r *Readiness) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
	AddProbes(mux, r)
	return mux
}
