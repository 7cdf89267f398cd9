package charttest

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"

	"github.com/envoy-example/envoy-example/charts/render"
	"github.com/envoy-example/envoy-example/internal/repo"
)

// scenario is one way to install the chart, with what it must give.
type scenario struct {
	name string
	opts render.Options

	jaeger, prometheus bool
	grafana            bool   // grafana.enabled
	metricsMode        string // metrics.mode: statsd or prometheus
	native             bool
	mesh               bool // sidecars.enabled: the service pods get Envoy
	itemPHP            bool // services.item.implementation=php: the bridge and PHP-FPM serve item
	mtls               bool // mtls between the sidecars: mtls.enabled and sidecars.enabled
	certManager        bool // mtls.certManager.issuerRef.name: cert-manager, not certgen, makes the certificates
	userReplicas       int32
	ingressType        corev1.ServiceType
	nodePort           int32 // of the ingress; 0 when Kubernetes picks
	clusterDomain      string
}

func (s scenario) release() string   { return or(s.opts.Release, render.DefaultRelease) }
func (s scenario) namespace() string { return or(s.opts.Namespace, render.DefaultNamespace) }

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// base is the default install; the scenarios change one thing each.
func base(name string) scenario {
	return scenario{name: name, jaeger: true, prometheus: true, native: true, mesh: true, mtls: true, userReplicas: 1,
		ingressType: corev1.ServiceTypeClusterIP, clusterDomain: "cluster.local", metricsMode: "statsd"}
}

func scenarios() []scenario {
	kind := base("values-kind")
	kind.opts.ValuesFiles = []string{"values-kind.yaml"}
	kind.ingressType, kind.nodePort = corev1.ServiceTypeNodePort, 30080
	kind.grafana = true

	minikube := base("values-minikube")
	minikube.opts.ValuesFiles = []string{"values-minikube.yaml"}
	minikube.ingressType, minikube.nodePort = corev1.ServiceTypeNodePort, 30080
	minikube.grafana = true

	// Envoy's own stats instead of statsd_exporter, at the defaults, on
	// kind (Grafana on), and with plain-container sidecars.
	native := base("metrics-prometheus")
	native.opts.ValuesFiles = []string{modeValues(meshPrometheus)}
	native.metricsMode = "prometheus"
	nativeKind := kind
	nativeKind.name = "metrics-prometheus-values-kind"
	nativeKind.opts.ValuesFiles = []string{"values-kind.yaml", modeValues(meshPrometheus)}
	nativeKind.metricsMode = "prometheus"
	nativePlain := base("metrics-prometheus-plain-container-sidecars")
	nativePlain.opts.ValuesFiles = []string{modeValues(meshPrometheus)}
	nativePlain.opts.Set = []string{"sidecars.native=false"}
	nativePlain.metricsMode, nativePlain.native = "prometheus", false

	other := base("release-shop-in-namespace-prod")
	other.opts.Release, other.opts.Namespace = "shop", "prod"

	scaled := base("user-replicas-3")
	scaled.opts.Set = []string{"services.user.replicas=3"}
	scaled.userReplicas = 3

	noJaeger := base("jaeger-off")
	noJaeger.opts.Set = []string{"jaeger.enabled=false"}
	noJaeger.jaeger = false

	noProm := base("prometheus-off")
	noProm.opts.Set = []string{"prometheus.enabled=false"}
	noProm.prometheus = false

	bare := base("jaeger-and-prometheus-off")
	bare.opts.Set = []string{"jaeger.enabled=false", "prometheus.enabled=false"}
	bare.jaeger, bare.prometheus = false, false

	plain := base("plain-container-sidecars")
	plain.opts.Set = []string{"sidecars.native=false"}
	plain.native = false

	domain := base("cluster-domain")
	domain.opts.Set = []string{"clusterDomain=k8s.example.internal"}
	domain.clusterDomain = "k8s.example.internal"

	// The local CI cluster's values (ci/values-offline.yaml): only pull
	// policies change.
	offline := base("ci-values-offline")
	offline.opts.ValuesFiles = []string{"../../ci/values-offline.yaml"}

	// The mesh bypassed (make bench): no sidecars in the service pods,
	// apps wired to each other's Services; the ingress is still Envoy.
	bypass := base("sidecars-off")
	bypass.opts.ValuesFiles = []string{modeValues(bypassMode)}
	bypass.mesh, bypass.mtls = false, false

	// What make bench installs: bypassed, in another namespace, with more
	// seed data and user replicas, without Jaeger and Prometheus.
	benchBypass := base("bench-bypass")
	benchBypass.opts.Release, benchBypass.opts.Namespace = "bench", "bench-bypass"
	benchBypass.opts.ValuesFiles = []string{"../../ci/values-offline.yaml", modeValues(bypassMode)}
	benchBypass.opts.Set = []string{"jaeger.enabled=false", "prometheus.enabled=false",
		"seedScale=100", "services.user.replicas=3"}
	benchBypass.mesh, benchBypass.mtls, benchBypass.jaeger, benchBypass.prometheus, benchBypass.userReplicas = false, false, false, false, 3

	// The edges of what the schema lets through: every bound it sets on a
	// value that Envoy or an app checks at start, at the accepted side.
	// Each scenario's bootstraps go through a real Envoy's validate, so a
	// schema looser than Envoy fails here, not in a crash loop.
	edges := base("schema-edges")
	edges.opts.Set = []string{
		"envoy.timeouts.connect=0.001s", "envoy.timeouts.route=0s", "envoy.retries.perTryTimeout=0s",
		"envoy.retries.attempts=10", "envoy.concurrency=64", "envoy.drainTimeSeconds=60",
		"envoy.healthCheck.interval=0.001s", "envoy.healthCheck.timeout=999999999s", "envoy.healthCheck.noTrafficInterval=0.5s",
		"envoy.healthCheck.unhealthyThreshold=100", "envoy.healthCheck.healthyThreshold=100",
		"envoy.outlierDetection.consecutive5xx=1000", "envoy.outlierDetection.consecutiveGatewayFailure=1000",
		"envoy.outlierDetection.interval=0.001s", "envoy.outlierDetection.baseEjectionTime=0.001s", "envoy.outlierDetection.maxEjectionPercent=100",
		"envoy.dns.refreshRate=0.01s", "envoy.statsFlushInterval=299.999s",
		"seedScale=1000",
		"services.frontend.requestTimeout=1ms",
	}
	edges2 := base("schema-edges-low")
	edges2.opts.Set = []string{"envoy.statsFlushInterval=0.001s", "envoy.timeouts.connect=999999999s"}

	// Every fault on at once (the fault tour turns them on one at a
	// time), at the edges the schema allows, and outlier detection off.
	faults := base("faults-at-the-edges")
	faults.opts.Set = []string{
		"faults.frontend.abort.percent=100", "faults.frontend.abort.httpStatus=200", "faults.frontend.delay.percent=100", "faults.frontend.delay.duration=0.001s", "faults.frontend.headers=true",
		"faults.user.abort.percent=1", "faults.user.abort.grpcStatus=1", "faults.user.delay.percent=1", "faults.user.delay.duration=999999999s", "faults.user.headers=true",
		"faults.order.abort.percent=50", "faults.order.abort.grpcStatus=16", "faults.order.delay.percent=50", "faults.order.delay.duration=3s",
		"faults.item.abort.percent=30", "faults.item.headers=true", "faults.frontend.abort.httpStatus=599",
		"services.frontend.faults.failRate=1", "services.user.faults.failRate=0.001", "services.order.faults.extraLatency=999.999s", "services.item.faults.extraLatency=1ms",
		"envoy.outlierDetection.enabled=false",
	}

	// The item service's legacy PHP implementation, with each way of
	// running the sidecars (_item-php.tpl), and as CI installs it.
	php := base("item-php")
	php.opts.ValuesFiles = []string{modeValues(meshPHP)}
	php.itemPHP = true
	phpPlain := base("item-php-plain-container-sidecars")
	phpPlain.opts.ValuesFiles = []string{modeValues(meshPHP)}
	phpPlain.opts.Set = []string{"sidecars.native=false"}
	phpPlain.itemPHP, phpPlain.native = true, false
	phpBypass := base("item-php-sidecars-off")
	phpBypass.opts.ValuesFiles = []string{modeValues(meshPHP), modeValues(bypassMode)}
	phpBypass.itemPHP, phpBypass.mesh, phpBypass.mtls = true, false, false
	phpOffline := base("item-php-ci-values-offline")
	phpOffline.opts.ValuesFiles = []string{"../../ci/values-offline.yaml", modeValues(meshPHP)}
	phpOffline.itemPHP = true

	// mtls (DESIGN.md, "Mutual TLS"): off (the Envoy configs of before
	// it), with cert-manager instead of certgen, and at the edges of its
	// values (the shortest lifetime, another trust domain, a rotation).
	mtlsOff := base("mtls-off")
	mtlsOff.opts.ValuesFiles = []string{modeValues(meshPlaintext)}
	mtlsOff.mtls = false
	mtlsCM := base("mtls-cert-manager")
	mtlsCM.opts.Set = []string{"mtls.certManager.issuerRef.name=mesh-ca", "mtls.certManager.issuerRef.kind=ClusterIssuer", "mtls.certManager.issuerRef.group=cert-manager.io"}
	mtlsCM.certManager = true
	mtlsEdges := base("mtls-short-lifetime")
	mtlsEdges.opts.Set = []string{"mtls.certificateLifetime=1h", "mtls.trustDomain=mesh.example.org", "mtls.rotation=2026-11-30T12:00:00Z"}
	mtlsLong := base("mtls-longest-lifetime-plain-container-sidecars")
	mtlsLong.opts.Set = []string{"mtls.certificateLifetime=8760h", "sidecars.native=false"}
	mtlsLong.native = false

	// The mesh mode's file (it sets nothing: the defaults).
	mesh := base("mesh")
	mesh.opts.ValuesFiles = []string{modeValues(meshMode)}

	return []scenario{base("values.yaml"), mesh, kind, minikube, other, scaled, noJaeger, noProm, bare, plain, domain, offline, bypass, benchBypass, edges, edges2, faults,
		native, nativeKind, nativePlain, php, phpPlain, phpBypass, phpOffline, mtlsOff, mtlsCM, mtlsEdges, mtlsLong}
}

// The modes of ci/<mode>-values.yaml: the ways to install the chart that
// the bench measures and the e2e runs, one values file each.
const (
	meshMode       = "mesh"
	meshPrometheus = "mesh-prometheus"
	meshPlaintext  = "mesh-plaintext"
	meshPHP        = "mesh-php"
	bypassMode     = "bypass"
)

// modeValues is the values file of a mode, relative to the chart.
func modeValues(mode string) string { return filepath.Join("ci", mode+"-values.yaml") }

// plaintext is the values file of a scenario without mtls.
var plaintext = modeValues(meshPlaintext)

// forEach runs check on every scenario as a subtest.
func forEach(t *testing.T, check func(t *testing.T, s scenario, rel *render.Release)) {
	for _, s := range scenarios() {
		t.Run(s.name, func(t *testing.T) {
			check(t, s, renderScenario(t, s))
		})
	}
}

func TestLintStrict(t *testing.T) {
	lints := [][]string{nil, {"values-kind.yaml"}, {"values-minikube.yaml"}}
	for _, f := range ciValuesFiles(t) {
		lints = append(lints, []string{f})
	}
	for _, files := range lints {
		var paths []string
		for _, f := range files {
			paths = append(paths, filepath.Join(chartDir(t), f))
		}
		msgs, err := render.Lint(render.Options{ValuesFiles: paths})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if m.Severity != "INFO" {
				t.Errorf("helm lint --strict %v: %s", files, m)
			}
		}
	}
}

// ciValuesFiles are the files of the chart's ci/ (prometheus-community's
// habit): one per mode, relative to the chart.
func ciValuesFiles(t *testing.T) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(chartDir(t), "ci", "*"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range paths {
		out = append(out, filepath.Join("ci", filepath.Base(p)))
	}
	return out
}

// Every file in the chart's ci/ is a mode: named <mode>-values.yaml,
// headed by a comment saying what the mode is, and the only values of a
// scenario, so that it renders, lints and decodes strictly, and its
// bootstraps pass a real Envoy's validate (TestEnvoyValidatesEveryBootstrap)
// like every scenario's. The chart tests' scenarios of the same modes use
// these files, as the bench and the e2e do.
func TestCIValuesFilesAreScenarios(t *testing.T) {
	files := ciValuesFiles(t)
	modes := []string{meshMode, meshPrometheus, meshPlaintext, meshPHP, bypassMode}
	if len(files) != len(modes) {
		t.Errorf("ci/ holds %v, want one file per mode of %v", files, modes)
	}
	for _, m := range modes {
		if !slices.Contains(files, modeValues(m)) {
			t.Errorf("no %s for mode %s", modeValues(m), m)
		}
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			if !strings.HasSuffix(f, "-values.yaml") {
				t.Errorf("%s: want ci/<mode>-values.yaml", f)
			}
			data, err := os.ReadFile(filepath.Join(chartDir(t), f))
			if err != nil {
				t.Fatal(err)
			}
			mode := strings.TrimSuffix(filepath.Base(f), "-values.yaml")
			if !strings.HasPrefix(string(data), fmt.Sprintf("# Mode %q: ", mode)) {
				t.Errorf("%s does not start with a comment `# Mode %q: <what it is>`", f, mode)
			}
			var found bool
			for _, s := range scenarios() {
				if slices.Equal(s.opts.ValuesFiles, []string{f}) && len(s.opts.Set) == 0 && s.opts.Release == "" {
					found = true
					renderScenario(t, s)
				}
			}
			if !found {
				t.Errorf("no scenario installs %s alone: add one to scenarios()", f)
			}
		})
	}
}

// The chart's image tags are the releases versions.mk pins.
func TestImageTagsMatchVersionsMk(t *testing.T) {
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	pins, err := repo.ReadPins(root)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(chartDir(t), "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	type image struct {
		Repository string `json:"repository"`
		Tag        string `json:"tag"`
	}
	var v struct {
		Envoy          struct{ Image image } `json:"envoy"`
		StatsdExporter struct{ Image image } `json:"statsdExporter"`
		Jaeger         struct{ Image image } `json:"jaeger"`
		Prometheus     struct{ Image image } `json:"prometheus"`
		Grafana        struct{ Image image } `json:"grafana"`
	}
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		got  image
		repo string
		tag  string
	}{
		{v.Envoy.Image, "envoyproxy/envoy", "v" + pins["ENVOY_VERSION"]},
		{v.StatsdExporter.Image, "prom/statsd-exporter", pins["STATSD_EXPORTER_VERSION"]},
		{v.Jaeger.Image, "jaegertracing/jaeger", pins["JAEGER_VERSION"]},
		{v.Prometheus.Image, "prom/prometheus", pins["PROMETHEUS_VERSION"]},
		{v.Grafana.Image, "grafana/grafana", pins["GRAFANA_VERSION"]},
	} {
		if c.tag == "" || c.tag == "v" {
			t.Errorf("versions.mk pins no version for %s", c.repo)
		}
		if c.got.Repository != c.repo || c.got.Tag != c.tag {
			t.Errorf("values.yaml has %s:%s, want %s:%s (versions.mk)", c.got.Repository, c.got.Tag, c.repo, c.tag)
		}
	}
}

func TestRenderedObjectsDecodeStrictly(t *testing.T) {
	forEach(t, func(t *testing.T, s scenario, rel *render.Release) {
		// The smallest release: five Deployments and their Services, the
		// ingress's ConfigMaps and the test pod (TestRenderedObjects has the list).
		if len(rel.Objects) < 13 {
			t.Fatalf("only %d objects rendered", len(rel.Objects))
		}
		seen := map[string]bool{}
		for _, o := range rel.Objects {
			if o.APIVersion == certManagerAPI {
				// Not in client-go's scheme: TestMTLSCertManager reads it.
			} else if _, err := o.Decode(); err != nil {
				t.Error(err)
			}
			key := o.Kind + "/" + o.Name
			if seen[key] {
				t.Errorf("%s rendered twice", key)
			}
			seen[key] = true
			// Every object carries the release's labels: the e2e test's
			// uninstall check and NOTES select by them.
			var meta struct {
				Metadata struct {
					Labels map[string]string `json:"labels"`
				} `json:"metadata"`
			}
			if err := yaml.Unmarshal(o.YAML, &meta); err != nil {
				t.Fatal(err)
			}
			if meta.Metadata.Labels["app.kubernetes.io/instance"] != s.release() || meta.Metadata.Labels["app.kubernetes.io/component"] == "" {
				t.Errorf("%s lacks the instance or component label: %v", key, meta.Metadata.Labels)
			}
		}
	})
}

// What each scenario must render, by kind and name.
func TestRenderedObjects(t *testing.T) {
	forEach(t, func(t *testing.T, s scenario, rel *render.Release) {
		want := map[string][]string{}
		add := func(kind string, components ...string) {
			for _, c := range components {
				want[kind] = append(want[kind], rel.Name(c))
			}
		}
		add("Deployment", "frontend", "user", "order", "item", "ingress")
		add("Service", "frontend", "user", "order", "item", "ingress")
		add("ConfigMap", "ingress-envoy", "dashboards")
		if s.metricsMode == "statsd" {
			add("ConfigMap", "statsd-mapping")
		}
		if s.mesh {
			add("ConfigMap", "frontend-envoy", "user-envoy", "order-envoy", "item-envoy")
		}
		add("Pod", "smoke")
		// One ServiceAccount per workload, mtls or not (its name is the identity).
		add("ServiceAccount", "frontend", "user", "order", "item", "ingress")
		switch {
		case s.mtls && s.certManager:
			add("Certificate", "frontend-mtls", "user-mtls", "order-mtls", "item-mtls", "ingress-mtls")
		case s.mtls:
			add("ServiceAccount", "certgen")
			add("Role", "certgen")
			add("RoleBinding", "certgen")
			add("Job", "certgen", "certgen-delete")
		}
		if s.jaeger {
			add("Deployment", "jaeger")
			add("Service", "jaeger-zipkin", "jaeger-query")
			add("ConfigMap", "jaeger")
		}
		if s.prometheus {
			add("Deployment", "prometheus")
			add("Service", "prometheus")
			add("ConfigMap", "prometheus")
			add("ServiceAccount", "prometheus")
			add("Role", "prometheus")
			add("RoleBinding", "prometheus")
		}
		if s.grafana {
			add("Deployment", "grafana")
			add("Service", "grafana")
			add("ConfigMap", "grafana")
		}
		got := map[string][]string{}
		for _, o := range rel.Objects {
			got[o.Kind] = append(got[o.Kind], o.Name)
		}
		for kind := range got {
			if _, ok := want[kind]; !ok {
				t.Errorf("unexpected %s objects: %v", kind, got[kind])
			}
		}
		for kind, names := range want {
			slices.Sort(names)
			slices.Sort(got[kind])
			if !slices.Equal(names, got[kind]) {
				t.Errorf("%s: got %v, want %v", kind, got[kind], names)
			}
		}
	})
}

func deployment(t *testing.T, rel *render.Release, component string) *appsv1.Deployment {
	t.Helper()
	o, ok := rel.Find("Deployment", rel.Name(component))
	if !ok {
		t.Fatalf("no Deployment %s", rel.Name(component))
	}
	obj, err := o.Decode()
	if err != nil {
		t.Fatal(err)
	}
	return obj.(*appsv1.Deployment)
}

func service(t *testing.T, rel *render.Release, component string) *corev1.Service {
	t.Helper()
	o, ok := rel.Find("Service", rel.Name(component))
	if !ok {
		t.Fatalf("no Service %s", rel.Name(component))
	}
	obj, err := o.Decode()
	if err != nil {
		t.Fatal(err)
	}
	return obj.(*corev1.Service)
}

// podSpecs returns every pod template and the test pod, by component (the
// Jobs' by name without the release).
func podSpecs(t *testing.T, rel *render.Release) map[string]*corev1.PodSpec {
	t.Helper()
	specs := map[string]*corev1.PodSpec{}
	for _, o := range rel.Objects {
		if o.APIVersion == certManagerAPI {
			continue
		}
		obj, err := o.Decode()
		if err != nil {
			t.Fatal(err)
		}
		switch v := obj.(type) {
		case *appsv1.Deployment:
			specs[v.Labels["app.kubernetes.io/component"]] = &v.Spec.Template.Spec
		case *corev1.Pod:
			specs[v.Labels["app.kubernetes.io/component"]] = &v.Spec
		case *batchv1.Job: // certgen's two: certgen and certgen-delete
			specs[strings.TrimPrefix(v.Name, rel.Options.Release+"-")] = &v.Spec.Template.Spec
		}
	}
	return specs
}

func names(cs []corev1.Container) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

// Sidecars go into the four service pods and the ingress pod only; native
// sidecars are initContainers that keep running, and Envoy's startupProbe
// holds the app back until Envoy is ready.
func TestSidecarInjection(t *testing.T) {
	forEach(t, func(t *testing.T, s scenario, rel *render.Release) {
		// statsd_exporter comes first (it must be up for Envoy's first
		// stats), and only where Envoy sends statsd.
		sidecars := []string{"statsd-exporter", "envoy"}
		if s.metricsMode == "prometheus" {
			sidecars = []string{"envoy"}
		}
		for component, spec := range podSpecs(t, rel) {
			init, main := names(spec.InitContainers), names(spec.Containers)
			switch component {
			case "frontend", "user", "order", "item":
				// With item's php implementation, PHP-FPM joins the item
				// pod: the last native sidecar, or a plain container before
				// the app (_item-php.tpl).
				var want []string
				if s.mesh {
					want = slices.Clone(sidecars)
				}
				if component == "item" && s.itemPHP {
					want = append(want, "php-fpm")
				}
				wantInit, wantMain := want, []string{component}
				if !s.native {
					wantInit, wantMain = nil, append(slices.Clone(want), component)
				}
				if !slices.Equal(init, wantInit) || !slices.Equal(main, wantMain) {
					t.Errorf("%s: initContainers %v, containers %v; want %v and %v", component, init, main, wantInit, wantMain)
					continue
				}
				if len(want) == 0 && len(spec.Volumes) != 0 {
					t.Errorf("%s: no sidecars, yet volumes %v", component, spec.Volumes)
				}
				if s.native {
					for _, c := range spec.InitContainers {
						if c.RestartPolicy == nil || *c.RestartPolicy != corev1.ContainerRestartPolicyAlways {
							t.Errorf("%s: native sidecar %s lacks restartPolicy Always", component, c.Name)
						}
					}
				}
				if s.mesh && s.native && spec.InitContainers[len(sidecars)-1].StartupProbe == nil {
					t.Errorf("%s: Envoy has no startupProbe: the app could start before Envoy is ready", component)
				}
			case "ingress":
				if len(init) != 0 || !slices.Equal(main, sidecars) {
					t.Errorf("ingress: initContainers %v, containers %v", init, main)
				}
			default: // jaeger, prometheus, grafana, smoke
				for _, n := range append(init, main...) {
					if n == "envoy" || n == "statsd-exporter" {
						t.Errorf("%s got a %s sidecar", component, n)
					}
				}
			}
			// The admin port is never exposed nor probed on the pod IP.
			for _, c := range append(slices.Clone(spec.InitContainers), spec.Containers...) {
				for _, p := range c.Ports {
					if p.ContainerPort == 9901 {
						t.Errorf("%s/%s exposes Envoy's admin port", component, c.Name)
					}
				}
				for _, pr := range []*corev1.Probe{c.StartupProbe, c.ReadinessProbe, c.LivenessProbe} {
					if pr != nil && pr.HTTPGet != nil && pr.HTTPGet.Port.IntValue() == 9901 {
						t.Errorf("%s/%s probes the admin port", component, c.Name)
					}
				}
			}
		}
	})
}

// Pods meet the "restricted" Pod Security Standard.
func TestRestrictedPodSecurity(t *testing.T) {
	forEach(t, func(t *testing.T, s scenario, rel *render.Release) {
		for component, spec := range podSpecs(t, rel) {
			psc := spec.SecurityContext
			if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
				t.Errorf("%s: pod must run as a non-root uid: %+v", component, psc)
			}
			if psc == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
				t.Errorf("%s: pod lacks seccomp RuntimeDefault", component)
			}
			if spec.HostNetwork || spec.HostPID || spec.HostIPC {
				t.Errorf("%s: uses host namespaces", component)
			}
			for _, v := range spec.Volumes {
				if v.ConfigMap == nil && v.EmptyDir == nil && v.Projected == nil && v.Secret == nil {
					t.Errorf("%s: volume %s is of a type the restricted standard forbids", component, v.Name)
				}
			}
			// Prometheus lists pods; certgen reads and writes Secrets.
			wantToken := component == "prometheus" || strings.HasPrefix(component, "certgen")
			if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken != wantToken {
				t.Errorf("%s: automountServiceAccountToken should be %v", component, wantToken)
			}
			for _, c := range append(slices.Clone(spec.InitContainers), spec.Containers...) {
				sc := c.SecurityContext
				switch {
				case sc == nil:
					t.Errorf("%s/%s: no securityContext", component, c.Name)
				case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
					t.Errorf("%s/%s: allowPrivilegeEscalation must be false", component, c.Name)
				case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
					t.Errorf("%s/%s: root filesystem must be read-only", component, c.Name)
				case sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) != 0:
					t.Errorf("%s/%s: must drop ALL capabilities and add none", component, c.Name)
				case sc.Privileged != nil && *sc.Privileged:
					t.Errorf("%s/%s: privileged", component, c.Name)
				}
				for _, p := range c.Ports {
					if p.HostPort != 0 {
						t.Errorf("%s/%s: hostPort", component, c.Name)
					}
				}
			}
		}
	})
}

// Services: headless for the four apps (Envoy balances over pods), the
// ingress as the values say.
func TestServices(t *testing.T) {
	forEach(t, func(t *testing.T, s scenario, rel *render.Release) {
		for _, c := range []string{"frontend", "user", "order", "item"} {
			svc := service(t, rel, c)
			if svc.Spec.ClusterIP != corev1.ClusterIPNone {
				t.Errorf("%s: clusterIP %q, want None (headless)", c, svc.Spec.ClusterIP)
			}
			wantPort := map[bool]string{true: "http", false: "grpc"}[c == "frontend"]
			if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 8080 || svc.Spec.Ports[0].Name != wantPort {
				t.Errorf("%s: ports %+v, want 8080 named %s", c, svc.Spec.Ports, wantPort)
			}
		}
		ing := service(t, rel, "ingress")
		if ing.Spec.Type != s.ingressType {
			t.Errorf("ingress Service type %s, want %s", ing.Spec.Type, s.ingressType)
		}
		if got := ing.Spec.Ports[0].NodePort; got != s.nodePort {
			t.Errorf("ingress nodePort %d, want %d", got, s.nodePort)
		}
		if s.jaeger {
			if p := service(t, rel, "jaeger-zipkin").Spec.Ports; len(p) != 1 || p[0].Port != 9411 {
				t.Errorf("jaeger-zipkin ports %+v", p)
			}
			if p := service(t, rel, "jaeger-query").Spec.Ports; len(p) != 1 || p[0].Port != 16686 {
				t.Errorf("jaeger-query ports %+v", p)
			}
		}
		if s.prometheus {
			if p := service(t, rel, "prometheus").Spec.Ports; len(p) != 1 || p[0].Port != 9090 {
				t.Errorf("prometheus ports %+v", p)
			}
		}
		if s.grafana {
			wantNodePort := map[bool]int32{true: 30300, false: 0}[s.nodePort != 0]
			if p := service(t, rel, "grafana").Spec.Ports; len(p) != 1 || p[0].Port != 3000 || p[0].NodePort != wantNodePort {
				t.Errorf("grafana ports %+v, want 3000 with node port %d", p, wantNodePort)
			}
		}
		// Every Service selects the pods of its Deployment.
		for _, o := range rel.OfKind("Service") {
			obj, _ := o.Decode()
			svc := obj.(*corev1.Service)
			matched := false
			for _, d := range rel.OfKind("Deployment") {
				dobj, _ := d.Decode()
				labels := dobj.(*appsv1.Deployment).Spec.Template.Labels
				all := true
				for k, v := range svc.Spec.Selector {
					all = all && labels[k] == v
				}
				matched = matched || (all && len(svc.Spec.Selector) > 0)
			}
			if !matched {
				t.Errorf("Service %s selects no Deployment's pods: %v", svc.Name, svc.Spec.Selector)
			}
		}
	})
}

func TestReplicas(t *testing.T) {
	forEach(t, func(t *testing.T, s scenario, rel *render.Release) {
		if got := *deployment(t, rel, "user").Spec.Replicas; got != s.userReplicas {
			t.Errorf("user replicas %d, want %d", got, s.userReplicas)
		}
		for _, c := range []string{"frontend", "order", "item", "ingress"} {
			if got := *deployment(t, rel, c).Spec.Replicas; got != 1 {
				t.Errorf("%s replicas %d, want 1", c, got)
			}
		}
	})
}

// The app's flags: its own server on loopback, the ops port on all interfaces,
// peers through the egress listener.
func TestAppFlags(t *testing.T) {
	rel := renderScenario(t, base("values.yaml"))
	want := map[string][]string{
		"frontend": {"--listen=127.0.0.1:9090", "--ops-listen=:9091", "--log-level=info", "--drain-delay=15s", "--shutdown-timeout=10s", "--user-addr=127.0.0.1:7070", "--order-addr=127.0.0.1:7070", "--request-timeout=5s"},
		"user":     {"--listen=127.0.0.1:9090", "--ops-listen=:9091", "--log-level=info", "--drain-delay=15s", "--shutdown-timeout=10s", "--seed-scale=1"},
		"order":    {"--listen=127.0.0.1:9090", "--ops-listen=:9091", "--log-level=info", "--drain-delay=15s", "--shutdown-timeout=10s", "--seed-scale=1", "--item-addr=127.0.0.1:7070"},
		"item":     {"--listen=127.0.0.1:9090", "--ops-listen=:9091", "--log-level=info", "--drain-delay=15s", "--shutdown-timeout=10s", "--seed-scale=1"},
	}
	for c, args := range want {
		spec := deployment(t, rel, c).Spec.Template.Spec
		app := spec.Containers[len(spec.Containers)-1]
		if !slices.Equal(app.Args, args) {
			t.Errorf("%s args %v, want %v", c, app.Args, args)
		}
		if app.Image != "envoy-example/"+c+":0.1.0" {
			t.Errorf("%s image %s", c, app.Image)
		}
		if app.ReadinessProbe == nil || app.ReadinessProbe.HTTPGet.Path != "/readyz" || app.LivenessProbe == nil || app.LivenessProbe.HTTPGet.Path != "/healthz" {
			t.Errorf("%s: probes must be /readyz and /healthz on the ops port", c)
		}
	}
	// The shutdown timing the chart counts on is the one it passes: the
	// app's --drain-delay and --shutdown-timeout bound how long a
	// plain-container Envoy waits for it, and the grace period adds
	// Envoy's drain and 10 s of margin.
	for _, c := range []struct {
		set                  []string
		native               bool
		flag                 string
		wait, grace, ingress int64
	}{
		{nil, true, "--shutdown-timeout=10s", 25, 15 + 10 + 5 + 10, 5 + 5 + 10},
		{[]string{"rollout.appShutdownTimeoutSeconds=30", "sidecars.native=false"}, false, "--shutdown-timeout=30s", 45, 15 + 30 + 5 + 10, 5 + 5 + 10},
		{[]string{"rollout.appShutdownTimeoutSeconds=1", "rollout.appDrainDelaySeconds=0", "envoy.drainTimeSeconds=3"}, true, "--shutdown-timeout=1s", 1, 1 + 3 + 10, 5 + 3 + 10},
	} {
		r, err := render.Render(render.Options{Set: c.set})
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"frontend", "user", "order", "item"} {
			spec := deployment(t, r, name).Spec.Template.Spec
			app := spec.Containers[len(spec.Containers)-1]
			if !slices.Contains(app.Args, c.flag) {
				t.Errorf("%v: %s args %v lack %s", c.set, name, app.Args, c.flag)
			}
			if g := spec.TerminationGracePeriodSeconds; g == nil || *g != c.grace {
				t.Errorf("%v: %s terminationGracePeriodSeconds %v, want %d", c.set, name, g, c.grace)
			}
			if !c.native {
				var envoy corev1.Container
				for _, ct := range spec.Containers {
					if ct.Name == "envoy" {
						envoy = ct
					}
				}
				loop := fmt.Sprintf("i < %d;", c.wait)
				if envoy.Lifecycle == nil || envoy.Lifecycle.PreStop == nil || envoy.Lifecycle.PreStop.Exec == nil ||
					!strings.Contains(strings.Join(envoy.Lifecycle.PreStop.Exec.Command, " "), loop) {
					t.Errorf("%v: %s's Envoy preStop does not wait %d s for the app (%q)", c.set, name, c.wait, loop)
				}
			}
		}
		if g := deployment(t, r, "ingress").Spec.Template.Spec.TerminationGracePeriodSeconds; g == nil || *g != c.ingress {
			t.Errorf("%v: ingress terminationGracePeriodSeconds %v, want %d", c.set, g, c.ingress)
		}
	}

	// Extra env reaches the app container, sorted by name; --set makes 1 a
	// number, which becomes the string "1".
	rel2, err := render.Render(render.Options{Set: []string{"services.order.env.B_VAR=two", "services.order.env.A_VAR=1"}})
	if err != nil {
		t.Fatal(err)
	}
	spec := deployment(t, rel2, "order").Spec.Template.Spec
	env := spec.Containers[len(spec.Containers)-1].Env
	if len(env) != 2 || env[0].Name != "A_VAR" || env[0].Value != "1" || env[1].Name != "B_VAR" || env[1].Value != "two" {
		t.Errorf("order env %+v", env)
	}
}

// Without sidecars (sidecars.enabled=false) each app serves the Service
// port itself and dials its peers' Services: every peer flag names the
// FQDN and port of a headless Service of this release that selects the
// peer's pods, the app exposes that port under the Service's port name,
// and no service pod runs Envoy or carries its checksum. The ingress
// keeps its Envoy (TestSidecarInjection, TestEnvoyCrossReferences).
func TestBypassWiresAppsToServices(t *testing.T) {
	for _, s := range scenarios() {
		if s.mesh {
			continue
		}
		t.Run(s.name, func(t *testing.T) {
			rel := renderScenario(t, s)
			fqdn := func(c string) string {
				return fmt.Sprintf("%s.%s.svc.%s:8080", rel.Name(c), s.namespace(), s.clusterDomain)
			}
			seed := "--seed-scale=1"
			if strings.Contains(strings.Join(s.opts.Set, " "), "seedScale=100") {
				seed = "--seed-scale=100"
			}
			want := map[string][]string{
				"frontend": {"--listen=:8080", "--ops-listen=:9091", "--log-level=info", "--drain-delay=15s", "--shutdown-timeout=10s", "--user-addr=" + fqdn("user"), "--order-addr=" + fqdn("order"), "--request-timeout=5s"},
				"user":     {"--listen=:8080", "--ops-listen=:9091", "--log-level=info", "--drain-delay=15s", "--shutdown-timeout=10s", seed},
				"order":    {"--listen=:8080", "--ops-listen=:9091", "--log-level=info", "--drain-delay=15s", "--shutdown-timeout=10s", seed, "--item-addr=" + fqdn("item")},
				"item":     {"--listen=:8080", "--ops-listen=:9091", "--log-level=info", "--drain-delay=15s", "--shutdown-timeout=10s", seed},
			}
			if s.itemPHP {
				// The bridge, and PHP-FPM beside it (TestItemPHPPod).
				want["item"] = append(want["item"], "--php-fpm-addr=127.0.0.1:9000", "--php-script=/srv/item-php/index.php")
			}
			for c, args := range want {
				d := deployment(t, rel, c)
				spec := d.Spec.Template.Spec
				var wantInit []string
				if c == "item" && s.itemPHP {
					wantInit = []string{"php-fpm"}
				}
				if len(spec.Containers) != 1 || !slices.Equal(names(spec.InitContainers), wantInit) {
					t.Errorf("%s: containers %v, initContainers %v; want the app alone, and %v", c, names(spec.Containers), names(spec.InitContainers), wantInit)
					continue
				}
				app := spec.Containers[0]
				if !slices.Equal(app.Args, args) {
					t.Errorf("%s args %v, want %v", c, app.Args, args)
				}
				for k := range d.Spec.Template.Annotations {
					if strings.HasPrefix(k, "checksum/") {
						t.Errorf("%s: annotation %s, but it has no sidecar config", c, k)
					}
				}
				// The Service port reaches the app: same number, same name.
				svc := service(t, rel, c)
				port := svc.Spec.Ports[0]
				found := false
				for _, p := range app.Ports {
					found = found || (p.ContainerPort == port.TargetPort.IntVal && p.Name == port.Name)
				}
				if !found {
					t.Errorf("%s: the app exposes %+v, not the Service's target port %s/%s", c, app.Ports, port.Name, port.TargetPort.String())
				}
				if svc.Spec.ClusterIP != corev1.ClusterIPNone {
					t.Errorf("%s: Service clusterIP %q, want headless", c, svc.Spec.ClusterIP)
				}
				for k, v := range svc.Spec.Selector {
					if d.Spec.Template.Labels[k] != v {
						t.Errorf("%s: Service selector %s=%s does not select the Deployment's pods", c, k, v)
					}
				}
			}
			// Every peer address names a Service of this release.
			services := map[string]bool{}
			for _, o := range rel.OfKind("Service") {
				services[fmt.Sprintf("%s.%s.svc.%s:8080", o.Name, s.namespace(), s.clusterDomain)] = true
			}
			for _, c := range []string{"frontend", "order"} {
				for _, a := range deployment(t, rel, c).Spec.Template.Spec.Containers[0].Args {
					if strings.Contains(a, "-addr=") {
						if addr := a[strings.Index(a, "=")+1:]; !services[addr] {
							t.Errorf("%s: %s names no Service of the release", c, a)
						}
					}
				}
			}
			if got := *deployment(t, rel, "user").Spec.Replicas; got != s.userReplicas {
				t.Errorf("user replicas %d, want %d", got, s.userReplicas)
			}
		})
	}
}

// Every file a container's arguments name under a mounted ConfigMap is a
// key of that ConfigMap: a path typo would crash the pod at start.
func TestConfigFilesExistWhereContainersReadThem(t *testing.T) {
	forEach(t, func(t *testing.T, s scenario, rel *render.Release) {
		for component, spec := range podSpecs(t, rel) {
			volumes := map[string]string{} // volume name -> ConfigMap name
			for _, v := range spec.Volumes {
				if v.ConfigMap != nil {
					volumes[v.Name] = v.ConfigMap.Name
				}
			}
			for _, c := range append(slices.Clone(spec.InitContainers), spec.Containers...) {
				for _, m := range c.VolumeMounts {
					cmName, ok := volumes[m.Name]
					if !ok {
						continue
					}
					o, found := rel.Find("ConfigMap", cmName)
					if !found {
						t.Errorf("%s/%s mounts ConfigMap %s, which the chart does not render", component, c.Name, cmName)
						continue
					}
					obj, _ := o.Decode()
					data := obj.(*corev1.ConfigMap).Data
					for _, a := range append(slices.Clone(c.Command), c.Args...) {
						for _, f := range strings.FieldsFunc(a, func(r rune) bool { return r == '=' }) {
							if rest, ok := strings.CutPrefix(f, m.MountPath+"/"); ok {
								if _, ok := data[rest]; !ok {
									t.Errorf("%s/%s reads %s, but ConfigMap %s has no key %s", component, c.Name, f, cmName, rest)
								}
							}
						}
					}
				}
			}
		}
	})
}

// A change to a bootstrap rolls exactly the pods that use it.
func TestChecksumsRollPodsOnConfigChange(t *testing.T) {
	a := renderScenario(t, base("values.yaml"))
	// A setting every Envoy reads: the connect timeout of its clusters.
	b, err := render.Render(render.Options{Set: []string{"envoy.timeouts.connect=2s"}})
	if err != nil {
		t.Fatal(err)
	}
	bootstraps, err := a.EnvoyBootstraps()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"frontend", "user", "order", "item", "ingress"} {
		da, db := deployment(t, a, c), deployment(t, b, c)
		// The ConfigMap's block scalar adds the final newline.
		sum := da.Spec.Template.Annotations["checksum/envoy"]
		if want := fmt.Sprintf("%x", sha256.Sum256([]byte(strings.TrimSuffix(bootstraps[c], "\n")))); sum != want {
			t.Errorf("%s: checksum/envoy %s is not the sha256 of its bootstrap (%s)", c, sum, want)
		}
		if sum == db.Spec.Template.Annotations["checksum/envoy"] {
			t.Errorf("%s: checksum/envoy unchanged after the connect timeout changed", c)
		}
	}
	if deployment(t, a, "jaeger").Spec.Template.Annotations["checksum/config"] != deployment(t, b, "jaeger").Spec.Template.Annotations["checksum/config"] {
		t.Error("Jaeger rolled for an Envoy change")
	}
}

// Prometheus may read pods in its own namespace and nothing else.
func TestPrometheusRBACIsNamespaced(t *testing.T) {
	forEach(t, func(t *testing.T, s scenario, rel *render.Release) {
		if !s.prometheus {
			return
		}
		o, _ := rel.Find("Role", rel.Name("prometheus"))
		obj, err := o.Decode()
		if err != nil {
			t.Fatal(err)
		}
		role := obj.(*rbacv1.Role)
		if len(role.Rules) != 1 || !slices.Equal(role.Rules[0].Resources, []string{"pods"}) || !slices.Equal(role.Rules[0].Verbs, []string{"get", "list", "watch"}) {
			t.Errorf("Role rules %+v, want get/list/watch pods only", role.Rules)
		}
		o, _ = rel.Find("RoleBinding", rel.Name("prometheus"))
		obj, _ = o.Decode()
		rb := obj.(*rbacv1.RoleBinding)
		if rb.RoleRef.Kind != "Role" || len(rb.Subjects) != 1 || rb.Subjects[0].Namespace != s.namespace() || rb.Subjects[0].Name != rel.Name("prometheus") {
			t.Errorf("RoleBinding %+v", rb)
		}
		if sa := deployment(t, rel, "prometheus").Spec.Template.Spec.ServiceAccountName; sa != rel.Name("prometheus") {
			t.Errorf("Prometheus runs as %q", sa)
		}
	})
}

// The whole demo, at its defaults and with user scaled to 3, requests what
// a 2-CPU, 4-GiB minikube has left after Kubernetes itself (about 0.75 CPU
// and 0.7 GiB): at most 1 CPU and 1.5 GiB.
func TestResourceRequestsFitASmallMinikube(t *testing.T) {
	for _, s := range []scenario{base("values.yaml"), scenarios()[4]} { // defaults, user x3
		rel := renderScenario(t, s)
		cpu, mem := resource.Quantity{}, resource.Quantity{}
		for _, o := range rel.OfKind("Deployment") {
			obj, _ := o.Decode()
			d := obj.(*appsv1.Deployment)
			for i := int32(0); i < *d.Spec.Replicas; i++ {
				for _, c := range append(slices.Clone(d.Spec.Template.Spec.InitContainers), d.Spec.Template.Spec.Containers...) {
					if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() {
						t.Errorf("%s/%s requests no CPU or memory", d.Name, c.Name)
					}
					if c.Resources.Limits.Memory().IsZero() {
						t.Errorf("%s/%s has no memory limit", d.Name, c.Name)
					}
					cpu.Add(*c.Resources.Requests.Cpu())
					mem.Add(*c.Resources.Requests.Memory())
				}
			}
		}
		if cpu.Cmp(resource.MustParse("1")) > 0 || mem.Cmp(resource.MustParse("1536Mi")) > 0 {
			t.Errorf("%s: the demo requests %s CPU and %s memory", s.name, cpu.String(), mem.String())
		}
		t.Logf("%s: the demo requests %s CPU and %s memory", s.name, cpu.String(), mem.String())
	}
}

// NOTES tells how to reach each part for the values in use and what to run next.
func TestNotes(t *testing.T) {
	forEach(t, func(t *testing.T, s scenario, rel *render.Release) {
		n := rel.Notes
		for _, want := range []string{"helm test " + s.release() + " --namespace " + s.namespace(), "--set services.user.replicas=3"} {
			if !strings.Contains(n, want) {
				t.Errorf("NOTES lack %q:\n%s", want, n)
			}
		}
		if s.nodePort != 0 {
			for _, want := range []string{fmt.Sprintf("http://localhost:%d/", s.nodePort), fmt.Sprintf("$(minikube ip):%d/", s.nodePort)} {
				if !strings.Contains(n, want) {
					t.Errorf("NOTES lack %q:\n%s", want, n)
				}
			}
		} else if !strings.Contains(n, "port-forward service/"+rel.Name("ingress")+" 8080:8080") {
			t.Errorf("NOTES lack the ingress port-forward:\n%s", n)
		}
		if strings.Contains(n, "--set faults.item.abort.percent=30") != s.mesh {
			t.Errorf("NOTES show the fault tour's first command: %v, want %v (only with the mesh)", !s.mesh, s.mesh)
		}
		if strings.Contains(n, "goes through an Envoy sidecar") != s.mesh || strings.Contains(n, "The mesh is bypassed") == s.mesh {
			t.Errorf("NOTES misstate whether the mesh is bypassed (sidecars.enabled=%v):\n%s", s.mesh, n)
		}
		if strings.Contains(n, "Jaeger") != s.jaeger || strings.Contains(n, "Prometheus") != s.prometheus || strings.Contains(n, "Grafana") != s.grafana {
			t.Errorf("NOTES mention Jaeger/Prometheus/Grafana although they are off (or not although on):\n%s", n)
		}
		if strings.Contains(n, "localhost:9901/certs") != s.mtls {
			t.Errorf("NOTES show how to see the mTLS certificates: %v, want %v (mtls)", !s.mtls, s.mtls)
		}
		if s.grafana && s.nodePort != 0 && !strings.Contains(n, "http://localhost:30300/dashboards") {
			t.Errorf("NOTES lack Grafana's URL on kind:\n%s", n)
		}
	})
}
