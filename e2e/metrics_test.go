//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/envoy-example/envoy-example/charts/dashboards"
	"github.com/envoy-example/envoy-example/charts/queries"
)

// 10-rolling-upgrade-2-replicas-metrics-prometheus: two pods of every
// workload, then metricsToPrometheus. The metrics mode is read from the
// release: a release already in prometheus mode (a step 10 that failed
// after the switch, run again) is set back to statsd first, without load,
// so that the switch is made and measured again.
func metricsSwitchStep(t *testing.T, r *release) {
	r.replicas(t, 2, workloads...)
	if mode := r.values(t)["metrics.mode"]; mode != "statsd" {
		t.Logf("the release runs in metrics.mode %s; back to statsd before the switch", mode)
		r.change(t, "--set", "metrics.mode=statsd")
	}
	metricsToPrometheus(t, r)
}

// metricsToPrometheus switches the release from metrics.mode statsd (the
// default: a statsd_exporter beside every Envoy) to metrics.mode
// prometheus (Prometheus scrapes Envoy's own /stats/prometheus) under the
// e2e's load, and checks what the switch promises: no request lost, the
// four queries of the design answering with the same (app, cluster)
// series in both modes, and every dashboard panel answering in each mode
// as dashboards.Expectations says. The tour and the later steps then run
// in prometheus mode, so that both modes carry real traffic and faults.
//
// The switch is the chart's values file for the mode,
// charts/envoy-example/ci/mesh-prometheus-values.yaml
// (docs/metrics-and-dashboards.md).
func metricsToPrometheus(t *testing.T, r *release) {
	all, err := dashboards.Load(mustDashboardsDir(t))
	if err != nil {
		t.Fatal(err)
	}
	panels, err := dashboards.Queries(all, dashboards.DefaultVars)
	if err != nil {
		t.Fatal(err)
	}

	// Before: statsd mode, with the history of every step so far.
	stopTrickle := backgroundLoad(r.ingress(t), 2)
	prom := r.forwardTo(t, "prometheus", port("prometheus"))
	checkPanels(t, r, prom, panels, "statsd")
	var statsd map[string][]string
	eventually(t, r.ctx, 3*time.Minute, "the four queries with every hop in statsd mode", func() error {
		statsd, err = fourQuerySeries(r.ctx, prom)
		return err
	})
	stopTrickle()

	r.underLoad(t, "helm upgrade rolling all 5 workloads at 2 replicas: metrics statsd -> prometheus", func(t *testing.T) {
		r.change(t, r.ciValues(t, "mesh-prometheus-values.yaml")...)
	})

	// The switch replaces Prometheus (its config changed; its TSDB is an
	// emptyDir), so everything it holds from here on was scraped from
	// Envoy's native endpoint: check that, then compare.
	stopTrickle = backgroundLoad(r.ingress(t), 2)
	defer stopTrickle()
	prom = r.forwardTo(t, "prometheus", port("prometheus"))
	envoys := 0
	for _, c := range workloads {
		pods, err := r.k.ReadyPods(r.ctx, r.s.namespace, r.selector(c))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pods {
			if hasContainer(p, "statsd-exporter") {
				t.Fatalf("pod %s still runs a statsd_exporter in metrics.mode prometheus", p.Name)
			}
		}
		envoys += len(pods)
	}
	eventually(t, r.ctx, 2*time.Minute, fmt.Sprintf("Prometheus scraping %d Envoys on %d and nothing on %d", envoys, port("envoyStats"), port("statsdMetrics")), func() error {
		targets, err := promSeries(r.ctx, prom, `up{job="envoy"} == 1`)
		if err != nil {
			return err
		}
		native := 0
		for _, l := range targets {
			if !strings.HasSuffix(l["instance"], fmt.Sprintf(":%d", port("envoyStats"))) {
				return fmt.Errorf("target %s is not Envoy's native stats port", l["instance"])
			}
			native++
		}
		if native != envoys {
			return fmt.Errorf("%d Envoy targets up, want %d", native, envoys)
		}
		return nil
	})
	t.Logf("Prometheus scrapes %d Envoys on their native stats port %d; no statsd_exporter left", envoys, port("envoyStats"))

	eventually(t, r.ctx, 3*time.Minute, "the four queries answering with the series of statsd mode", func() error {
		native, err := fourQuerySeries(r.ctx, prom)
		if err != nil {
			return err
		}
		var diffs []string
		for _, q := range queries.Design {
			if d := diff(statsd[q.Name], native[q.Name]); d != "" {
				diffs = append(diffs, q.Name+": "+d)
			}
		}
		if len(diffs) > 0 {
			return fmt.Errorf("%s", strings.Join(diffs, "; "))
		}
		return nil
	})
	for _, q := range queries.Design {
		t.Logf("%s: the same %d (app, cluster) series in both modes", q.Name, len(statsd[q.Name]))
	}
	checkPanels(t, r, prom, panels, "prometheus")
	r.helmTest(t)
}

func mustDashboardsDir(t *testing.T) string {
	t.Helper()
	dir, err := dashboards.Dir()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// checkPanels runs every dashboard query against prom and waits until
// each answers as its panel's expectation says for the metrics mode:
// series, or (for panels that show what the other mode or a cluster-wide
// Prometheus has) none at all.
func checkPanels(t *testing.T, r *release, prom string, panels []dashboards.Query, mode string) {
	t.Helper()
	wantData := func(q dashboards.Query) bool {
		return q.Expect == dashboards.Always || (q.Expect == dashboards.StatsdModeOnly && mode == "statsd")
	}
	var with, without int
	eventually(t, r.ctx, 3*time.Minute, "every dashboard panel answering as expected in "+mode+" mode", func() error {
		with, without = 0, 0
		var wrong []string
		for _, q := range panels {
			series, err := promSeries(r.ctx, prom, q.PromQL)
			if err != nil {
				return fmt.Errorf("%s: %v", q, err)
			}
			switch {
			case wantData(q) && len(series) == 0:
				wrong = append(wrong, fmt.Sprintf("%s: no data", q))
			case !wantData(q) && len(series) > 0:
				wrong = append(wrong, fmt.Sprintf("%s: %d series, want none (%s)", q, len(series), q.Expect))
			case len(series) > 0:
				with++
			default:
				without++
			}
		}
		if len(wrong) > 0 {
			return fmt.Errorf("%s", strings.Join(wrong, "; "))
		}
		return nil
	})
	line := fmt.Sprintf("dashboards in %s mode: %d queries answer with data, %d without, as expected", mode, with, without)
	for _, q := range panels {
		if !wantData(q) {
			line += fmt.Sprintf("; no data: %s (%s)", q, q.Expect)
		}
	}
	fmt.Println("e2e: " + line)
	t.Log(line)
}

// fourQuerySeries runs the four queries once and returns each one's
// series as sorted label sets, e.g. "{app=order,cluster=item}"; an error
// when a query fails or lacks a series for a hop of the topology.
func fourQuerySeries(ctx context.Context, prom string) (map[string][]string, error) {
	out := map[string][]string{}
	for _, q := range queries.Design {
		series, err := promSeries(ctx, prom, q.Expr)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", q.Name, err)
		}
		if missing := queries.Missing(series, demoHops); len(missing) > 0 {
			return nil, fmt.Errorf("%s: no series for %v", q.Name, missing)
		}
		for _, l := range series {
			var pairs []string
			for k, v := range l {
				pairs = append(pairs, k+"="+v)
			}
			sort.Strings(pairs)
			out[q.Name] = append(out[q.Name], "{"+strings.Join(pairs, ",")+"}")
		}
		sort.Strings(out[q.Name])
	}
	return out, nil
}

// diff says which label sets only one side has, or "" when they agree.
func diff(a, b []string) string {
	in := func(s []string, x string) bool {
		i := sort.SearchStrings(s, x)
		return i < len(s) && s[i] == x
	}
	var onlyA, onlyB []string
	for _, x := range a {
		if !in(b, x) {
			onlyA = append(onlyA, x)
		}
	}
	for _, x := range b {
		if !in(a, x) {
			onlyB = append(onlyB, x)
		}
	}
	if len(onlyA)+len(onlyB) == 0 {
		return ""
	}
	return fmt.Sprintf("only in statsd mode %v, only in prometheus mode %v", onlyA, onlyB)
}
