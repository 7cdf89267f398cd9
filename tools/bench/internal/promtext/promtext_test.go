package promtext

import (
	"os"
	"strings"
	"testing"
	"time"
)

func open(t *testing.T, name string) *os.File {
	t.Helper()
	f, err := os.Open("../../testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// The frontend's /metrics after five GET / and one GET /?user=999 on
// loopback (make run's wiring): it serves no gRPC, it made 5 ListUsers,
// 6 ListOrderDetails and 1 GetUser that answered NotFound.
func TestAppFrontend(t *testing.T) {
	c, err := App(open(t, "app-metrics-frontend-loopback.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if c.TotalServed() != 0 {
		t.Errorf("served %v", c.Served)
	}
	if c.Made["user.v1.UserService"] != 6 || c.Made["order.v1.OrderService"] != 6 || c.TotalMade() != 12 {
		t.Errorf("made %v", c.Made)
	}
	if c.Failed != 1 {
		t.Errorf("failed %v, want the NotFound", c.Failed)
	}
}

// order served 6 ListOrderDetails and made 5 batch lookups of item (the
// sixth listing, of a user without orders, needed none); the health
// service's counters are left out.
func TestAppOrder(t *testing.T) {
	c, err := App(open(t, "app-metrics-order-loopback.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Served["order.v1.OrderService"] != 6 || c.TotalServed() != 6 {
		t.Errorf("served %v", c.Served)
	}
	if _, ok := c.Served[HealthService]; ok {
		t.Error("health checks counted")
	}
	if c.Made["item.v1.ItemService"] != 5 {
		t.Errorf("made %v", c.Made)
	}
}

func TestSub(t *testing.T) {
	before := GRPCCalls{Served: map[string]float64{"a": 2}, Made: map[string]float64{"b": 1}, Failed: 1}
	after := GRPCCalls{Served: map[string]float64{"a": 5, "c": 1}, Made: map[string]float64{"b": 4}, Failed: 1}
	d := after.Sub(before)
	if d.Served["a"] != 3 || d.Served["c"] != 1 || d.Made["b"] != 3 || d.Failed != 0 {
		t.Errorf("%+v", d)
	}
}

const kubeletText = `# HELP container_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the container in core-seconds
# TYPE container_cpu_usage_seconds_total counter
container_cpu_usage_seconds_total{container="envoy",namespace="bench-mesh",pod="bench-user-5d9c7d8f6-abcde"} 12.5 1764163200000
container_cpu_usage_seconds_total{container="user",namespace="bench-mesh",pod="bench-user-5d9c7d8f6-abcde"} 3.25 1764163201000
# HELP container_memory_working_set_bytes [STABLE] Current working set of the container in bytes
# TYPE container_memory_working_set_bytes gauge
container_memory_working_set_bytes{container="envoy",namespace="bench-mesh",pod="bench-user-5d9c7d8f6-abcde"} 2.4e+07 1764163200000
# HELP node_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the node in core-seconds
# TYPE node_cpu_usage_seconds_total counter
node_cpu_usage_seconds_total 1000 1764163200000
# HELP pod_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the pod in core-seconds
# TYPE pod_cpu_usage_seconds_total counter
pod_cpu_usage_seconds_total{namespace="bench-mesh",pod="bench-user-5d9c7d8f6-abcde"} 16 1764163200000
`

// The kubelet's format, in small: timestamps kept, node and pod series
// left out.
func TestKubeletSmall(t *testing.T) {
	stats, err := Kubelet(strings.NewReader(kubeletText))
	if err != nil {
		t.Fatal(err)
	}
	if len(stats) != 2 {
		t.Fatalf("%d containers: %+v", len(stats), stats)
	}
	e := stats[ContainerKey{"bench-mesh", "bench-user-5d9c7d8f6-abcde", "envoy"}]
	if e.CPUSeconds != 12.5 || e.WorkingSet != 24e6 || !e.CPUTime.Equal(time.UnixMilli(1764163200000)) {
		t.Errorf("envoy %+v", e)
	}
	if _, err := Kubelet(strings.NewReader("node_cpu_usage_seconds_total 1 1\n")); err == nil {
		t.Error("no container series, yet no error")
	}
}

// A real /metrics/resource of the local cluster's kubelet during make
// bench: both releases and the fortio pod, every series stamped.
func TestKubeletReal(t *testing.T) {
	stats, err := Kubelet(open(t, "kubelet-resource.txt"))
	if err != nil {
		t.Fatal(err)
	}
	byNS := map[string]int{}
	for k, st := range stats {
		byNS[k.Namespace]++
		if st.CPUTime.IsZero() || st.WorkingSetTime.IsZero() || st.WorkingSet <= 0 {
			t.Errorf("%v: %+v", k, st)
		}
	}
	// Mesh: 4 apps with Envoy and statsd_exporter each, the ingress's
	// two; bypass: 4 apps and the ingress's two; fortio.
	if byNS["bench-mesh"] != 14 || byNS["bench-bypass"] != 6 || byNS["bench-load"] != 1 {
		t.Errorf("containers by namespace %v", byNS)
	}
	e := stats[ContainerKey{"bench-mesh", "bench-frontend-94f7dc67d-hbl2l", "envoy"}]
	if e.CPUSeconds != 1.44239771 || e.WorkingSet != 1.6863232e+07 || e.CPUTime.UnixMilli() != 1795699905473 {
		t.Errorf("frontend's Envoy %+v", e)
	}
}

// order's counters before and after one 25s run at concurrency 1 through
// the mesh: 6051 listings served and as many item lookups made (fortio
// counted 6050 requests: its first call on each connection checks the URL
// and is not counted); the health checks of callers' Envoys are left out.
func TestAppRealRun(t *testing.T) {
	before, err := App(open(t, "app-metrics-order-before.txt"))
	if err != nil {
		t.Fatal(err)
	}
	after, err := App(open(t, "app-metrics-order-after.txt"))
	if err != nil {
		t.Fatal(err)
	}
	d := after.Sub(before)
	if d.TotalServed() != 6051 || d.Made["item.v1.ItemService"] != 6051 || d.Failed != 0 {
		t.Errorf("%+v", d)
	}
	if _, ok := after.Served[HealthService]; ok {
		t.Error("health checks counted")
	}
}
