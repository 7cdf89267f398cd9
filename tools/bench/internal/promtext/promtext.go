// Package promtext reads the Prometheus text format the bench scrapes: the
// kubelet's resource metrics (/metrics/resource: CPU seconds and working
// set per container) and the apps' /metrics (go-grpc-prometheus counters).
package promtext

import (
	"fmt"
	"io"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Sample is one series' value, with its timestamp when the exposition
// gives one (the kubelet does: when its stats were collected).
type Sample struct {
	Name   string
	Labels map[string]string
	Value  float64
	Time   time.Time // zero when the exposition has no timestamp
}

// Parse reads every counter, gauge and untyped sample of the families
// named (all families when names is empty).
func Parse(r io.Reader, names ...string) ([]Sample, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("metrics text: %w", err)
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	var out []Sample
	for name, f := range families {
		if len(want) > 0 && !want[name] {
			continue
		}
		for _, m := range f.GetMetric() {
			s := Sample{Name: name, Labels: map[string]string{}}
			for _, l := range m.GetLabel() {
				s.Labels[l.GetName()] = l.GetValue()
			}
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				s.Value = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				s.Value = m.GetGauge().GetValue()
			case dto.MetricType_UNTYPED:
				s.Value = m.GetUntyped().GetValue()
			default:
				continue
			}
			if m.TimestampMs != nil {
				s.Time = time.UnixMilli(m.GetTimestampMs())
			}
			out = append(out, s)
		}
	}
	return out, nil
}

// ContainerKey names one container of one pod.
type ContainerKey struct {
	Namespace, Pod, Container string
}

// ContainerStats is one container's resource usage as the kubelet
// reports it: cumulative CPU seconds and the memory working set, each
// with the time the kubelet collected it.
type ContainerStats struct {
	CPUSeconds     float64
	CPUTime        time.Time
	WorkingSet     float64 // bytes
	WorkingSetTime time.Time
}

// Kubelet reads the kubelet's /metrics/resource text into stats per
// container (container_cpu_usage_seconds_total,
// container_memory_working_set_bytes).
func Kubelet(r io.Reader) (map[ContainerKey]ContainerStats, error) {
	samples, err := Parse(r, "container_cpu_usage_seconds_total", "container_memory_working_set_bytes")
	if err != nil {
		return nil, err
	}
	out := map[ContainerKey]ContainerStats{}
	for _, s := range samples {
		k := ContainerKey{s.Labels["namespace"], s.Labels["pod"], s.Labels["container"]}
		if k.Container == "" || k.Pod == "" {
			continue
		}
		st := out[k]
		switch s.Name {
		case "container_cpu_usage_seconds_total":
			st.CPUSeconds, st.CPUTime = s.Value, s.Time
		case "container_memory_working_set_bytes":
			st.WorkingSet, st.WorkingSetTime = s.Value, s.Time
		}
		out[k] = st
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("kubelet metrics: no container_cpu_usage_seconds_total or container_memory_working_set_bytes with container and pod labels")
	}
	return out, nil
}

// HealthService is the gRPC health service, which Envoy's health checks
// call: not a call the demo's requests make.
const HealthService = "grpc.health.v1.Health"

// GRPCCalls are one app's gRPC calls by gRPC service, as go-grpc-prometheus
// counts them: served (grpc_server_handled_total) and made
// (grpc_client_handled_total), health checks left out.
type GRPCCalls struct {
	Served map[string]float64 // by grpc_service
	Made   map[string]float64 // by grpc_service called
	// Failed counts served and made calls whose grpc_code is not OK.
	Failed float64
}

// TotalServed is the sum of Served.
func (c GRPCCalls) TotalServed() float64 { return sum(c.Served) }

// TotalMade is the sum of Made.
func (c GRPCCalls) TotalMade() float64 { return sum(c.Made) }

func sum(m map[string]float64) float64 {
	var t float64
	for _, v := range m {
		t += v
	}
	return t
}

// App reads one app's /metrics into its gRPC call counts.
func App(r io.Reader) (GRPCCalls, error) {
	c := GRPCCalls{Served: map[string]float64{}, Made: map[string]float64{}}
	samples, err := Parse(r, "grpc_server_handled_total", "grpc_client_handled_total")
	if err != nil {
		return c, err
	}
	for _, s := range samples {
		svc := s.Labels["grpc_service"]
		if svc == HealthService {
			continue
		}
		if s.Labels["grpc_code"] != "OK" {
			c.Failed += s.Value
		}
		if s.Name == "grpc_server_handled_total" {
			c.Served[svc] += s.Value
		} else {
			c.Made[svc] += s.Value
		}
	}
	return c, nil
}

// Sub returns c - before, service by service: the calls between two scrapes.
func (c GRPCCalls) Sub(before GRPCCalls) GRPCCalls {
	d := GRPCCalls{Served: map[string]float64{}, Made: map[string]float64{}, Failed: c.Failed - before.Failed}
	for k, v := range c.Served {
		d.Served[k] = v - before.Served[k]
	}
	for k, v := range c.Made {
		d.Made[k] = v - before.Made[k]
	}
	return d
}
