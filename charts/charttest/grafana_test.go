package charttest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/envoy-example/envoy-example/charts/dashboards"
	"github.com/envoy-example/envoy-example/charts/render"
)

// The dashboards ship in every install as one ConfigMap labelled the way
// kube-prometheus-stack's Grafana sidecar finds dashboards
// (grafana_dashboard: "1"), one key per file, each byte for byte the file
// that charts/dashboards validates.
func TestDashboardsConfigMap(t *testing.T) {
	dir, err := dashboards.Dir()
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboards in %s: %v", dir, err)
	}
	forEach(t, func(t *testing.T, s scenario, rel *render.Release) {
		o, ok := rel.Find("ConfigMap", rel.Name("dashboards"))
		if !ok {
			t.Fatal("no dashboards ConfigMap")
		}
		obj, err := o.Decode()
		if err != nil {
			t.Fatal(err)
		}
		cm := obj.(*corev1.ConfigMap)
		if cm.Labels["grafana_dashboard"] != "1" {
			t.Errorf("labels %v lack grafana_dashboard: \"1\"", cm.Labels)
		}
		if len(cm.Data) != len(files) {
			t.Errorf("%d keys, %d dashboard files", len(cm.Data), len(files))
		}
		for _, f := range files {
			want, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if got, ok := cm.Data[filepath.Base(f)]; !ok || got != string(want) {
				t.Errorf("key %s is not the file %s as is", filepath.Base(f), f)
			}
		}
	})
}

// Grafana (grafana.enabled) gets this release's Prometheus and Jaeger as
// data sources, by Service FQDN and port; its dashboards provider reads
// the folder where the dashboards ConfigMap is mounted; its home
// dashboard is one of them; and its root filesystem stays read-only with
// every path it writes on an emptyDir.
func TestGrafanaProvisioning(t *testing.T) {
	forEach(t, func(t *testing.T, s scenario, rel *render.Release) {
		if !s.grafana {
			if _, ok := rel.Find("Deployment", rel.Name("grafana")); ok {
				t.Fatal("grafana.enabled is false, yet Grafana is rendered")
			}
			return
		}
		text, err := rel.GrafanaDatasources()
		if err != nil {
			t.Fatal(err)
		}
		var ds struct {
			Datasources []struct {
				Name, UID, Type, URL string
				IsDefault            bool `json:"isDefault"`
			} `json:"datasources"`
		}
		if err := yaml.Unmarshal([]byte(text), &ds); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{}
		if s.prometheus {
			want["prometheus"] = fmt.Sprintf("http://%s.%s.svc.%s:9090", rel.Name("prometheus"), s.namespace(), s.clusterDomain)
		}
		if s.jaeger {
			want["jaeger"] = fmt.Sprintf("http://%s.%s.svc.%s:16686", rel.Name("jaeger-query"), s.namespace(), s.clusterDomain)
		}
		got := map[string]string{}
		for _, d := range ds.Datasources {
			got[d.Type] = d.URL
			if d.Type == "prometheus" && (!d.IsDefault || d.UID != "prometheus") {
				t.Errorf("the Prometheus data source must be the default, uid prometheus: %+v", d)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("data sources %v, want %v", got, want)
		}
		for typ, url := range want {
			svc := strings.SplitN(strings.TrimPrefix(url, "http://"), ".", 2)[0]
			if _, ok := rel.Find("Service", svc); !ok {
				t.Errorf("the %s data source names Service %s, which the chart does not render", typ, svc)
			}
		}

		o, _ := rel.Find("Deployment", rel.Name("grafana"))
		obj, err := o.Decode()
		if err != nil {
			t.Fatal(err)
		}
		spec := obj.(*appsv1.Deployment).Spec.Template.Spec
		if len(spec.Containers) != 1 || len(spec.InitContainers) != 0 {
			t.Fatalf("Grafana pod: containers %v, initContainers %v", names(spec.Containers), names(spec.InitContainers))
		}
		c := spec.Containers[0]
		if !strings.HasPrefix(c.Image, "grafana/grafana:") { // the tag: TestImageTagsMatchVersionsMk
			t.Errorf("image %s", c.Image)
		}
		mounts := map[string]corev1.VolumeMount{}
		for _, m := range c.VolumeMounts {
			mounts[m.MountPath] = m
		}
		volumes := map[string]corev1.Volume{}
		for _, v := range spec.Volumes {
			volumes[v.Name] = v
		}
		// The provider's folder is the dashboards ConfigMap's mount.
		cmObj, _ := rel.Find("ConfigMap", rel.Name("grafana"))
		cmDecoded, err := cmObj.Decode()
		if err != nil {
			t.Fatal(err)
		}
		var providers struct {
			Providers []struct {
				Options struct {
					Path string `json:"path"`
				} `json:"options"`
			} `json:"providers"`
		}
		if err := yaml.Unmarshal([]byte(cmDecoded.(*corev1.ConfigMap).Data["dashboards.yaml"]), &providers); err != nil || len(providers.Providers) != 1 {
			t.Fatalf("dashboards.yaml: %v %+v", err, providers)
		}
		m, ok := mounts[providers.Providers[0].Options.Path]
		if !ok || volumes[m.Name].ConfigMap == nil || volumes[m.Name].ConfigMap.Name != rel.Name("dashboards") {
			t.Errorf("the dashboards provider reads %s, where the dashboards ConfigMap is not mounted (mounts %v)", providers.Providers[0].Options.Path, c.VolumeMounts)
		}
		// Provisioning files land where Grafana looks for them.
		for _, dir := range []string{"datasources", "dashboards"} {
			if m, ok := mounts["/etc/grafana/provisioning/"+dir]; !ok || m.SubPath != dir {
				t.Errorf("no provisioning mount for %s: %v", dir, c.VolumeMounts)
			}
		}
		env := map[string]string{}
		for _, e := range c.Env {
			env[e.Name] = e.Value
		}
		home := env["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
		if dir, file := filepath.Split(home); strings.TrimSuffix(dir, "/") != providers.Providers[0].Options.Path || file != "mesh.json" {
			t.Errorf("home dashboard %s is not the mounted mesh.json", home)
		}
		// Writable paths are emptyDirs: the root filesystem is read-only.
		for _, p := range []string{env["GF_PATHS_DATA"], "/tmp"} {
			m, ok := mounts[p]
			if !ok || volumes[m.Name].EmptyDir == nil {
				t.Errorf("Grafana writes %s, which is no emptyDir", p)
			}
		}
		if env["GF_LOG_MODE"] != "console" {
			t.Errorf("GF_LOG_MODE %q: Grafana would write log files on a read-only filesystem", env["GF_LOG_MODE"])
		}
		if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil || c.ReadinessProbe.HTTPGet.Path != "/api/health" {
			t.Errorf("readiness probe %+v", c.ReadinessProbe)
		}
	})
}
