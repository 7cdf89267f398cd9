//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/envoy-example/envoy-example/charts/render"
	"github.com/envoy-example/envoy-example/internal/kube"
	"github.com/envoy-example/envoy-example/services/frontend/report"
)

// release is the chart's release the e2e drives, and what the steps
// share. Nothing here is carried from one step to the next that a step
// starting on an installed release could not make again: the loader and
// the full report are made on first use.
type release struct {
	ctx   context.Context
	k     *kube.Client
	s     settings
	root  string // the repository
	chart string // charts/envoy-example
	// top is TestDemo's own T: what must outlive a step (the fortio pod)
	// is cleaned up with it.
	top *testing.T

	full     *fullReport     // made by fullReport
	loader   *loader         // made by load
	rendered *render.Release // the chart as installed, from readDemoPath
}

func newRelease(t *testing.T, ctx context.Context, s settings) *release {
	t.Helper()
	root := repoRoot(t)
	r := &release{ctx: ctx, k: connect(t), s: s, root: root, chart: filepath.Join(root, "charts", "envoy-example"), top: t}
	r.readDemoPath(t)
	return r
}

// valuesFiles are E2E_VALUES's files, relative ones from the repository's root.
func (r *release) valuesFiles() []string {
	var files []string
	for _, f := range r.s.values {
		if !filepath.IsAbs(f) {
			f = filepath.Join(r.root, f)
		}
		files = append(files, f)
	}
	return files
}

// readDemoPath renders the chart once, as the e2e installs it, and reads
// the demo's path from it, as its smoke test is given it
// (render.DemoPath): the hops each query must answer for and the services
// of a report's trace, which are also the workloads the steps scale and
// roll. They come from the topology in values.yaml (with the e2e's values
// files), not from a list here. Steps read other rendered objects from
// r.rendered.
func (r *release) readDemoPath(t *testing.T) {
	t.Helper()
	rel, err := render.Render(render.Options{Release: r.s.release, Namespace: r.s.namespace, ValuesFiles: r.valuesFiles()})
	if err != nil {
		t.Fatalf("the chart's render, for the demo's path: %v", err)
	}
	r.rendered = rel
	if demoHops, workloads, err = rel.DemoPath(); err != nil {
		t.Fatal(err)
	}
	t.Logf("the demo's path: hops %v, workloads %v", demoHops, workloads)
}

// selector selects the pods of one component of the release.
func (r *release) selector(component string) string {
	return fmt.Sprintf("app.kubernetes.io/instance=%s,app.kubernetes.io/component=%s", r.s.release, component)
}

// helm runs go tool helm in the release's namespace and fails the step
// when it fails.
func (r *release) helm(t *testing.T, args ...string) string {
	t.Helper()
	start := time.Now()
	args = append([]string{"--namespace", r.s.namespace}, args...)
	out, err := r.k.Helm(r.ctx, args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("go tool helm %s (%s)", strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
	return out
}

// install installs the chart with the values files of E2E_VALUES.
func (r *release) install(t *testing.T) {
	t.Helper()
	args := []string{"upgrade", "--install", r.s.release, r.chart, "--wait", "--timeout", "10m"}
	for _, f := range r.valuesFiles() {
		args = append(args, "-f", f)
	}
	r.helm(t, args...)
}

// mustBeInstalled fails unless the release is deployed: a run that
// starts after step 1 needs it.
func (r *release) mustBeInstalled(t *testing.T) {
	t.Helper()
	out, err := r.k.Helm(r.ctx, "--namespace", r.s.namespace, "status", r.s.release, "-o", "json")
	var st struct {
		Info struct{ Status string } `json:"info"`
	}
	if err == nil {
		err = json.Unmarshal([]byte(out), &st)
	}
	if err != nil || st.Info.Status != "deployed" {
		t.Fatalf("release %s in namespace %s: %q %v: a run that starts after 1-install needs it installed (E2E_KEEP=1 keeps it after a failure)",
			r.s.release, r.s.namespace, st.Info.Status, err)
	}
}

// upgrade runs helm upgrade --reset-then-reuse-values with extra flags
// (the chart's defaults, then the values of the last upgrade, then the
// flags: a chart newer than the release's gets its new keys), e.g.
// "--set", "services.user.replicas=3", or "-f", r.ciValues(t, ...).
func (r *release) upgrade(t *testing.T, flags ...string) {
	t.Helper()
	r.helm(t, append([]string{"upgrade", r.s.release, r.chart, "--reset-then-reuse-values", "--wait", "--timeout", "10m"}, flags...)...)
	// helm's --wait ends once the new pods are ready; a step must also
	// know that no pod of the previous revision still serves.
	if err := r.k.WaitSettled(r.ctx, r.s.namespace, 5*time.Minute); err != nil {
		t.Fatal(err)
	}
}

// ciValues is the path of one of the chart's values files for a mode,
// charts/envoy-example/ci/<name> (mesh-prometheus-values.yaml,
// mesh-plaintext-values.yaml, mesh-php-values.yaml), as "-f" flags.
func (r *release) ciValues(t *testing.T, name string) []string {
	t.Helper()
	f := filepath.Join(r.chart, "ci", name)
	if _, err := os.Stat(f); err != nil {
		t.Fatalf("the values file of the mode: %v", err)
	}
	return []string{"-f", f}
}

// replicaKey is the value that sets a component's replicas.
func replicaKey(component string) string {
	if component == "ingress" {
		return "ingress.replicas"
	}
	return "services." + component + ".replicas"
}

// replicas sets the replicas of the given components and waits until
// exactly that many pods of each exist, all Ready: the pods a scale
// down removes are gone, not just terminating.
func (r *release) replicas(t *testing.T, n int, components ...string) {
	t.Helper()
	var set []string
	for _, c := range components {
		set = append(set, "--set", fmt.Sprintf("%s=%d", replicaKey(c), n))
	}
	r.upgrade(t, set...)
	for _, c := range components {
		waitPods(t, r.ctx, r.k, r.s.namespace, r.selector(c), n)
	}
}

// change runs helm upgrade with flags and waits until every workload has
// its two pods, all of the new config: helm's --wait returns while the old
// pods still drain, and a step must measure the new config alone. The
// steps from 10 on run at two pods of everything.
func (r *release) change(t *testing.T, flags ...string) {
	t.Helper()
	r.upgrade(t, flags...)
	for _, c := range workloads {
		waitPods(t, r.ctx, r.k, r.s.namespace, r.selector(c), 2)
	}
}

// values are the release's values as helm computes them (the chart's
// defaults and every upgrade's), by dotted key: "metrics.mode" ->
// "statsd", "services.user.replicas" -> "2".
func (r *release) values(t *testing.T) map[string]string {
	t.Helper()
	out, err := r.k.Helm(r.ctx, "--namespace", r.s.namespace, "get", "values", r.s.release, "--all", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(out)))
	dec.UseNumber()
	var tree map[string]any
	if err := dec.Decode(&tree); err != nil {
		t.Fatalf("helm get values: %v\n%s", err, out)
	}
	flat := map[string]string{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		if m, ok := v.(map[string]any); ok {
			for k, x := range m {
				walk(prefix+k+".", x)
			}
			return
		}
		flat[strings.TrimSuffix(prefix, ".")] = fmt.Sprint(v)
	}
	walk("", tree)
	return flat
}

// ensure brings the release into the state a step starts from (value by
// dotted key) when it is not there: a step run on its own, or after a
// step that failed half-way, finds it as the full run leaves it. In a
// full run the state is always there already and nothing is upgraded.
func (r *release) ensure(t *testing.T, want map[string]string) {
	t.Helper()
	have := r.values(t)
	var set, diffs []string
	for k, v := range want {
		if have[k] != v {
			set = append(set, "--set", k+"="+v)
			diffs = append(diffs, fmt.Sprintf("%s=%s (was %q)", k, v, have[k]))
		}
	}
	if len(set) == 0 {
		return
	}
	sort.Strings(diffs)
	t.Logf("the release is not in the state this step starts from; setting %s", strings.Join(diffs, ", "))
	r.upgrade(t, set...)
	for _, c := range workloads {
		if n, ok := want[replicaKey(c)]; ok {
			pods, err := strconv.Atoi(n)
			if err != nil {
				t.Fatalf("%s=%s: %v", replicaKey(c), n, err)
			}
			waitPods(t, r.ctx, r.k, r.s.namespace, r.selector(c), pods)
		}
	}
}

// atTwoPods is the state of the steps from 11 on: two pods of every
// workload, mTLS on, no fault, retries on, item in Go.
func atTwoPods(extra map[string]string) map[string]string {
	want := map[string]string{
		"mtls.enabled":                 "true",
		"services.item.implementation": "go",
		"envoy.retries.attempts":       "2",
		"faults.item.abort.percent":    "0",
		"faults.order.delay.percent":   "0",
	}
	for _, c := range workloads {
		want[replicaKey(c)] = "2"
	}
	for k, v := range extra {
		want[k] = v
	}
	return want
}

// helmTest runs `helm test`. The smoke pod is deleted when it passes
// (so uninstall leaves nothing); when it fails it stays, and its log
// says which check.
func (r *release) helmTest(t *testing.T) {
	t.Helper()
	out, err := r.k.Helm(r.ctx, "--namespace", r.s.namespace, "test", r.s.release, "--timeout", "5m")
	t.Logf("helm test %s:\n%s", r.s.release, out)
	if err != nil {
		logs, lerr := r.k.Clientset.CoreV1().Pods(r.s.namespace).GetLogs(r.s.release+"-smoke", &corev1.PodLogOptions{}).DoRaw(r.ctx)
		t.Fatalf("helm test: %v\nsmoke checker log (%v):\n%s", err, lerr, logs)
	}
}

// forwardTo port-forwards to port of a ready pod of a component for the
// rest of the step, and returns the local address.
func (r *release) forwardTo(t *testing.T, component string, port int) string {
	t.Helper()
	return forwardToComponent(t, r.ctx, r.k, r.s.namespace, r.selector(component), port)
}

// ingress is a port-forward to a ready ingress pod, made anew each time:
// upgrades replace the ingress pods.
func (r *release) ingress(t *testing.T) string {
	t.Helper()
	return r.forwardTo(t, "ingress", port("service"))
}

// fullReport is a full report as the ingress answers it: what a 200 of
// the load must carry.
type fullReport struct {
	rep  report.Report
	body []byte
	// itemText is the bytes of text that item's answer adds to it
	// (report.ItemText): a body without item's answer is that much shorter.
	itemText int
}

// fullReport gets the report through the ingress, checks it
// (report.Check: the seed data through every hop) and keeps it for the
// run; step 3 makes it, a run that starts later makes it on first use.
func (r *release) fullReport(t *testing.T) *fullReport {
	t.Helper()
	if r.full != nil {
		return r.full
	}
	ingress := r.ingress(t)
	var full *fullReport
	eventually(t, r.ctx, time.Minute, "GET / through the ingress", func() error {
		rep, body, err := getReport(ingress, "e2e-report")
		if err == nil {
			full = &fullReport{rep: rep, body: body, itemText: rep.ItemText()}
		}
		return err
	})
	if err := report.Check(full.rep); err != nil {
		t.Fatal(err)
	}
	r.full = full
	return full
}

// load is the loader: a fortio pod in the release's namespace sending to
// the ingress Service, made on first use and deleted when TestDemo ends.
func (r *release) load(t *testing.T) *loader {
	t.Helper()
	if r.loader == nil {
		r.loader = newLoader(t, r.top, r.ctx, r.k, r.s.namespace, fmt.Sprintf("http://%s-ingress:%d/", r.s.release, port("service")), r.fullReport(t))
	}
	return r.loader
}

// underLoad runs disrupt under the loader's load and fails the step
// unless every request got a full report (load_test.go, underLoad).
func (r *release) underLoad(t *testing.T, what string, disrupt func(t *testing.T)) {
	t.Helper()
	underLoad(t, r.ctx, r.load(t), what, disrupt)
}

// measure runs disrupt under load and returns what the load saw.
func (r *release) measure(t *testing.T, what string, disrupt func(t *testing.T)) verdict {
	t.Helper()
	return measure(t, r.ctx, r.load(t), what, disrupt)
}

// createdLabel marks a namespace the e2e created (and so deletes).
const createdLabel = "envoy-example.e2e/created"

// createdNamespace says whether the e2e created the release's namespace
// (read from the namespace: the run that created it may be an earlier
// one).
func (r *release) createdNamespace(ctx context.Context) bool {
	ns, err := r.k.Clientset.CoreV1().Namespaces().Get(ctx, r.s.namespace, metav1.GetOptions{})
	return err == nil && ns.Labels[createdLabel] == "true"
}
