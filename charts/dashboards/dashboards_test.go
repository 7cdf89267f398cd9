package dashboards_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/promql/parser"

	"github.com/envoy-example/envoy-example/charts/dashboards"
	"github.com/envoy-example/envoy-example/charts/queries"
	"github.com/envoy-example/envoy-example/charts/render"
)

// The four dashboards of the chart, by file.
var wantFiles = []string{"envoy-cost.json", "mesh.json", "resilience.json", "services.json"}

func load(t *testing.T) []dashboards.Dashboard {
	t.Helper()
	dir, err := dashboards.Dir()
	if err != nil {
		t.Fatal(err)
	}
	all, err := dashboards.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return all
}

// Every dashboard decodes with Grafana's schema, strictly; uids are
// distinct, every panel has a query.
func TestEveryDashboardDecodesStrictly(t *testing.T) {
	all := load(t)
	var files, uids []string
	for _, d := range all {
		files = append(files, d.File)
		if slices.Contains(uids, d.UID()) {
			t.Errorf("%s: uid %s used twice", d.File, d.UID())
		}
		uids = append(uids, d.UID())
		if len(d.Panels) < 4 {
			t.Errorf("%s: %d panels", d.File, len(d.Panels))
		}
		var titles []string
		for _, p := range d.Panels {
			if slices.Contains(titles, p.Title) {
				t.Errorf("%s: two panels titled %q (the e2e names panels by title)", d.File, p.Title)
			}
			titles = append(titles, p.Title)
		}
	}
	if !slices.Equal(files, wantFiles) {
		t.Errorf("dashboards %v, want %v", files, wantFiles)
	}
}

// The strict decoding refuses what Grafana's schema does not have, so a
// typo in a dashboard fails here rather than silently in Grafana.
func TestStrictDecodingRefusesMistakes(t *testing.T) {
	dir, err := dashboards.Dir()
	if err != nil {
		t.Fatal(err)
	}
	orig, err := os.ReadFile(filepath.Join(dir, "mesh.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, old, new, want string }{
		{"an unknown dashboard field", `"refresh": "10s",`, `"refresh": "10s", "refrsh": "5s",`, "refrsh"},
		{"an unknown panel field", `"gridPos": {`, `"gridPoss": {"h": 1}, "gridPos": {`, "gridPoss"},
		{"an unknown query field", `"legendFormat":`, `"legend_format": "x", "legendFormat":`, "legend_format"},
		{"an unknown timeseries option", `"showLegend": true`, `"showLegend": true, "showLegends": true`, "showLegends"},
		{"a mistyped field", `"schemaVersion": 41`, `"schemaVersion": "41"`, "schemaVersion"},
		{"a panel of another data source", `"uid": "${datasource}"`, `"uid": "other"`, "data source"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(string(orig), tc.old) {
				t.Fatalf("mesh.json has no %q to change", tc.old)
			}
			broken := strings.Replace(string(orig), tc.old, tc.new, 1)
			p := filepath.Join(t.TempDir(), "mesh.json")
			if err := os.WriteFile(p, []byte(broken), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := dashboards.LoadFile(p)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("LoadFile = %v, want an error naming %q", err, tc.want)
			}
		})
	}
}

// Every query of every panel, variables substituted, is PromQL that
// Prometheus's own parser accepts.
func TestEveryQueryParses(t *testing.T) {
	qs, err := dashboards.Queries(load(t), dashboards.DefaultVars)
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) < 20 {
		t.Fatalf("only %d queries", len(qs))
	}
	p := parser.NewParser(parser.Options{})
	for _, q := range qs {
		if strings.Contains(q.PromQL, "$") {
			t.Errorf("%s: a variable left in %s", q, q.PromQL)
		}
		if _, err := p.ParseExpr(q.PromQL); err != nil {
			t.Errorf("%s: %v\n\t%s", q, err, q.PromQL)
		}
	}
}

func TestSubstitute(t *testing.T) {
	v := dashboards.Vars{RateInterval: "1m", Interval: "15s", Range: "15m"}
	for in, want := range map[string]string{
		`rate(x[$__rate_interval])`:                    `rate(x[1m])`,
		`rate(x[${__rate_interval}]) + y[$__interval]`: `rate(x[1m]) + y[15s]`,
		`increase(x[$__range])`:                        `increase(x[15m])`,
		`x{a=~"^b$"}`:                                  `x{a=~"^b$"}`,
	} {
		got, err := dashboards.Substitute(in, v)
		if err != nil || got != want {
			t.Errorf("Substitute(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{`x{app="$app"}`, `rate(x[$__rate_intervall])`, `x[${foo:raw}]`} {
		if got, err := dashboards.Substitute(in, v); err == nil {
			t.Errorf("Substitute(%q) = %q, want an error for the unknown variable", in, got)
		}
	}
}

// The mesh dashboard is built on the four queries (charts/queries), unchanged.
func TestMeshDashboardHasTheFourQueries(t *testing.T) {
	qs, err := dashboards.Queries(load(t), dashboards.DefaultVars)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range queries.Design {
		found := false
		for _, q := range qs {
			found = found || (q.Dashboard == "mesh.json" && q.Expr == d.Expr)
		}
		if !found {
			t.Errorf("mesh.json has no panel with %s, verbatim: %s", d.Name, d.Expr)
		}
	}
}

// Every exception of Expectations names a panel that exists, so that a
// renamed panel does not lose its exception (or keep a stale one).
func TestExpectationsNamePanels(t *testing.T) {
	qs, err := dashboards.Queries(load(t), dashboards.DefaultVars)
	if err != nil {
		t.Fatal(err)
	}
	for key, e := range dashboards.Expectations {
		found := false
		for _, q := range qs {
			if q.Dashboard+"/"+q.Panel == key {
				found = true
				if q.Expect != e {
					t.Errorf("%s: Expect %s, want %s", q, q.Expect, e)
				}
			}
		}
		if !found {
			t.Errorf("Expectations names %q, which is no panel", key)
		}
	}
}

// The dashboards read only series that exist: each envoy_* name is one
// the chart keeps (the rendered statsd mapping's names; the relabelling
// keeps the same list, TestFourQueriesAgreeInBothMetricsModes), each
// hop:* name one of its recording rules.
func TestDashboardsReadSeriesTheChartKeeps(t *testing.T) {
	rel, err := render.Render(render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	mapping, err := rel.StatsdMapping()
	if err != nil {
		t.Fatal(err)
	}
	rules, err := rel.RecordingRules()
	if err != nil {
		t.Fatal(err)
	}
	kept := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\s+name: (envoy_\w+)$`).FindAllStringSubmatch(mapping, -1) {
		kept[m[1]] = true
		kept[m[1]+"_bucket"], kept[m[1]+"_count"] = true, true
	}
	for _, m := range regexp.MustCompile(`(?m)record: (\S+)$`).FindAllStringSubmatch(rules, -1) {
		kept[m[1]] = true
	}
	if len(kept) < 20 {
		t.Fatalf("found only %v in the mapping and rules", kept)
	}
	qs, err := dashboards.Queries(load(t), dashboards.DefaultVars)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range qs {
		expr, err := parser.NewParser(parser.Options{}).ParseExpr(q.PromQL)
		if err != nil {
			t.Fatal(err)
		}
		parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
			vs, ok := n.(*parser.VectorSelector)
			if !ok {
				return nil
			}
			if (strings.HasPrefix(vs.Name, "envoy_") || strings.HasPrefix(vs.Name, "hop:")) && !kept[vs.Name] {
				t.Errorf("%s reads %s, which the chart neither maps nor records", q, vs.Name)
			}
			return nil
		})
	}
}
