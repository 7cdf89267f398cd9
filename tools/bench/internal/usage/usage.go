// Package usage turns the kubelet's resource metrics, polled during a load
// run, into each container's CPU and memory use during that run.
package usage

import (
	"time"

	"github.com/envoy-example/envoy-example/tools/bench/internal/promtext"
)

// Recorder keeps every distinct collection of each container's stats.
type Recorder struct {
	series map[promtext.ContainerKey][]promtext.ContainerStats
}

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder {
	return &Recorder{series: map[promtext.ContainerKey][]promtext.ContainerStats{}}
}

// Add records one scrape; a collection already seen (same timestamp) is
// kept once.
func (r *Recorder) Add(scrape map[promtext.ContainerKey]promtext.ContainerStats) {
	for k, st := range scrape {
		s := r.series[k]
		if n := len(s); n > 0 && s[n-1].CPUTime.Equal(st.CPUTime) && s[n-1].WorkingSetTime.Equal(st.WorkingSetTime) {
			continue
		}
		r.series[k] = append(s, st)
	}
}

// Usage is one container's use over a load run.
type Usage struct {
	// Cores is the mean CPU use between the first and the last collection
	// inside the run; Window is the time between them (zero: fewer than
	// two collections fell inside the run, Cores is unknown).
	Cores  float64
	Window time.Duration
	// MaxWorkingSet is the largest working set (bytes) collected inside
	// the run, or the last one before it when none was.
	MaxWorkingSet float64
}

// Usage returns k's use between from and to (the load run, in the clock
// of the node, which stamps the kubelet's collections).
func (r *Recorder) Usage(k promtext.ContainerKey, from, to time.Time) (Usage, bool) {
	s, ok := r.series[k]
	if !ok {
		return Usage{}, false
	}
	var u Usage
	var first, last *promtext.ContainerStats
	for i := range s {
		st := &s[i]
		in := !st.CPUTime.Before(from) && !st.CPUTime.After(to)
		if in {
			if first == nil {
				first = st
			}
			last = st
		}
		wsIn := !st.WorkingSetTime.Before(from) && !st.WorkingSetTime.After(to)
		if wsIn && st.WorkingSet > u.MaxWorkingSet {
			u.MaxWorkingSet = st.WorkingSet
		}
	}
	if u.MaxWorkingSet == 0 {
		for i := range s {
			if !s[i].WorkingSetTime.After(to) {
				u.MaxWorkingSet = s[i].WorkingSet
			}
		}
	}
	if first != nil && last != first && last.CPUTime.After(first.CPUTime) {
		u.Window = last.CPUTime.Sub(first.CPUTime)
		u.Cores = (last.CPUSeconds - first.CPUSeconds) / u.Window.Seconds()
	}
	return u, true
}
