package charttest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/envoy-example/envoy-example/charts/queries"
	"github.com/envoy-example/envoy-example/charts/render"
)

// The rendered mapping passes statsd_exporter's own check.
func TestStatsdMappingPassesCheckConfig(t *testing.T) {
	bin := tool(t, "statsd_exporter")
	forEach(t, func(t *testing.T, s scenario, rel *render.Release) {
		mapping, err := rel.StatsdMapping()
		if s.metricsMode != "statsd" {
			if err == nil {
				t.Fatalf("metrics.mode %s still renders a statsd mapping", s.metricsMode)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		p := writeFile(t, t.TempDir(), "mapping.yaml", mapping)
		out, err := runTool(t, bin, "--check-config", "--statsd.mapping-config="+p)
		if err != nil {
			t.Fatalf("statsd_exporter --check-config: %v\n%s", err, out)
		}
		if !strings.Contains(out, "Configuration check successful") {
			t.Fatalf("statsd_exporter --check-config said:\n%s", out)
		}
	})
}

// The check can fail: a mapping with a broken field is refused. (Guards
// against a statsd_exporter that accepts anything.)
func TestStatsdCheckConfigRefusesABrokenMapping(t *testing.T) {
	bin := tool(t, "statsd_exporter")
	mapping, err := renderScenario(t, base("values.yaml")).StatsdMapping()
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(mapping, "observer_type: histogram", "observer_type: histogrammm", 1)
	p := writeFile(t, t.TempDir(), "mapping.yaml", broken)
	if out, err := runTool(t, bin, "--check-config", "--statsd.mapping-config="+p); err == nil {
		t.Fatalf("statsd_exporter accepted observer_type histogrammm:\n%s", out)
	}
}

// The rendered Prometheus config passes promtool. It discovers pods in
// cluster (no api_server, no credential files), so it checks without one.
func TestPrometheusConfigPassesPromtool(t *testing.T) {
	bin := tool(t, "promtool")
	forEach(t, func(t *testing.T, s scenario, rel *render.Release) {
		cfg, err := rel.PrometheusConfig()
		if !s.prometheus {
			if err == nil {
				t.Fatal("prometheus.enabled=false still renders a Prometheus config")
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		rules, err := rel.RecordingRules()
		if err != nil {
			t.Fatal(err)
		}
		// As in the pod: the rules beside the config, which names them.
		dir := t.TempDir()
		writeFile(t, dir, "rules.yml", rules)
		p := writeFile(t, dir, "prometheus.yml", cfg)
		out, err := runTool(t, bin, "check", "config", p)
		if err != nil {
			t.Fatalf("promtool check config: %v\n%s", err, out)
		}
		if !strings.Contains(out, "SUCCESS: 6 rules found") {
			t.Errorf("promtool did not check the 6 recording rules beside the config:\n%s", out)
		}
		// Discovery stays in the release namespace, on this release's pods.
		if !strings.Contains(cfg, `names: ["`+s.namespace()+`"]`) || !strings.Contains(cfg, "app.kubernetes.io/instance="+s.release()) {
			t.Errorf("the config does not confine discovery to namespace %s and release %s:\n%s", s.namespace(), s.release(), cfg)
		}
	})
}

// The four DESIGN.md queries parse: promtool checks them as recording
// rules in a rules file made from the query list.
func TestDesignQueriesParse(t *testing.T) {
	bin := tool(t, "promtool")
	if len(queries.Design) != 4 {
		t.Fatalf("%d queries, DESIGN.md has 4", len(queries.Design))
	}
	type rule struct {
		Record string `json:"record"`
		Expr   string `json:"expr"`
	}
	var rules []rule
	for _, q := range queries.Design {
		rules = append(rules, rule{Record: q.Name, Expr: q.Expr})
	}
	file := map[string]any{"groups": []any{map[string]any{"name": "design", "rules": rules}}}
	data, err := yaml.Marshal(file)
	if err != nil {
		t.Fatal(err)
	}
	p := writeFile(t, t.TempDir(), "rules.yml", string(data))
	out, err := runTool(t, bin, "check", "rules", p)
	if err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
	if !strings.Contains(out, "4 rules found") {
		t.Fatalf("promtool found other than 4 rules:\n%s", out)
	}
	// And a broken query is refused, so the check means something.
	bad := strings.Replace(string(data), "by (app,cluster)", "by (app,cluster", 1)
	if out, err := runTool(t, bin, "check", "rules", writeFile(t, t.TempDir(), "bad.yml", bad)); err == nil {
		t.Fatalf("promtool accepted an unbalanced query:\n%s", out)
	}
}

// The recording rules pass promtool's check, and promtool's unit test
// (testdata/recording-rules-test.yml: input series of one hop and of a
// hop to local_service, the values each rule must record) against the
// rendered rules. The same rules serve both metrics modes: they read the
// series names both give.
func TestRecordingRulesWithPromtool(t *testing.T) {
	bin := tool(t, "promtool")
	for _, mode := range metricsModes {
		t.Run(mode, func(t *testing.T) {
			rel, err := render.Render(render.Options{Set: []string{"metrics.mode=" + mode}})
			if err != nil {
				t.Fatal(err)
			}
			rules, err := rel.RecordingRules()
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			rulesPath := writeFile(t, dir, "rules.yml", rules)
			out, err := runTool(t, bin, "check", "rules", rulesPath)
			if err != nil || !strings.Contains(out, "SUCCESS: 6 rules found") {
				t.Fatalf("promtool check rules: %v\n%s", err, out)
			}
			spec, err := os.ReadFile(filepath.Join("testdata", "recording-rules-test.yml"))
			if err != nil {
				t.Fatal(err)
			}
			out, err = runTool(t, bin, "test", "rules", writeFile(t, dir, "rules-test.yml", string(spec)))
			if err != nil || !strings.Contains(out, "SUCCESS") {
				t.Fatalf("promtool test rules: %v\n%s", err, out)
			}
		})
	}
}
