//go:build e2e

// Package e2e installs the chart on a real Kubernetes (whatever KUBECONFIG
// points at: the local cluster of tools/cluster/cluster, kind or minikube) and walks
// the user's flows, then proves what a mesh is for: no request lost while
// pods come and go. Every disruption runs under load from a fortio pod in
// the cluster (load_test.go) and must end with 0 failed requests.
//
// It runs in its own namespace, labelled for the "restricted" Pod Security
// Standard (the API server refuses any pod that breaks it), under a release
// name other than demo, so that a regression in security contexts or in
// name handling fails it.
//
//	make e2e                                  # local cluster, built and torn down
//	KUBECONFIG=~/.kube/config E2E_LOAD=kind make e2e
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"

	"github.com/envoy-example/envoy-example/charts/queries"
	"github.com/envoy-example/envoy-example/internal/envoyproc"
	"github.com/envoy-example/envoy-example/internal/kube"
	"github.com/envoy-example/envoy-example/internal/repo"
	"github.com/envoy-example/envoy-example/services/frontend/report"
)

// settings are read from the environment so that the same test runs
// against any cluster.
type settings struct {
	release   string // E2E_RELEASE, default shop (not demo: names must not be hard-coded)
	namespace string // E2E_NAMESPACE, default envoy-example-e2e (labelled restricted)
	load      string // E2E_LOAD: how images reach the nodes: ctr, kind, minikube or none
	values    []string
}

func readSettings() settings {
	s := settings{
		release:   envOr("E2E_RELEASE", "shop"),
		namespace: envOr("E2E_NAMESPACE", "envoy-example-e2e"),
		load:      envOr("E2E_LOAD", "ctr"),
	}
	// E2E_VALUES: extra values files, comma-separated; the local cluster
	// uses ci/values-offline.yaml (pull policy Never: nothing can be pulled).
	for _, f := range strings.Split(os.Getenv("E2E_VALUES"), ",") {
		if f = strings.TrimSpace(f); f != "" {
			s.values = append(s.values, f)
		}
	}
	return s
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// repoRoot is where the Makefile and the chart are.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// step runs one numbered step as a subtest, prints its duration, and stops
// the whole test at the first failure: later steps need earlier ones.
func step(t *testing.T, name string, fn func(t *testing.T)) {
	t.Helper()
	start := time.Now()
	ok := t.Run(name, fn)
	t.Logf("step %s: %s in %s", name, map[bool]string{true: "PASS", false: "FAIL"}[ok], time.Since(start).Round(time.Millisecond))
	fmt.Printf("e2e: step %s: %s in %s\n", name, map[bool]string{true: "PASS", false: "FAIL"}[ok], time.Since(start).Round(time.Second))
	if !ok {
		t.FailNow()
	}
}

// workloads are the Deployments of a release, by component.
var workloads = []string{"ingress", "frontend", "user", "order", "item"}

var deleteNow = metav1.DeleteOptions{}

func TestDemo(t *testing.T) {
	s := readSettings()
	root := repoRoot(t)
	k := connect(t)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Minute)
	defer cancel()

	chart := filepath.Join(root, "charts", "envoy-example")
	selector := func(component string) string {
		return fmt.Sprintf("app.kubernetes.io/instance=%s,app.kubernetes.io/component=%s", s.release, component)
	}
	helm := func(t *testing.T, args ...string) string {
		t.Helper()
		start := time.Now()
		args = append([]string{"--namespace", s.namespace}, args...)
		out, err := k.Helm(ctx, args...)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("go tool helm %s (%s)", strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
		return out
	}
	// upgrade runs helm upgrade --reset-then-reuse-values with extra flags
	// (the chart's defaults, then the values of the last upgrade, then the
	// flags: a chart newer than the release's gets its new keys), e.g.
	// "--set", "services.user.replicas=3".
	upgrade := func(t *testing.T, flags ...string) {
		t.Helper()
		helm(t, append([]string{"upgrade", s.release, chart, "--reset-then-reuse-values", "--wait", "--timeout", "10m"}, flags...)...)
		// helm's --wait ends once the new pods are ready; a step must also
		// know that no pod of the previous revision still serves.
		if err := k.WaitSettled(ctx, s.namespace, 5*time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	// replicas sets the replicas of the given components and waits until
	// exactly that many pods of each exist, all Ready: the pods a scale
	// down removes are gone, not just terminating.
	replicas := func(t *testing.T, n int, components ...string) {
		t.Helper()
		var set []string
		for _, c := range components {
			if c == "ingress" {
				set = append(set, "--set", fmt.Sprintf("ingress.replicas=%d", n))
			} else {
				set = append(set, "--set", fmt.Sprintf("services.%s.replicas=%d", c, n))
			}
		}
		upgrade(t, set...)
		for _, c := range components {
			waitPods(t, ctx, k, s.namespace, selector(c), n)
		}
	}

	// A failed run must not leave the release behind for the next one.
	createdNamespace := false
	t.Cleanup(func() {
		if !t.Failed() || os.Getenv("E2E_KEEP") != "" {
			return
		}
		out, _ := k.Helm(context.Background(), "--namespace", s.namespace, "uninstall", s.release, "--ignore-not-found", "--wait")
		t.Logf("cleanup: helm uninstall: %s", out)
		if createdNamespace {
			_ = k.Clientset.CoreV1().Namespaces().Delete(context.Background(), s.namespace, deleteNow)
		}
	})

	var load *loader
	var ingress string
	var reportBytes int

	step(t, "1-install", func(t *testing.T) {
		createdNamespace = restrictedNamespace(t, ctx, k, s.namespace)
		run(t, root, "make", "load-images", "LOAD="+s.load)
		args := []string{"upgrade", "--install", s.release, chart, "--wait", "--timeout", "10m"}
		for _, f := range s.values {
			if !filepath.IsAbs(f) {
				f = filepath.Join(root, f)
			}
			args = append(args, "-f", f)
		}
		helm(t, args...)
	})

	// helmTest runs `helm test`. The smoke pod is deleted when it passes
	// (so uninstall leaves nothing); when it fails it stays, and its log
	// says which check.
	helmTest := func(t *testing.T) {
		t.Helper()
		out, err := k.Helm(ctx, "--namespace", s.namespace, "test", s.release, "--timeout", "5m")
		t.Logf("helm test %s:\n%s", s.release, out)
		if err != nil {
			logs, lerr := k.Clientset.CoreV1().Pods(s.namespace).GetLogs(s.release+"-smoke", &corev1.PodLogOptions{}).DoRaw(ctx)
			t.Fatalf("helm test: %v\nsmoke checker log (%v):\n%s", err, lerr, logs)
		}
	}
	step(t, "2-helm-test", helmTest)

	ingress = forwardToComponent(t, ctx, k, s.namespace, selector("ingress"), 8080)

	step(t, "3-report", func(t *testing.T) {
		var rep report.Report
		eventually(t, ctx, time.Minute, "GET / through the ingress", func() error {
			var err error
			rep, reportBytes, err = getReport(ingress, "e2e-report")
			return err
		})
		if err := checkReport(rep); err != nil {
			t.Fatal(err)
		}
		t.Logf("report: %d users, every item resolved (%d bytes)", len(rep), reportBytes)
	})

	step(t, "4-trace", func(t *testing.T) {
		jaeger := forwardToComponent(t, ctx, k, s.namespace, selector("jaeger"), 16686)
		requestID := fmt.Sprintf("e2e-trace-%d", time.Now().UnixNano())
		if _, _, err := getReport(ingress, requestID); err != nil {
			t.Fatalf("GET / with x-request-id %s: %v", requestID, err)
		}
		want := []string{"ingress", "frontend", "user", "order", "item"}
		eventually(t, ctx, 2*time.Minute, "one trace of x-request-id "+requestID+" with spans of "+strings.Join(want, ", "), func() error {
			traceID, services, err := oneTrace(jaeger, requestID, want)
			if err != nil {
				return err
			}
			t.Logf("trace %s (x-request-id %s) has spans from %v", traceID, requestID, services)
			return nil
		})
	})

	step(t, "5-metrics-per-hop", func(t *testing.T) {
		prom := forwardToComponent(t, ctx, k, s.namespace, selector("prometheus"), 9090)
		// Keep a little traffic flowing so that rate() has two samples.
		stop := backgroundLoad(ingress, 2)
		defer stop()
		for _, q := range queries.Design {
			eventually(t, ctx, 3*time.Minute, "query "+q.Name+" for every hop", func() error {
				series, err := promQuery(prom, q.Expr)
				if err != nil {
					return err
				}
				if missing := queries.Missing(series); len(missing) > 0 {
					return fmt.Errorf("no series for %v", missing)
				}
				t.Logf("%s: %d series, every hop among them (%v)", q.Name, len(series), queries.Hops)
				return nil
			})
		}
	})

	// From here on, every disruption runs under load from inside the
	// cluster, to the ingress Service.
	load = newLoader(t, ctx, k, s.namespace, fmt.Sprintf("http://%s-ingress:8080/", s.release), reportBytes)

	step(t, "6-scale-user-up", func(t *testing.T) {
		underLoad(t, ctx, load, "scale user 1 -> 3", func(t *testing.T) {
			replicas(t, 3, "user")
		})
		// frontend is the caller of user: each of its Envoys must see the
		// three endpoints (DNS refresh, then active health checks).
		callers, err := k.ReadyPods(ctx, s.namespace, selector("frontend"))
		if err != nil || len(callers) == 0 {
			t.Fatalf("frontend pods: %v (%d)", err, len(callers))
		}
		for _, p := range callers {
			admin := forward(t, ctx, k, s.namespace, p.Name, 9901)
			eventually(t, ctx, 2*time.Minute, p.Name+"'s Envoy sees 3 healthy user endpoints", func() error {
				hosts, err := envoyproc.HealthyHosts(admin, "user")
				if err == nil && len(hosts) != 3 {
					err = fmt.Errorf("%d healthy endpoints %v", len(hosts), hosts)
				}
				return err
			})
			t.Logf("%s: Envoy reports 3 healthy endpoints in cluster user", p.Name)
		}
	})

	step(t, "7-scale-user-down", func(t *testing.T) {
		underLoad(t, ctx, load, "scale user 3 -> 1", func(t *testing.T) {
			replicas(t, 1, "user")
		})
	})

	step(t, "8-lose-a-pod", func(t *testing.T) {
		replicas(t, 2, "user", "order", "item")
		for _, c := range []string{"user", "order", "item"} {
			underLoad(t, ctx, load, "delete one of 2 "+c+" pods", func(t *testing.T) {
				losePod(t, ctx, k, s.namespace, selector(c))
			})
		}
	})

	step(t, "9-rolling-upgrade-1-replica", func(t *testing.T) {
		replicas(t, 1, "user", "order", "item")
		underLoad(t, ctx, load, "helm upgrade rolling all 5 workloads at 1 replica", func(t *testing.T) {
			rollEverything(t, ctx, k, s, upgrade, selector)
		})
	})

	tr := &tour{ctx: ctx, k: k, s: s, upgrade: upgrade, selector: selector, load: load}
	// The rolling upgrade at two replicas is the metrics switch (README,
	// "Dashboards"): every workload's pod template changes (no more
	// statsd_exporter), under load. From here on the release runs in
	// metrics.mode prometheus.
	step(t, "10-rolling-upgrade-2-replicas-metrics-prometheus", func(t *testing.T) {
		replicas(t, 2, workloads...)
		tr.metricsToPrometheus(t, helmTest)
	})
	// Mutual TLS (README, "Mutual TLS"), on since the install.
	step(t, "11-mtls-renewal-under-load", tr.mtlsRenewal)
	step(t, "12-mtls-wrong-identity-refused", tr.mtlsRefused)
	step(t, "13-mtls-off-and-on-under-load", tr.mtlsOffAndOn)

	// The README's fault tour, "Break it on purpose", on the same release.
	tr.prometheus = forwardToComponent(t, ctx, k, s.namespace, selector("prometheus"), 9090)
	tr.jaeger = forwardToComponent(t, ctx, k, s.namespace, selector("jaeger"), 16686)
	step(t, "14-tour-aborts-absorbed", tr.abortsAbsorbed)
	step(t, "15-tour-retries-off", tr.retriesOff)
	step(t, "16-tour-one-pod-ejected", tr.onePodEjected)
	step(t, "17-tour-slow-order", tr.slowOrder)
	// The legacy item service (README, "The legacy item service").
	step(t, "18-item-php-under-load", tr.itemPHP)

	step(t, "19-uninstall", func(t *testing.T) {
		helm(t, "uninstall", s.release, "--wait", "--timeout", "5m")
		instance := "app.kubernetes.io/instance=" + s.release
		eventually(t, ctx, 3*time.Minute, "nothing of the release left", func() error {
			return leftovers(ctx, k, s.namespace, instance)
		})
		if createdNamespace {
			if err := k.Clientset.CoreV1().Namespaces().Delete(ctx, s.namespace, deleteNow); err != nil {
				t.Errorf("delete namespace %s: %v", s.namespace, err)
			}
		}
	})
}

// restrictedNamespace makes sure namespace exists and enforces the
// "restricted" Pod Security Standard, and says whether it created it.
func restrictedNamespace(t *testing.T, ctx context.Context, k *kube.Client, namespace string) bool {
	t.Helper()
	labels := map[string]string{
		"pod-security.kubernetes.io/enforce": "restricted",
		"pod-security.kubernetes.io/audit":   "restricted",
		"pod-security.kubernetes.io/warn":    "restricted",
	}
	nss := k.Clientset.CoreV1().Namespaces()
	ns, err := nss.Get(ctx, namespace, metav1.GetOptions{})
	created := false
	switch {
	case apierrors.IsNotFound(err):
		ns = &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace, Labels: labels}}
		if _, err := nss.Create(ctx, ns, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create namespace %s: %v", namespace, err)
		}
		created = true
	case err != nil:
		t.Fatalf("namespace %s: %v", namespace, err)
	default:
		if ns.Labels == nil {
			ns.Labels = map[string]string{}
		}
		for k, v := range labels {
			ns.Labels[k] = v
		}
		if _, err := nss.Update(ctx, ns, metav1.UpdateOptions{}); err != nil {
			t.Fatalf("label namespace %s: %v", namespace, err)
		}
	}
	t.Logf("namespace %s enforces pod-security.kubernetes.io/enforce=restricted (created: %v)", namespace, created)
	return created
}

// waitPods waits until exactly n pods match selector, all Ready and none
// being deleted.
func waitPods(t *testing.T, ctx context.Context, k *kube.Client, namespace, selector string, n int) {
	t.Helper()
	eventually(t, ctx, 5*time.Minute, fmt.Sprintf("exactly %d Ready pods with %s", n, selector), func() error {
		all, err := k.Pods(ctx, namespace, selector)
		if err != nil {
			return err
		}
		ready, err := k.ReadyPods(ctx, namespace, selector)
		if err != nil {
			return err
		}
		if len(all) != n || len(ready) != n {
			return fmt.Errorf("%d pods, %d of them Ready and not terminating", len(all), len(ready))
		}
		return nil
	})
}

// losePod deletes one pod of a component and returns once the API shows
// the pod gone (terminated and removed) and as many Ready pods as before,
// one of them its replacement.
func losePod(t *testing.T, ctx context.Context, k *kube.Client, namespace, selector string) {
	t.Helper()
	before, err := k.ReadyPods(ctx, namespace, selector)
	if err != nil || len(before) < 2 {
		t.Fatalf("pods with %s: %v (%d Ready, want at least 2)", selector, err, len(before))
	}
	victim := before[0]
	start := time.Now()
	if err := k.Clientset.CoreV1().Pods(namespace).Delete(ctx, victim.Name, deleteNow); err != nil {
		t.Fatalf("delete %s: %v", victim.Name, err)
	}
	eventually(t, ctx, 3*time.Minute, victim.Name+" gone", func() error {
		_, err := k.Clientset.CoreV1().Pods(namespace).Get(ctx, victim.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err == nil {
			return fmt.Errorf("still there")
		}
		return err
	})
	gone := time.Since(start)
	var replacement string
	eventually(t, ctx, 3*time.Minute, fmt.Sprintf("%d Ready pods with %s again", len(before), selector), func() error {
		now, err := k.ReadyPods(ctx, namespace, selector)
		if err != nil {
			return err
		}
		if len(now) != len(before) {
			return fmt.Errorf("%d Ready", len(now))
		}
		for _, p := range now {
			if p.UID != victim.UID && !containsPod(before, p) {
				replacement = p.Name
			}
		}
		if replacement == "" {
			return fmt.Errorf("no replacement Ready yet")
		}
		return nil
	})
	t.Logf("deleted %s: gone after %s, replacement %s Ready after %s", victim.Name, gone.Round(time.Second), replacement, time.Since(start).Round(time.Second))
}

func containsPod(pods []corev1.Pod, p corev1.Pod) bool {
	for _, q := range pods {
		if q.UID == p.UID {
			return true
		}
	}
	return false
}

// rollEverything changes the pod template of every workload with a helm
// upgrade and returns once the API shows each Deployment rolled out: every
// pod of the new template, Ready, and no pod of an old one left.
func rollEverything(t *testing.T, ctx context.Context, k *kube.Client, s settings, upgrade func(*testing.T, ...string), selector func(string) string) {
	t.Helper()
	before := map[string]map[string]bool{}
	for _, c := range workloads {
		pods, err := k.Pods(ctx, s.namespace, selector(c))
		if err != nil {
			t.Fatal(err)
		}
		before[c] = map[string]bool{}
		for _, p := range pods {
			before[c][p.Name] = true
		}
	}
	rollout := fmt.Sprintf("rollout.podAnnotations.e2e-rollout=%d", time.Now().UnixNano())
	upgrade(t, "--set-string", rollout)
	for _, c := range workloads {
		name := s.release + "-" + c
		eventually(t, ctx, 5*time.Minute, name+" rolled out, no old pod left", func() error {
			d, err := k.Clientset.AppsV1().Deployments(s.namespace).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if err := kube.RolledOut(d); err != nil {
				return err
			}
			pods, err := k.Pods(ctx, s.namespace, selector(c))
			if err != nil {
				return err
			}
			for _, p := range pods {
				if before[c][p.Name] {
					return fmt.Errorf("old pod %s still there", p.Name)
				}
			}
			if want := int(*d.Spec.Replicas); len(pods) != want {
				return fmt.Errorf("%d pods, want %d", len(pods), want)
			}
			return nil
		})
	}
	t.Logf("all of %v rolled out with %s", workloads, rollout)
}

// run runs a command in dir, streaming nothing, and fails the test with its
// output when it fails.
func run(t *testing.T, dir string, args ...string) string {
	t.Helper()
	start := time.Now()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Logf("%s (%s)", strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
	return string(out)
}

var httpClient = &http.Client{Timeout: 10 * time.Second}

func getReport(addr, requestID string) (report.Report, int, error) {
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+"/", nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("x-request-id", requestID)
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("status %d: %s", resp.StatusCode, body)
	}
	rep, err := report.Decode(bytes.NewReader(body))
	return rep, len(body), err
}

// checkReport checks the seed data came through every hop: three users,
// their orders, and each item resolved by item with its name.
func checkReport(rep report.Report) error {
	if len(rep) != 3 {
		return fmt.Errorf("report has %d users, want 3", len(rep))
	}
	orders := 0
	for _, u := range rep {
		for _, o := range u.Orders {
			orders++
			if len(o.Items) == 0 {
				return fmt.Errorf("order %d has no items", o.ID)
			}
			for _, it := range o.Items {
				if it.Name == "" {
					return fmt.Errorf("order %d: item %d not resolved", o.ID, it.ID)
				}
			}
		}
	}
	if orders != 3 {
		return fmt.Errorf("report has %d orders, want 3", orders)
	}
	return nil
}

// oneTrace finds the trace that Envoy tagged with the request id and
// checks that this one trace (one trace ID) has spans from every service
// in want, as named by Envoy's node.cluster.
func oneTrace(jaeger, requestID string, want []string) (traceID string, services []string, err error) {
	tags, _ := json.Marshal(map[string]string{"guid:x-request-id": requestID})
	q := url.Values{"service": {"ingress"}, "tags": {string(tags)}, "limit": {"5"}, "lookback": {"1h"}}
	resp, err := httpClient.Get("http://" + jaeger + "/api/traces?" + q.Encode())
	if err != nil {
		return "", nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Data []struct {
			TraceID   string `json:"traceID"`
			Processes map[string]struct {
				ServiceName string `json:"serviceName"`
			} `json:"processes"`
		} `json:"data"`
	}
	if resp.StatusCode != http.StatusOK {
		return "", nil, fmt.Errorf("jaeger: status %d", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return "", nil, fmt.Errorf("jaeger: %v", err)
	}
	if len(body.Data) == 0 {
		return "", nil, fmt.Errorf("no trace yet")
	}
	var seen []string
	for _, tr := range body.Data {
		have := map[string]bool{}
		for _, p := range tr.Processes {
			have[p.ServiceName] = true
		}
		var missing []string
		for _, w := range want {
			if !have[w] {
				missing = append(missing, w)
			}
		}
		if len(missing) == 0 {
			return tr.TraceID, keys(have), nil
		}
		seen = append(seen, fmt.Sprintf("trace %s has spans from %v, none from %v", tr.TraceID, keys(have), missing))
	}
	return "", nil, fmt.Errorf("no single trace covers every service: %s", strings.Join(seen, "; "))
}

// promSample is one series of an instant query's answer: its labels and
// its value.
type promSample struct {
	labels map[string]string
	value  float64
}

// promInstant runs an instant query against a Prometheus.
func promInstant(prom, query string) ([]promSample, error) {
	resp, err := httpClient.Get("http://" + prom + "/api/v1/query?" + url.Values{"query": {query}}.Encode())
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("prometheus: %v", err)
	}
	if body.Status != "success" {
		return nil, fmt.Errorf("prometheus: %s", body.Error)
	}
	var out []promSample
	for _, r := range body.Data.Result {
		s, _ := r.Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("prometheus: value %v of %v: %v", r.Value[1], r.Metric, err)
		}
		out = append(out, promSample{labels: r.Metric, value: v})
	}
	return out, nil
}

// promQuery runs an instant query and returns the label sets of its series.
func promQuery(prom, query string) ([]map[string]string, error) {
	samples, err := promInstant(prom, query)
	var series []map[string]string
	for _, s := range samples {
		series = append(series, s.labels)
	}
	return series, err
}

// promValue runs an instant query whose answer is one number (a sum).
func promValue(prom, query string) (float64, error) {
	samples, err := promInstant(prom, query)
	if err != nil {
		return 0, err
	}
	if len(samples) != 1 {
		return 0, fmt.Errorf("prometheus: %d series for %s, want 1", len(samples), query)
	}
	return samples[0].value, nil
}

// backgroundLoad sends rps requests per second until stopped, bounded to
// five minutes in any case.
func backgroundLoad(addr string, rps int) (stop func()) {
	done := make(chan struct{})
	go func() {
		tick := time.NewTicker(time.Second / time.Duration(rps))
		defer tick.Stop()
		limit := time.After(5 * time.Minute)
		for {
			select {
			case <-done:
				return
			case <-limit:
				return
			case <-tick.C:
				_, _, _ = getReport(addr, "e2e-background")
			}
		}
	}()
	return func() { close(done) }
}

// leftovers lists what still carries the release's instance label.
func leftovers(ctx context.Context, k *kube.Client, namespace, selector string) error {
	opts := metav1.ListOptions{LabelSelector: selector}
	kinds := []struct {
		name string
		list func() (k8sruntime.Object, error)
	}{
		{"pod", func() (k8sruntime.Object, error) { return k.Clientset.CoreV1().Pods(namespace).List(ctx, opts) }},
		{"service", func() (k8sruntime.Object, error) { return k.Clientset.CoreV1().Services(namespace).List(ctx, opts) }},
		{"configmap", func() (k8sruntime.Object, error) { return k.Clientset.CoreV1().ConfigMaps(namespace).List(ctx, opts) }},
		{"deployment", func() (k8sruntime.Object, error) { return k.Clientset.AppsV1().Deployments(namespace).List(ctx, opts) }},
		{"serviceaccount", func() (k8sruntime.Object, error) {
			return k.Clientset.CoreV1().ServiceAccounts(namespace).List(ctx, opts)
		}},
		{"role", func() (k8sruntime.Object, error) { return k.Clientset.RbacV1().Roles(namespace).List(ctx, opts) }},
		{"rolebinding", func() (k8sruntime.Object, error) { return k.Clientset.RbacV1().RoleBindings(namespace).List(ctx, opts) }},
		// certgen's Secrets are not Helm's: its post-delete Job removes them.
		{"secret", func() (k8sruntime.Object, error) { return k.Clientset.CoreV1().Secrets(namespace).List(ctx, opts) }},
		{"job", func() (k8sruntime.Object, error) { return k.Clientset.BatchV1().Jobs(namespace).List(ctx, opts) }},
	}
	var left []string
	for _, k := range kinds {
		list, err := k.list()
		if err != nil {
			return fmt.Errorf("list %ss: %v", k.name, err)
		}
		items, err := meta.ExtractList(list)
		if err != nil {
			return err
		}
		for _, item := range items {
			if obj, err := meta.Accessor(item); err == nil {
				left = append(left, k.name+"/"+obj.GetName())
			}
		}
	}
	if len(left) > 0 {
		return fmt.Errorf("left behind: %s", strings.Join(left, ", "))
	}
	return nil
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
