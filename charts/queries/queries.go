// Package queries holds the four PromQL queries of DESIGN.md, unchanged,
// and the hops of the mesh they must answer for. The chart's metrics
// pipeline (Envoy -> statsd_exporter mapping -> Prometheus relabelling)
// must answer each with a series labelled app and cluster for every hop
// (checked by Missing). The hops come from the chart's topology (values.yaml's
// services): the smoke test is given them by flag (ParseHops reads it), and
// the tests read the same flag from the chart's render. The chart tests
// parse the queries with promtool and the helm test smoke checker runs them
// against the installed Prometheus.
package queries

import (
	"fmt"
	"slices"
	"strings"
)

// Query is one named PromQL expression.
type Query struct {
	// Name is a recording-rule style name, for logs and rule files.
	Name string
	// Expr is the query, exactly as DESIGN.md writes it.
	Expr string
}

// Design are the four queries, in DESIGN.md's order.
var Design = []Query{
	{
		Name: "envoy_example:upstream_rq_time:p95",
		Expr: `histogram_quantile(0.95, sum(rate(envoy_upstream_rq_time_bucket{cluster!="local_service"}[5m])) by (le,app, cluster))`,
	},
	{
		Name: "envoy_example:upstream_rq:rate5m",
		Expr: `sum(rate(envoy_upstream_rq_time_count{cluster!="local_service"}[5m])) by (app, cluster)`,
	},
	{
		Name: "envoy_example:health_check_healthy:sum",
		Expr: `sum(envoy_health_check_healthy) by (app,cluster)`,
	},
	{
		Name: "envoy_example:upstream_cx_total:sum",
		Expr: `sum(envoy_upstream_cx_total) by (app,cluster)`,
	},
}

// Hop is one call of the mesh as the series label it: App is the calling Envoy's role, Cluster the Envoy cluster it calls.
type Hop struct{ App, Cluster string }

// String writes the hop as caller->callee, e.g. "ingress->frontend".
func (h Hop) String() string { return h.App + "->" + h.Cluster }

// ParseHops reads hops written as the chart's smoke test is given them
// (--hops): "ingress->frontend,frontend->user". The chart derives them
// from the topology of values.yaml (the demo's path, GET /).
func ParseHops(s string) ([]Hop, error) {
	var hops []Hop
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		app, cluster, ok := strings.Cut(part, "->")
		if !ok || app == "" || cluster == "" || strings.Contains(cluster, "->") {
			return nil, fmt.Errorf("hop %q: want caller->callee", part)
		}
		h := Hop{App: app, Cluster: cluster}
		if slices.Contains(hops, h) {
			return nil, fmt.Errorf("hop %s twice", h)
		}
		hops = append(hops, h)
	}
	if len(hops) == 0 {
		return nil, fmt.Errorf("no hop in %q", s)
	}
	return hops, nil
}

// Missing returns the hops that no series in series (one label set each) carries, in hops' order.
// A series carries a hop when its app and cluster labels are the hop's;
// its other labels do not matter. Nil when every hop has a series.
func Missing(series []map[string]string, hops []Hop) []Hop {
	var missing []Hop
	for _, h := range hops {
		found := false
		for _, s := range series {
			if s["app"] == h.App && s["cluster"] == h.Cluster {
				found = true
				break
			}
		}
		if !found {
			missing = append(missing, h)
		}
	}
	return missing
}
