//go:build e2e

// Package e2e installs the chart on a real Kubernetes (whatever KUBECONFIG
// points at: the local cluster of ci/cluster, kind or minikube) and walks
// the user's flows: install, helm test, the report through the ingress, a
// trace in Jaeger, the four queries in Prometheus, scaling user, losing a
// user pod under load, and uninstall.
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
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"

	"github.com/envoy-example/envoy-example/charts/queries"
	"github.com/envoy-example/envoy-example/internal/kube"
	"github.com/envoy-example/envoy-example/internal/repo"
	"github.com/envoy-example/envoy-example/services/frontend/report"
)

// settings are read from the environment so that the same test runs
// against any cluster.
type settings struct {
	release   string // E2E_RELEASE, default demo
	namespace string // E2E_NAMESPACE, default default
	load      string // E2E_LOAD: how images reach the nodes: ctr, kind, minikube or none
	values    []string
}

func readSettings() settings {
	s := settings{
		release:   envOr("E2E_RELEASE", "demo"),
		namespace: envOr("E2E_NAMESPACE", "default"),
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
	if !ok {
		t.FailNow()
	}
}

func TestDemo(t *testing.T) {
	s := readSettings()
	root := repoRoot(t)
	k := connect(t)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
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

	// A failed run must not leave the release behind for the next one.
	t.Cleanup(func() {
		if t.Failed() && os.Getenv("E2E_KEEP") == "" {
			out, _ := k.Helm(context.Background(), "--namespace", s.namespace, "uninstall", s.release, "--ignore-not-found", "--wait")
			t.Logf("cleanup: helm uninstall: %s", out)
		}
	})

	step(t, "1-install", func(t *testing.T) {
		run(t, root, "make", "load-images", "LOAD="+s.load)
		args := []string{"upgrade", "--install", s.release, chart, "--wait", "--timeout", "10m"}
		for _, f := range s.values {
			args = append(args, "-f", filepath.Join(root, f))
		}
		helm(t, args...)
	})

	step(t, "2-helm-test", func(t *testing.T) {
		// The smoke pod is deleted when it passes (so uninstall leaves
		// nothing); when it fails it stays, and its log says which step.
		out, err := k.Helm(ctx, "--namespace", s.namespace, "test", s.release, "--timeout", "5m")
		t.Logf("helm test %s:\n%s", s.release, out)
		if err != nil {
			logs, lerr := k.Clientset.CoreV1().Pods(s.namespace).GetLogs(s.release+"-smoke", &corev1.PodLogOptions{}).DoRaw(ctx)
			t.Fatalf("helm test: %v\nsmoke checker log (%v):\n%s", err, lerr, logs)
		}
	})

	ingress := forwardToComponent(t, ctx, k, s.namespace, selector("ingress"), 8080)

	step(t, "3-report", func(t *testing.T) {
		var rep report.Report
		eventually(t, ctx, time.Minute, "GET / through the ingress", func() error {
			var err error
			rep, err = getReport(ingress, "e2e-report")
			return err
		})
		if err := checkReport(rep); err != nil {
			t.Fatal(err)
		}
		t.Logf("report: %d users, every item resolved", len(rep))
	})

	step(t, "4-trace", func(t *testing.T) {
		jaeger := forwardToComponent(t, ctx, k, s.namespace, selector("jaeger"), 16686)
		requestID := fmt.Sprintf("e2e-trace-%d", time.Now().UnixNano())
		if _, err := getReport(ingress, requestID); err != nil {
			t.Fatalf("GET / with x-request-id %s: %v", requestID, err)
		}
		want := []string{"ingress", "frontend", "user", "order", "item"}
		eventually(t, ctx, 2*time.Minute, "the trace of x-request-id "+requestID+" in Jaeger", func() error {
			services, err := traceServices(jaeger, requestID)
			if err != nil {
				return err
			}
			for _, w := range want {
				if !services[w] {
					return fmt.Errorf("trace has spans from %v, none from %s", keys(services), w)
				}
			}
			t.Logf("trace of %s has spans from %v", requestID, keys(services))
			return nil
		})
	})

	step(t, "5-prometheus", func(t *testing.T) {
		prom := forwardToComponent(t, ctx, k, s.namespace, selector("prometheus"), 9090)
		// Keep a little traffic flowing so that rate() has two samples.
		stop := backgroundLoad(ingress, 2)
		defer stop()
		for _, q := range queries.Design {
			eventually(t, ctx, 3*time.Minute, "query "+q.Expr, func() error {
				series, err := promQuery(prom, q.Expr)
				if err != nil {
					return err
				}
				if len(series) == 0 {
					return fmt.Errorf("no series yet")
				}
				for _, labels := range series {
					if labels["app"] == "" || labels["cluster"] == "" {
						return fmt.Errorf("series %v lacks app or cluster", labels)
					}
				}
				t.Logf("%d series for %s", len(series), q.Expr)
				return nil
			})
		}
	})

	step(t, "6-scale-user", func(t *testing.T) {
		helm(t, "upgrade", s.release, chart, "--reuse-values", "--set", "services.user.replicas=3", "--wait", "--timeout", "5m")
		eventually(t, ctx, 3*time.Minute, "three user pods Ready", func() error {
			pods, err := k.ReadyPods(ctx, s.namespace, selector("user"))
			if err == nil && len(pods) != 3 {
				err = fmt.Errorf("%d ready", len(pods))
			}
			return err
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
				n, err := healthyEndpoints(admin, "user")
				if err == nil && n != 3 {
					err = fmt.Errorf("%d healthy endpoints", n)
				}
				return err
			})
			t.Logf("%s: Envoy reports 3 healthy endpoints in cluster user", p.Name)
		}
	})

	step(t, "7-lose-a-pod-under-load", func(t *testing.T) {
		pods, err := k.ReadyPods(ctx, s.namespace, selector("user"))
		if err != nil || len(pods) == 0 {
			t.Fatalf("user pods: %v", err)
		}
		victim := pods[0].Name
		// 20 requests per second for 30 seconds; the pod goes after 5.
		const rps, duration = 20, 30 * time.Second
		go func() {
			time.Sleep(5 * time.Second)
			if err := k.Clientset.CoreV1().Pods(s.namespace).Delete(ctx, victim, metav1.DeleteOptions{}); err != nil {
				t.Errorf("delete %s: %v", victim, err)
			}
		}()
		sent, failed, firstErr := steadyLoad(ingress, rps, duration)
		t.Logf("deleted %s during %d requests at %d/s: %d failed requests (goal: 0) %v", victim, sent, rps, failed, firstErr)
		fmt.Printf("e2e: failed requests while a user pod was deleted: %d of %d\n", failed, sent)
		if sent == 0 || failed*10 > sent {
			t.Fatalf("%d of %d requests failed while a user pod went away", failed, sent)
		}
	})

	step(t, "8-uninstall", func(t *testing.T) {
		helm(t, "uninstall", s.release, "--wait", "--timeout", "5m")
		instance := "app.kubernetes.io/instance=" + s.release
		eventually(t, ctx, 3*time.Minute, "nothing of the release left", func() error {
			return leftovers(ctx, k, s.namespace, instance)
		})
	})
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

func getReport(addr, requestID string) (report.Report, error) {
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+"/", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("x-request-id", requestID)
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d: %s", resp.StatusCode, body)
	}
	return report.Decode(bytes.NewReader(body))
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

// traceServices finds the trace that Envoy tagged with the request id and
// returns the services (Envoy node clusters) that reported spans in it.
func traceServices(jaeger, requestID string) (map[string]bool, error) {
	tags, _ := json.Marshal(map[string]string{"guid:x-request-id": requestID})
	q := url.Values{"service": {"ingress"}, "tags": {string(tags)}, "limit": {"5"}, "lookback": {"1h"}}
	resp, err := httpClient.Get("http://" + jaeger + "/api/traces?" + q.Encode())
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Data []struct {
			Processes map[string]struct {
				ServiceName string `json:"serviceName"`
			} `json:"processes"`
		} `json:"data"`
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("jaeger: status %d", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("jaeger: %v", err)
	}
	if len(body.Data) == 0 {
		return nil, fmt.Errorf("no trace yet")
	}
	services := map[string]bool{}
	for _, tr := range body.Data {
		for _, p := range tr.Processes {
			services[p.ServiceName] = true
		}
	}
	return services, nil
}

func promQuery(prom, query string) ([]map[string]string, error) {
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
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("prometheus: %v", err)
	}
	if body.Status != "success" {
		return nil, fmt.Errorf("prometheus: %s", body.Error)
	}
	var series []map[string]string
	for _, r := range body.Data.Result {
		series = append(series, r.Metric)
	}
	return series, nil
}

// healthyEndpoints counts the hosts of an Envoy cluster that pass health
// checks, from the admin /clusters page
// ("user::10.244.0.7:8080::health_flags::healthy").
func healthyEndpoints(admin, cluster string) (int, error) {
	resp, err := httpClient.Get("http://" + admin + "/clusters")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, line := range strings.Split(string(body), "\n") {
		parts := strings.Split(line, "::")
		if len(parts) == 4 && parts[0] == cluster && parts[2] == "health_flags" && parts[3] == "healthy" {
			n++
		}
	}
	return n, nil
}

// steadyLoad sends rps requests per second for duration and counts the
// requests that did not return a full report.
func steadyLoad(addr string, rps int, duration time.Duration) (sent, failed int64, firstErr error) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	tick := time.NewTicker(time.Second / time.Duration(rps))
	defer tick.Stop()
	end := time.After(duration)
	for i := 0; ; i++ {
		select {
		case <-end:
			wg.Wait()
			return sent, failed, firstErr
		case <-tick.C:
			wg.Add(1)
			atomic.AddInt64(&sent, 1)
			go func(i int) {
				defer wg.Done()
				rep, err := getReport(addr, fmt.Sprintf("e2e-load-%d", i))
				if err == nil {
					err = checkReport(rep)
				}
				if err != nil {
					atomic.AddInt64(&failed, 1)
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}(i)
		}
	}
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
				_, _ = getReport(addr, "e2e-background")
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
	return out
}
