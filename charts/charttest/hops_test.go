package charttest

import (
	"slices"
	"sort"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/envoy-example/envoy-example/charts/queries"
	"github.com/envoy-example/envoy-example/charts/render"
)

// hopsNotHops are the upstream clusters of a bootstrap that are not calls of
// the mesh: the pod's own app, the Zipkin collector and the Envoy's own
// admin (behind the readiness listener).
var hopsNotHops = []string{"local_service", "jaeger", "envoy_admin"}

// queries.Hops, the hops each DESIGN.md query must answer for (the smoke
// checker and the e2e test require a series per hop), is exactly the
// chart's topology: the (role, cluster) pairs where a role's rendered Envoy
// bootstrap has a cluster named after another role. So adding, removing or
// renaming a call in _topology.tpl fails here until Hops follows.
func TestHopsMatchTheChartTopology(t *testing.T) {
	rel, err := render.Render(render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	bootstraps, err := rel.EnvoyBootstraps()
	if err != nil {
		t.Fatal(err)
	}
	var chart []queries.Hop
	for role, text := range bootstraps {
		var b struct {
			StaticResources struct {
				Clusters []struct {
					Name string `json:"name"`
				} `json:"clusters"`
			} `json:"static_resources"`
		}
		if err := yaml.Unmarshal([]byte(text), &b); err != nil {
			t.Fatalf("the bootstrap of %s: %v", role, err)
		}
		if len(b.StaticResources.Clusters) == 0 {
			t.Errorf("the bootstrap of %s has no static_resources.clusters (did the YAML shape change?)", role)
		}
		for _, c := range b.StaticResources.Clusters {
			switch _, isRole := bootstraps[c.Name]; {
			case isRole && c.Name != role:
				chart = append(chart, queries.Hop{App: role, Cluster: c.Name})
			case slices.Contains(hopsNotHops, c.Name):
			default:
				// Neither a call nor a known helper: decide whether it is a
				// hop before this test can say Hops is complete.
				t.Errorf("the bootstrap of %s has cluster %q, neither another role (%v) nor one of %v", role, c.Name, hopsRoles(bootstraps), hopsNotHops)
			}
		}
	}
	if len(chart) == 0 {
		t.Fatalf("no hop found in the bootstraps of %v", hopsRoles(bootstraps))
	}

	want := hopSet(t, "the chart", chart)
	got := hopSet(t, "queries.Hops", queries.Hops)
	for h := range want {
		if !got[h] {
			t.Errorf("the chart has hop %s (the bootstrap of %s has cluster %s), queries.Hops lacks it", h, h.App, h.Cluster)
		}
	}
	for h := range got {
		if !want[h] {
			t.Errorf("queries.Hops has %s, the chart has no such hop (no bootstrap of a role %s with a cluster %s)", h, h.App, h.Cluster)
		}
	}
	if t.Failed() {
		t.Logf("hops of the chart: %v; queries.Hops: %v", sortedHops(chart), queries.Hops)
	}
}

// hopSet returns hops as a set, failing on a hop listed twice.
func hopSet(t *testing.T, what string, hops []queries.Hop) map[queries.Hop]bool {
	t.Helper()
	set := map[queries.Hop]bool{}
	for _, h := range hops {
		if set[h] {
			t.Errorf("%s lists hop %s twice", what, h)
		}
		set[h] = true
	}
	return set
}

func sortedHops(hops []queries.Hop) []string {
	var out []string
	for _, h := range hops {
		out = append(out, h.String())
	}
	sort.Strings(out)
	return out
}

func hopsRoles(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
