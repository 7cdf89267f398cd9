// Package render renders the envoy-example chart with Helm's Go SDK, as
// `helm install --dry-run` does without a cluster, and returns the objects
// it would create, split by kind and name. Helpers pull the configs the
// chart generates (Envoy bootstraps, the statsd_exporter mapping, the
// Prometheus config) out of the rendered ConfigMaps, so that tests and
// tools check and run exactly what the chart renders.
//
//	rel, err := render.Render(render.Options{Set: []string{"services.user.replicas=3"}})
//	bootstraps, err := rel.EnvoyBootstraps() // component -> envoy.yaml
package render

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/cli/values"
	"helm.sh/helm/v3/pkg/getter"
	"helm.sh/helm/v3/pkg/lint/support"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8sjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"

	"github.com/envoy-example/envoy-example/charts/queries"
	"github.com/envoy-example/envoy-example/internal/repo"
)

// Defaults: the release the README and the tests use, and the Kubernetes
// version of the CI cluster (tools/cluster/build). Helm's SDK would otherwise
// assume Kubernetes 1.20, which the chart's kubeVersion refuses.
const (
	DefaultRelease     = "demo"
	DefaultNamespace   = "default"
	DefaultKubeVersion = "v1.35.4"
)

// ChartRelPath is where the chart lives in the repository.
const ChartRelPath = "charts/envoy-example"

// Options are what `helm install` would be given.
type Options struct {
	// ChartDir is the chart's directory; default: ChartDir().
	ChartDir string
	// Release and Namespace default to DefaultRelease and DefaultNamespace.
	Release   string
	Namespace string
	// ValuesFiles are -f files, in order; relative paths are relative to
	// the working directory, as with helm.
	ValuesFiles []string
	// Set are --set assignments, e.g. "services.user.replicas=3".
	Set []string
	// KubeVersion is the cluster's version; default DefaultKubeVersion.
	KubeVersion string
}

func (o Options) withDefaults() (Options, error) {
	if o.ChartDir == "" {
		dir, err := ChartDir()
		if err != nil {
			return o, err
		}
		o.ChartDir = dir
	}
	if o.Release == "" {
		o.Release = DefaultRelease
	}
	if o.Namespace == "" {
		o.Namespace = DefaultNamespace
	}
	if o.KubeVersion == "" {
		o.KubeVersion = DefaultKubeVersion
	}
	return o, nil
}

// Object is one rendered Kubernetes object.
type Object struct {
	APIVersion string
	Kind       string
	Name       string
	// Source is the template that rendered it, e.g.
	// "envoy-example/templates/services.yaml".
	Source string
	// Hook is set for hooks such as the helm test pod.
	Hook bool
	// YAML is the object's document as rendered.
	YAML []byte
}

// Release is a rendered release.
type Release struct {
	Options Options
	Objects []Object
	// Notes is the rendered NOTES.txt.
	Notes string
}

// Render renders the chart as `helm install` would: values files and --set
// merged over values.yaml, values.schema.json enforced.
func Render(opts Options) (*Release, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	chrt, err := loader.Load(opts.ChartDir)
	if err != nil {
		return nil, fmt.Errorf("loading the chart: %w", err)
	}
	vals, err := (&values.Options{ValueFiles: opts.ValuesFiles, Values: opts.Set}).MergeValues(getter.Providers{})
	if err != nil {
		return nil, err
	}
	kv, err := chartutil.ParseKubeVersion(opts.KubeVersion)
	if err != nil {
		return nil, fmt.Errorf("kube version %q: %w", opts.KubeVersion, err)
	}

	install := action.NewInstall(&action.Configuration{Log: func(string, ...interface{}) {}})
	install.DryRun = true
	install.DryRunOption = "client"
	install.ClientOnly = true
	install.Replace = true
	install.ReleaseName = opts.Release
	install.Namespace = opts.Namespace
	install.KubeVersion = kv
	rel, err := install.Run(chrt, vals)
	if err != nil {
		return nil, err
	}

	out := &Release{Options: opts, Notes: rel.Info.Notes}
	objs, err := split(rel.Manifest, false)
	if err != nil {
		return nil, err
	}
	out.Objects = objs
	for _, h := range rel.Hooks {
		objs, err := split(fmt.Sprintf("# Source: %s\n%s", h.Path, h.Manifest), true)
		if err != nil {
			return nil, err
		}
		out.Objects = append(out.Objects, objs...)
	}
	return out, nil
}

// split cuts a multi-document manifest into objects, reading each
// document's "# Source:" comment.
func split(manifest string, hook bool) ([]Object, error) {
	var objs []Object
	source := ""
	for _, doc := range strings.Split("\n"+manifest, "\n---") {
		for _, line := range strings.Split(doc, "\n") {
			if s, ok := strings.CutPrefix(line, "# Source: "); ok {
				source = s
			}
		}
		var meta struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
			return nil, fmt.Errorf("%s: %w", source, err)
		}
		if meta.Kind == "" {
			if strings.TrimSpace(stripComments(doc)) != "" {
				return nil, fmt.Errorf("%s: a document without kind:\n%s", source, doc)
			}
			continue
		}
		objs = append(objs, Object{
			APIVersion: meta.APIVersion,
			Kind:       meta.Kind,
			Name:       meta.Metadata.Name,
			Source:     source,
			Hook:       hook,
			YAML:       []byte(strings.TrimSpace(doc) + "\n"),
		})
	}
	return objs, nil
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, line := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// strictCodec decodes YAML into the registered Kubernetes types and fails
// on unknown or duplicate fields, as a strict API server would.
var strictCodec = k8sjson.NewSerializerWithOptions(k8sjson.DefaultMetaFactory, scheme.Scheme, scheme.Scheme,
	k8sjson.SerializerOptions{Yaml: true, Strict: true})

// Decode decodes the object strictly into its k8s.io/api type (a
// *appsv1.Deployment, a *corev1.Service, ...). A field the type does not
// have is an error.
func (o Object) Decode() (runtime.Object, error) {
	obj, _, err := strictCodec.Decode(o.YAML, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("%s %s (%s): %w", o.Kind, o.Name, o.Source, err)
	}
	return obj, nil
}

// Find returns the object of that kind and name.
func (r *Release) Find(kind, name string) (Object, bool) {
	for _, o := range r.Objects {
		if o.Kind == kind && o.Name == name {
			return o, true
		}
	}
	return Object{}, false
}

// OfKind returns the objects of one kind, in rendering order.
func (r *Release) OfKind(kind string) []Object {
	var objs []Object
	for _, o := range r.Objects {
		if o.Kind == kind {
			objs = append(objs, o)
		}
	}
	return objs
}

// ByKind groups the objects by kind, then name.
func (r *Release) ByKind() map[string]map[string]Object {
	m := map[string]map[string]Object{}
	for _, o := range r.Objects {
		if m[o.Kind] == nil {
			m[o.Kind] = map[string]Object{}
		}
		m[o.Kind][o.Name] = o
	}
	return m
}

// Name is the name the chart gives one component's resources:
// <release>-<component>, e.g. demo-user.
func (r *Release) Name(component string) string {
	return r.Options.Release + "-" + component
}

// DemoPath is the demo's path (GET /, the report) as the chart's smoke test
// checks it: the hops each of the four queries must answer for and the
// services whose spans the report's trace must hold, both derived by the
// chart from the topology in values.yaml and given to the smoke pod as
// --hops and --trace-services.
func (r *Release) DemoPath() (hops []queries.Hop, services []string, err error) {
	obj, ok := r.Find("Pod", r.Name("smoke"))
	if !ok {
		return nil, nil, fmt.Errorf("no smoke test pod %s in the render", r.Name("smoke"))
	}
	o, err := obj.Decode()
	if err != nil {
		return nil, nil, err
	}
	for _, arg := range o.(*corev1.Pod).Spec.Containers[0].Args {
		if v, ok := strings.CutPrefix(arg, "--hops="); ok {
			if hops, err = queries.ParseHops(v); err != nil {
				return nil, nil, fmt.Errorf("the smoke pod's --hops: %w", err)
			}
		}
		if v, ok := strings.CutPrefix(arg, "--trace-services="); ok {
			services = strings.Split(v, ",")
		}
	}
	if hops == nil || len(services) == 0 {
		return nil, nil, fmt.Errorf("the smoke pod has no --hops or --trace-services")
	}
	return hops, services, nil
}

// configMaps decodes every ConfigMap.
func (r *Release) configMaps() ([]*corev1.ConfigMap, error) {
	var cms []*corev1.ConfigMap
	for _, o := range r.OfKind("ConfigMap") {
		obj, err := o.Decode()
		if err != nil {
			return nil, err
		}
		cms = append(cms, obj.(*corev1.ConfigMap))
	}
	return cms, nil
}

// configFile returns the one ConfigMap entry called key.
func (r *Release) configFile(key string) (string, error) {
	cms, err := r.configMaps()
	if err != nil {
		return "", err
	}
	var found []string
	for _, cm := range cms {
		if v, ok := cm.Data[key]; ok {
			found = append(found, v)
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("no ConfigMap holds %s", key)
	case 1:
		return found[0], nil
	default:
		return "", fmt.Errorf("%d ConfigMaps hold %s", len(found), key)
	}
}

// EnvoyBootstraps returns every rendered Envoy bootstrap (the envoy.yaml of
// each component's ConfigMap), by component: frontend, user, order, item,
// ingress.
func (r *Release) EnvoyBootstraps() (map[string]string, error) {
	cms, err := r.configMaps()
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, cm := range cms {
		v, ok := cm.Data["envoy.yaml"]
		if !ok {
			continue
		}
		component := cm.Labels["app.kubernetes.io/component"]
		if component == "" {
			return nil, fmt.Errorf("ConfigMap %s has no app.kubernetes.io/component label", cm.Name)
		}
		if _, dup := out[component]; dup {
			return nil, fmt.Errorf("two Envoy bootstraps for %s", component)
		}
		out[component] = v
	}
	if len(out) == 0 {
		return nil, errors.New("no Envoy bootstrap rendered")
	}
	return out, nil
}

// EnvoyFiles returns every file of each component's Envoy ConfigMap, by
// component then file name: envoy.yaml, and with mtls the SDS files
// (sds-certificate.yaml, sds-validation.yaml) that Envoy reads beside it
// in /etc/envoy.
func (r *Release) EnvoyFiles() (map[string]map[string]string, error) {
	cms, err := r.configMaps()
	if err != nil {
		return nil, err
	}
	out := map[string]map[string]string{}
	for _, cm := range cms {
		if _, ok := cm.Data["envoy.yaml"]; !ok {
			continue
		}
		out[cm.Labels["app.kubernetes.io/component"]] = cm.Data
	}
	if len(out) == 0 {
		return nil, errors.New("no Envoy ConfigMap rendered")
	}
	return out, nil
}

// StatsdMapping returns the statsd_exporter mapping (mapping.yaml).
func (r *Release) StatsdMapping() (string, error) { return r.configFile("mapping.yaml") }

// PrometheusConfig returns the Prometheus config (prometheus.yml).
func (r *Release) PrometheusConfig() (string, error) { return r.configFile("prometheus.yml") }

// RecordingRules returns Prometheus's recording rules (rules.yml), which
// the Prometheus config names beside it.
func (r *Release) RecordingRules() (string, error) { return r.configFile("rules.yml") }

// GrafanaDatasources returns Grafana's provisioned data sources (datasources.yaml).
func (r *Release) GrafanaDatasources() (string, error) { return r.configFile("datasources.yaml") }

// JaegerConfig returns the Jaeger v2 config (config.yaml of the Jaeger ConfigMap).
func (r *Release) JaegerConfig() (string, error) { return r.configFile("config.yaml") }

// ChartDir returns the chart's directory in the repository that holds the
// working directory (repo.Root).
func ChartDir() (string, error) {
	root, err := repo.Root()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(root, ChartRelPath)
	if _, err := os.Stat(filepath.Join(dir, "Chart.yaml")); err != nil {
		return "", fmt.Errorf("no chart at %s: %w", ChartRelPath, err)
	}
	return dir, nil
}

// PortsFile is the chart's table of ports, each named once: the templates
// read it (the envoy-example.port helper of _ports.tpl), and so do Ports and
// the tests.
const PortsFile = "ports.yaml"

// Ports reads the chart's ports.yaml: each port's number by its name
// (service 8080, egress 7070, envoyAdmin 9901, ...).
func Ports() (map[string]int32, error) {
	dir, err := ChartDir()
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(dir, PortsFile))
	if err != nil {
		return nil, err
	}
	var ports map[string]int32
	if err := yaml.UnmarshalStrict(b, &ports); err != nil {
		return nil, fmt.Errorf("%s: %w", PortsFile, err)
	}
	for name, p := range ports {
		if p < 1 || p > 65535 {
			return nil, fmt.Errorf("%s: port %s is %d, not 1 to 65535", PortsFile, name, p)
		}
	}
	return ports, nil
}

// LintMessage is one finding of `helm lint`.
type LintMessage struct {
	Severity string // INFO, WARNING or ERROR
	Path     string
	Text     string
}

func (m LintMessage) String() string { return fmt.Sprintf("[%s] %s: %s", m.Severity, m.Path, m.Text) }

// Lint runs Helm's linter on the chart, as `helm lint` does, with the
// values of opts (values files and --set). It returns every message; with
// --strict, a WARNING or an ERROR fails.
func Lint(opts Options) ([]LintMessage, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	vals, err := (&values.Options{ValueFiles: opts.ValuesFiles, Values: opts.Set}).MergeValues(getter.Providers{})
	if err != nil {
		return nil, err
	}
	kv, err := chartutil.ParseKubeVersion(opts.KubeVersion)
	if err != nil {
		return nil, err
	}
	l := action.NewLint()
	l.Strict = true
	l.Namespace = opts.Namespace
	l.KubeVersion = kv
	res := l.Run([]string{opts.ChartDir}, vals)
	var msgs []LintMessage
	for _, m := range res.Messages {
		sev := "INFO"
		switch m.Severity {
		case support.WarningSev:
			sev = "WARNING"
		case support.ErrorSev:
			sev = "ERROR"
		}
		msgs = append(msgs, LintMessage{Severity: sev, Path: m.Path, Text: m.Err.Error()})
	}
	sort.SliceStable(msgs, func(i, j int) bool { return msgs[i].Severity < msgs[j].Severity })
	for _, e := range res.Errors {
		if !hasText(msgs, e.Error()) {
			msgs = append(msgs, LintMessage{Severity: "ERROR", Path: opts.ChartDir, Text: e.Error()})
		}
	}
	return msgs, nil
}

func hasText(msgs []LintMessage, text string) bool {
	for _, m := range msgs {
		if m.Text == text || strings.Contains(text, m.Text) {
			return true
		}
	}
	return false
}
