// Package queries holds the four PromQL queries of DESIGN.md, unchanged.
// The chart's metrics pipeline (Envoy -> statsd_exporter mapping ->
// Prometheus relabelling) must answer each with series labelled app and
// cluster; the chart tests parse them with promtool and the helm test smoke
// checker runs them against the installed Prometheus.
package queries

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
