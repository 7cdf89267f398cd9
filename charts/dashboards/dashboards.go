// Package dashboards reads the chart's Grafana dashboards
// (charts/envoy-example/dashboards/*.json) the way Grafana's own schema
// does, through the Grafana Foundation SDK's strict decoding (an unknown
// or mistyped field fails), and lists every panel's PromQL with Grafana's
// variables substituted, so that the chart tests can parse each query and
// the e2e test can run each against the installed release's Prometheus.
//
//	all, err := dashboards.Load(dir)
//	for _, q := range dashboards.Queries(all, dashboards.DefaultVars) { ... q.PromQL ... }
package dashboards

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"

	"github.com/envoy-example/envoy-example/charts/render"
)

// DirName is the dashboards' folder in the chart (what templates/dashboards.yaml globs).
const DirName = "dashboards"

// DatasourceUID is how every panel and query names its data source: the
// dashboard's datasource variable, so that an imported dashboard uses the
// Prometheus its user picks.
const DatasourceUID = "${datasource}"

// Dir returns the dashboards' folder of the chart in this repository.
func Dir() (string, error) {
	chart, err := render.ChartDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(chart, DirName), nil
}

// Dashboard is one dashboard file, decoded.
type Dashboard struct {
	// File is the file's name, e.g. mesh.json (the ConfigMap key).
	File string
	// Model is the dashboard as Grafana's schema reads it: the classic
	// JSON model, which is what file provisioning, kube-prometheus-stack's
	// sidecar and the import page take (the SDK's v2 schema is the
	// dashboard API's resource format, not these files).
	//lint:ignore SA1019 the files are classic dashboards, see above
	Model  dashboard.Dashboard
	Panels []Panel
}

// UID returns the dashboard's uid.
func (d Dashboard) UID() string { return deref(d.Model.Uid) }

// Panel is one panel and its queries, as written (variables not substituted).
type Panel struct {
	Title   string
	Type    string
	Queries []prometheus.Dataquery
}

// Load decodes every *.json in dir strictly, sorted by file name. Every
// panel must be a plain panel (no rows, no library panels) whose data
// source and queries are Prometheus through the datasource variable, and
// every query must have an expression.
func Load(dir string) ([]Dashboard, error) {
	plugins.RegisterDefaultPlugins()
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no dashboard in %s", dir)
	}
	sort.Strings(files)
	var out []Dashboard
	for _, f := range files {
		d, err := LoadFile(f)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// LoadFile decodes one dashboard file strictly (see Load).
func LoadFile(path string) (Dashboard, error) {
	plugins.RegisterDefaultPlugins()
	data, err := os.ReadFile(path)
	if err != nil {
		return Dashboard{}, err
	}
	d := Dashboard{File: filepath.Base(path)}
	// The strict decoders of SDK v0.0.22 report every unknown or mistyped
	// field at any depth, but return an empty cog.BuildErrors as a non-nil
	// error on success, on which a parent drops the nested value it just
	// decoded (panels, queries). So: validate strictly, read normally.
	//lint:ignore SA1019 the files are classic dashboards (Dashboard.Model)
	var strict dashboard.Dashboard
	if err := strictErr(strict.UnmarshalJSONStrict(data)); err != nil {
		return d, fmt.Errorf("%s: %w", d.File, err)
	}
	if err := json.Unmarshal(data, &d.Model); err != nil {
		return d, fmt.Errorf("%s: %w", d.File, err)
	}
	if d.UID() == "" || deref(d.Model.Title) == "" {
		return d, fmt.Errorf("%s: a dashboard needs a uid and a title", d.File)
	}
	var problems []error
	for i, pr := range d.Model.Panels {
		p := pr.Panel
		if p == nil {
			problems = append(problems, fmt.Errorf("panel %d is a row: rows hide panels from this check, lay panels out flat", i))
			continue
		}
		panel := Panel{Title: deref(p.Title), Type: p.Type}
		where := fmt.Sprintf("panel %d %q", i, panel.Title)
		if panel.Title == "" {
			problems = append(problems, fmt.Errorf("%s has no title", where))
		}
		if p.Datasource == nil || deref(p.Datasource.Type) != "prometheus" || deref(p.Datasource.Uid) != DatasourceUID {
			problems = append(problems, fmt.Errorf("%s: data source must be {type: prometheus, uid: %s}", where, DatasourceUID))
		}
		if len(p.Targets) == 0 {
			problems = append(problems, fmt.Errorf("%s has no query", where))
		}
		for j, t := range p.Targets {
			q, ok := t.(*prometheus.Dataquery)
			if !ok {
				problems = append(problems, fmt.Errorf("%s, query %d: not a Prometheus query (%T): give it datasource {type: prometheus, uid: %s}", where, j, t, DatasourceUID))
				continue
			}
			if q.Datasource == nil || deref(q.Datasource.Uid) != DatasourceUID {
				problems = append(problems, fmt.Errorf("%s, query %s: data source must be %s", where, deref(q.RefId), DatasourceUID))
			}
			if strings.TrimSpace(q.Expr) == "" || deref(q.RefId) == "" {
				problems = append(problems, fmt.Errorf("%s, query %d: no expr or refId", where, j))
			}
			panel.Queries = append(panel.Queries, *q)
		}
		d.Panels = append(d.Panels, panel)
	}
	if len(d.Panels) == 0 {
		problems = append(problems, errors.New("no panel"))
	}
	if err := errors.Join(problems...); err != nil {
		return d, fmt.Errorf("%s: %w", d.File, err)
	}
	return d, nil
}

// Vars are the values Grafana gives its built-in interval variables when
// it sends a query; Substitute puts them in.
type Vars struct {
	// RateInterval is $__rate_interval: in Grafana at least four scrape
	// intervals (the data source's timeInterval, the chart's
	// prometheus.scrapeInterval, 10s).
	RateInterval string
	// Interval is $__interval, the step of the graph.
	Interval string
	// Range is $__range, the dashboard's time range.
	Range string
}

// DefaultVars are what Grafana sends for the dashboards' default time
// range (15 minutes) with the chart's 10s scrape interval.
var DefaultVars = Vars{RateInterval: "1m", Interval: "15s", Range: "15m"}

// variable matches $name and ${name} (and ${name:format}).
var variable = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?::[^}]*)?\}|\$([A-Za-z_][A-Za-z0-9_]*)`)

// Substitute replaces Grafana's interval variables in expr by v's values.
// Any other variable is an error: the dashboards define none that a
// query uses, and a typo would otherwise reach Prometheus.
func Substitute(expr string, v Vars) (string, error) {
	values := map[string]string{"__rate_interval": v.RateInterval, "__interval": v.Interval, "__range": v.Range}
	var unknown []string
	out := variable.ReplaceAllStringFunc(expr, func(m string) string {
		sub := variable.FindStringSubmatch(m)
		name := sub[1] + sub[2]
		if val, ok := values[name]; ok && val != "" {
			return val
		}
		unknown = append(unknown, m)
		return m
	})
	if len(unknown) > 0 {
		return "", fmt.Errorf("unknown Grafana variables %v in %q", unknown, expr)
	}
	return out, nil
}

// Expect says when a panel's queries should return data in the demo
// (the chart installed with its own Prometheus and traffic flowing).
type Expect int

const (
	// Always: data in both metrics modes.
	Always Expect = iota
	// StatsdModeOnly: data only with metrics.mode statsd (the panel shows
	// what only that mode runs).
	StatsdModeOnly
	// NotInTheDemo: the chart's own Prometheus never has these series; a
	// cluster-wide Prometheus (kube-prometheus-stack) does.
	NotInTheDemo
)

func (e Expect) String() string {
	switch e {
	case Always:
		return "data in both metrics modes"
	case StatsdModeOnly:
		return "data with metrics.mode statsd only"
	case NotInTheDemo:
		return "no data from the chart's own Prometheus"
	}
	return fmt.Sprintf("Expect(%d)", int(e))
}

// Expectations are the panels, by dashboard file and title, that do not
// return data in both modes of the demo, and why. Every other panel must.
// A test checks that each names a panel that exists.
var Expectations = map[string]Expect{
	// The kubelet's cAdvisor metrics need cluster-wide rights, which the
	// chart's namespaced Prometheus does not have.
	"envoy-cost.json/Envoy CPU, per pod (cAdvisor)": NotInTheDemo,
	// With metrics.mode prometheus there is no statsd_exporter to measure.
	"envoy-cost.json/statsd_exporter CPU, per pod (metrics.mode statsd)": StatsdModeOnly,
}

// Query is one query of one panel, ready to send to Prometheus.
type Query struct {
	Dashboard string // file name, e.g. mesh.json
	Panel     string // the panel's title
	RefID     string
	// Expr is the query as the dashboard writes it, PromQL with variables
	// substituted.
	Expr, PromQL string
	Expect       Expect
}

func (q Query) String() string { return fmt.Sprintf("%s/%s/%s", q.Dashboard, q.Panel, q.RefID) }

// Queries lists every query of every panel of ds with v substituted, in
// file and panel order. A query with an unknown variable is an error.
func Queries(ds []Dashboard, v Vars) ([]Query, error) {
	var out []Query
	var problems []error
	for _, d := range ds {
		for _, p := range d.Panels {
			for _, t := range p.Queries {
				promql, err := Substitute(t.Expr, v)
				if err != nil {
					problems = append(problems, fmt.Errorf("%s/%s: %w", d.File, p.Title, err))
					continue
				}
				out = append(out, Query{
					Dashboard: d.File, Panel: p.Title, RefID: deref(t.RefId),
					Expr: t.Expr, PromQL: promql, Expect: Expectations[d.File+"/"+p.Title],
				})
			}
		}
	}
	return out, errors.Join(problems...)
}

// strictErr is err, or nil for the empty cog.BuildErrors that the SDK's
// strict decoders return (as a non-nil error) when all went well.
func strictErr(err error) error {
	var be cog.BuildErrors
	if errors.As(err, &be) && len(be) == 0 {
		return nil
	}
	return err
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
