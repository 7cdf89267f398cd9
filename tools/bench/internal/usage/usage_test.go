package usage

import (
	"testing"
	"time"

	"github.com/envoy-example/envoy-example/tools/bench/internal/promtext"
)

var (
	t0  = time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)
	key = promtext.ContainerKey{Namespace: "bench-mesh", Pod: "bench-user-1", Container: "envoy"}
)

func at(sec, cpu, ws float64) map[promtext.ContainerKey]promtext.ContainerStats {
	ts := t0.Add(time.Duration(sec * float64(time.Second)))
	return map[promtext.ContainerKey]promtext.ContainerStats{key: {CPUSeconds: cpu, CPUTime: ts, WorkingSet: ws, WorkingSetTime: ts}}
}

// Collections every 10s, polled every 2s (so each is seen several times);
// the run is from 5s to 35s. The window is 10s..30s, the collections inside
// it: 0.5 cores. Memory: the largest inside the run.
func TestUsageWindowInsideTheRun(t *testing.T) {
	r := NewRecorder()
	for _, s := range [][3]float64{{0, 1, 10e6}, {0, 1, 10e6}, {10, 2, 30e6}, {10, 2, 30e6}, {20, 7, 25e6}, {30, 12, 20e6}, {40, 12.1, 50e6}} {
		r.Add(at(s[0], s[1], s[2]))
	}
	if n := len(r.series[key]); n != 5 {
		t.Errorf("%d collections kept, want 5 distinct", n)
	}
	u, ok := r.Usage(key, t0.Add(5*time.Second), t0.Add(35*time.Second))
	if !ok {
		t.Fatal("no usage")
	}
	if u.Window != 20*time.Second || u.Cores != 0.5 || u.MaxWorkingSet != 30e6 {
		t.Errorf("%+v", u)
	}
}

// A run shorter than the collection interval has no window: the CPU is
// unknown, not zero; memory falls back to the last collection before its end.
func TestUsageNoWindow(t *testing.T) {
	r := NewRecorder()
	r.Add(at(0, 1, 10e6))
	r.Add(at(10, 2, 20e6))
	r.Add(at(20, 3, 30e6))
	u, _ := r.Usage(key, t0.Add(11*time.Second), t0.Add(19*time.Second))
	if u.Window != 0 || u.Cores != 0 || u.MaxWorkingSet != 20e6 {
		t.Errorf("%+v", u)
	}
	if _, ok := r.Usage(promtext.ContainerKey{Container: "other"}, t0, t0); ok {
		t.Error("a container never seen has usage")
	}
}
