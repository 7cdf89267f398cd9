package charttest

import (
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/envoy-example/envoy-example/charts/queries"
	"github.com/envoy-example/envoy-example/charts/render"
	"github.com/envoy-example/envoy-example/internal/envoyproc/envoytest"
	"github.com/envoy-example/envoy-example/internal/repo"
)

// notHops are the upstream clusters of a bootstrap that are not calls of
// the mesh: the pod's own app, the Zipkin collector and the Envoy's own
// admin (behind the readiness listener).
var notHops = []string{"local_service", "jaeger", "envoy_admin"}

// bootstrapHops are the calls the rendered Envoys make: (role, cluster)
// for every cluster of a role's bootstrap named after another role. A
// cluster that is neither a role nor one of notHops fails the test.
func bootstrapHops(t *testing.T, rel *render.Release) map[queries.Hop]bool {
	t.Helper()
	bootstraps, err := rel.EnvoyBootstraps()
	if err != nil {
		t.Fatal(err)
	}
	hops := map[queries.Hop]bool{}
	for role, text := range bootstraps {
		b := parseBootstrap(t, role, text)
		if len(b.StaticResources.Clusters) == 0 {
			t.Errorf("the bootstrap of %s has no static_resources.clusters (did the YAML shape change?)", role)
		}
		for _, c := range b.StaticResources.Clusters {
			switch _, isRole := bootstraps[c.Name]; {
			case isRole && c.Name != role:
				hops[queries.Hop{App: role, Cluster: c.Name}] = true
			case slices.Contains(notHops, c.Name):
			default:
				t.Errorf("the bootstrap of %s has cluster %q, neither another role nor one of %v", role, c.Name, notHops)
			}
		}
	}
	return hops
}

func sortedHops(set map[queries.Hop]bool) []string {
	var out []string
	for h := range set {
		out = append(out, h.String())
	}
	sort.Strings(out)
	return out
}

// The smoke test is given the demo's path (--hops, --trace-services) by
// the chart, from the topology in values.yaml; with the default values it
// is every call the rendered Envoys make, and the five services.
func TestSmokeGetsTheDemoPath(t *testing.T) {
	rel, err := render.Render(render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	hops, services, err := rel.DemoPath()
	if err != nil {
		t.Fatal(err)
	}
	want := bootstrapHops(t, rel)
	got := map[queries.Hop]bool{}
	for _, h := range hops {
		got[h] = true
	}
	if a, b := sortedHops(got), sortedHops(want); !slices.Equal(a, b) {
		t.Errorf("the smoke test's hops %v, the rendered Envoys' %v", a, b)
	}
	if len(hops) != 4 {
		t.Errorf("%d hops, the demo has 4: %v", len(hops), hops)
	}
	slices.Sort(services)
	if want := []string{"frontend", "ingress", "item", "order", "user"}; !slices.Equal(services, want) {
		t.Errorf("trace services %v, want %v", services, want)
	}
}

// yourServices is a values file of services the chart does not know, and
// what the chart must make of them.
type yourServices struct {
	file string
	// hops are the calls the services add to the demo's.
	hops []queries.Hop
	// routes are the ingress's route prefixes, in order.
	routes []string
}

var yourServicesFiles = []yourServices{
	{
		file:   "examples/echo-values.yaml",
		hops:   []queries.Hop{{App: "ingress", Cluster: "echo"}},
		routes: []string{"/echo/", "/"},
	},
	{
		file: "../charttest/testdata/topology-values.yaml",
		hops: []queries.Hop{
			{App: "ingress", Cluster: "web"}, {App: "web", Cluster: "catalog"}, {App: "web", Cluster: "order"},
			{App: "catalog", Cluster: "prices"}, {App: "prices", Cluster: "user"},
		},
		routes: []string{"/shop/", "/"},
	},
}

// Services added by values alone join the mesh: each gets its Deployment
// with its args, its ServiceAccount and certificate, an Envoy whose
// bootstrap a real Envoy validates (mtls on and off), RBAC that admits
// exactly its callers, and the ingress routes its prefix; the demo's path,
// which the smoke test checks, stays the demo's.
func TestYourServicesJoinTheMesh(t *testing.T) {
	bin := envoytest.Pinned(t)
	for _, ys := range yourServicesFiles {
		for _, mtls := range []bool{true, false} {
			name := strings.TrimSuffix(filepath.Base(ys.file), ".yaml") + map[bool]string{true: "/mtls", false: "/plaintext"}[mtls]
			t.Run(name, func(t *testing.T) {
				opts := render.Options{ValuesFiles: []string{filepath.Join(chartDir(t), ys.file)}, Set: []string{"mtls.enabled=" + map[bool]string{true: "true", false: "false"}[mtls]}}
				rel, err := render.Render(opts)
				if err != nil {
					t.Fatal(err)
				}
				checkYourServices(t, bin, rel, ys, mtls)
			})
		}
	}
}

func checkYourServices(t *testing.T, bin string, rel *render.Release, ys yourServices, mtls bool) {
	demoHops, demoServices, err := rel.DemoPath()
	if err != nil {
		t.Fatal(err)
	}
	want := map[queries.Hop]bool{}
	for _, h := range append(slices.Clone(demoHops), ys.hops...) {
		want[h] = true
	}
	if got := bootstrapHops(t, rel); !slices.Equal(sortedHops(got), sortedHops(want)) {
		t.Errorf("the rendered Envoys call %v, want %v", sortedHops(got), sortedHops(want))
	}
	if len(demoHops) != 4 || len(demoServices) != 5 {
		t.Errorf("the smoke test's path changed: %v, %v", demoHops, demoServices)
	}

	// Every Envoy validates, with its SDS files and certificates on disk.
	bootstraps, err := rel.EnvoyBootstraps()
	if err != nil {
		t.Fatal(err)
	}
	var secrets map[string]*corev1.Secret
	if mtls {
		secrets = mtlsSecrets(t, rel, time.Now())
	}
	validateBootstraps(t, bin, rel, bootstraps, secrets)

	// Each new service: its app runs with its own args and no flag of the
	// demo's, under its own ServiceAccount, and admits only its callers.
	callers := map[string][]string{}
	for h := range want {
		callers[h.Cluster] = append(callers[h.Cluster], h.App)
	}
	for _, h := range ys.hops {
		svc := h.Cluster
		if slices.Contains(demoServices, svc) {
			continue
		}
		d := deployment(t, rel, svc)
		app := appContainer(t, d, svc)
		for _, a := range app.Args {
			if strings.HasPrefix(a, "--ops-listen=") || strings.HasPrefix(a, "--drain-delay=") || strings.HasPrefix(a, "--seed-scale=") {
				t.Errorf("%s: the app got the demo's flag %s", svc, a)
			}
		}
		if len(app.Args) == 0 || app.ReadinessProbe != nil {
			t.Errorf("%s: args %v, readiness probe %v: want its own args, and no probe of a port it does not open", svc, app.Args, app.ReadinessProbe)
		}
		if sa := d.Spec.Template.Spec.ServiceAccountName; sa != rel.Name(svc) {
			t.Errorf("%s runs as %q", svc, sa)
		}
		if _, ok := rel.Find("ServiceAccount", rel.Name(svc)); !ok {
			t.Errorf("%s has no ServiceAccount", svc)
		}
		if !mtls {
			continue
		}
		text := bootstraps[svc]
		for _, c := range []string{"ingress", "frontend", "web", "catalog", "prices", "echo", "order", "user", "item"} {
			id := `"spiffe://cluster.local/ns/default/sa/` + rel.Name(c) + `"`
			if admits := strings.Contains(text, "principal_name: { exact: "+id); admits != slices.Contains(callers[svc], c) {
				t.Errorf("%s's RBAC admits %s: %v, its callers are %v", svc, c, admits, callers[svc])
			}
		}
	}

	// The ingress routes by prefix, the longest first.
	var routes []string
	for _, l := range parseBootstrap(t, "ingress", bootstraps["ingress"]).StaticResources.Listeners {
		if l.Name != "ingress" {
			continue
		}
		for _, f := range l.FilterChains {
			for _, fl := range f.Filters {
				for _, vh := range fl.TypedConfig.RouteConfig.VirtualHosts {
					for _, r := range vh.Routes {
						routes = append(routes, r.Match.Prefix)
					}
				}
			}
		}
	}
	if !slices.Equal(routes, ys.routes) {
		t.Errorf("the ingress routes %v, want %v", routes, ys.routes)
	}
}

// appContainer is the container named after the service.
func appContainer(t *testing.T, d *appsv1.Deployment, name string) corev1.Container {
	t.Helper()
	for _, c := range d.Spec.Template.Spec.Containers {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("%s has no container %s", d.Name, name)
	return corev1.Container{}
}

// The example's image is fortio's, at the version the e2e loads on its
// nodes (versions.mk): the two must agree.
func TestEchoExampleUsesThePinnedFortio(t *testing.T) {
	var v struct {
		Services map[string]struct {
			Image struct{ Repository, Tag string }
		}
	}
	data := readFile(t, filepath.Join(chartDir(t), "examples", "echo-values.yaml"))
	if err := yaml.Unmarshal([]byte(data), &v); err != nil {
		t.Fatal(err)
	}
	pin, err := repo.Pin("FORTIO_VERSION")
	if err != nil {
		t.Fatal(err)
	}
	if img := v.Services["echo"].Image; img.Repository != "fortio/fortio" || "v"+img.Tag != pin {
		t.Errorf("echo's image %s:%s, versions.mk pins fortio %s", img.Repository, img.Tag, pin)
	}
}
