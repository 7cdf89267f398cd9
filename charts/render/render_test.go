package render_test

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/envoy-example/envoy-example/charts/render"
)

func TestRenderSplitsTheReleaseIntoObjects(t *testing.T) {
	rel, err := render.Render(render.Options{Release: "shop", Namespace: "prod"})
	if err != nil {
		t.Fatal(err)
	}
	if rel.Options.KubeVersion != render.DefaultKubeVersion {
		t.Errorf("kube version %q", rel.Options.KubeVersion)
	}
	for _, o := range rel.Objects {
		if o.Kind == "" || o.Name == "" || !strings.HasPrefix(o.Source, "envoy-example/templates/") {
			t.Errorf("object without kind, name or source: %+v", o)
		}
		if !strings.Contains(string(o.YAML), "name: "+o.Name) {
			t.Errorf("%s/%s: YAML is not its own document", o.Kind, o.Name)
		}
	}
	smoke, ok := rel.Find("Pod", "shop-smoke")
	if !ok || !smoke.Hook || smoke.Source != "envoy-example/templates/tests/smoke.yaml" {
		t.Errorf("the helm test pod: %+v", smoke)
	}
	if got := len(rel.ByKind()["Deployment"]); got != 7 || len(rel.OfKind("Deployment")) != 7 {
		t.Errorf("%d Deployments, want 7", got)
	}
	obj, err := rel.ByKind()["Service"]["shop-user"].Decode()
	if err != nil {
		t.Fatal(err)
	}
	if svc, ok := obj.(*corev1.Service); !ok || svc.Namespace != "" && svc.Namespace != "prod" {
		t.Errorf("decoded %T %+v", obj, obj)
	}
	if !strings.Contains(rel.Notes, "helm test shop --namespace prod") {
		t.Errorf("notes:\n%s", rel.Notes)
	}
}

func TestConfigHelpers(t *testing.T) {
	rel, err := render.Render(render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := rel.EnvoyBootstraps()
	if err != nil || len(b) != 5 || !strings.Contains(b["user"], "cluster: user") {
		t.Fatalf("bootstraps: %v %v", len(b), err)
	}
	for name, get := range map[string]func() (string, error){
		"statsd mapping": rel.StatsdMapping, "prometheus config": rel.PrometheusConfig, "jaeger config": rel.JaegerConfig,
	} {
		if s, err := get(); err != nil || len(s) < 100 {
			t.Errorf("%s: %d bytes, %v", name, len(s), err)
		}
	}
	off, err := render.Render(render.Options{Set: []string{"prometheus.enabled=false", "jaeger.enabled=false"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := off.PrometheusConfig(); err == nil {
		t.Error("a Prometheus config without Prometheus")
	}
}

func TestRenderRefusesWhatHelmRefuses(t *testing.T) {
	if _, err := render.Render(render.Options{Set: []string{"services.user.replicas=-1"}}); err == nil || !strings.Contains(err.Error(), "/services/user/replicas") {
		t.Errorf("negative replicas: %v", err)
	}
	if _, err := render.Render(render.Options{KubeVersion: "1.28.0"}); err == nil || !strings.Contains(err.Error(), "kubeVersion") {
		t.Errorf("Kubernetes 1.28: %v", err)
	}
	if _, err := render.Render(render.Options{ChartDir: t.TempDir()}); err == nil {
		t.Error("rendered an empty directory")
	}
}

func TestLintReportsProblems(t *testing.T) {
	msgs, err := render.Lint(render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if m.Severity != "INFO" {
			t.Errorf("%s", m)
		}
	}
	msgs, err = render.Lint(render.Options{Set: []string{"services.user.replica=3"}})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, m := range msgs {
		found = found || (m.Severity == "ERROR" && strings.Contains(m.Text, "replica"))
	}
	if !found {
		t.Errorf("lint with a misspelt key reported %v", msgs)
	}
}

// Ports reads the chart's ports.yaml, the one table the templates read.
func TestPorts(t *testing.T) {
	ports, err := render.Ports()
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]int32{"service": 8080, "egress": 7070, "app": 9090, "appOps": 9091, "envoyAdmin": 9901, "envoyReady": 15021} {
		if ports[name] != want {
			t.Errorf("port %s is %d, want %d", name, ports[name], want)
		}
	}
}
