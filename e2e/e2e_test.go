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
//
// # Steps
//
// TestDemo runs the table steps, in order, against one release (the
// release type, release_test.go: install, upgrade with flags or values
// files, replicas, helm test, load, port-forwards). One file per theme:
//
//	install_test.go   1-install, 2-helm-test, 20-uninstall
//	traffic_test.go   3-report, 4-trace, 5-metrics-per-hop (every hop)
//	scaling_test.go   6-9: scale user up and down, lose a pod, a rolling upgrade
//	metrics_test.go   10: the switch to metrics.mode prometheus (docs/metrics-and-dashboards.md)
//	mtls_test.go      11-13: certificate renewal, identities refused, mTLS off and on (docs/mutual-tls.md)
//	faults_test.go    14-17: the fault tour (docs/faults.md)
//	itemphp_test.go   18: item in PHP and back (docs/legacy-php-item.md)
//	yourservice_test.go 19: a service of your own by values alone (docs/your-service.md)
//
// The first failing step stops the test: later steps need earlier ones.
//
// # Running some steps against a release already installed
//
// No step keeps what it needs from an earlier one in memory only: the
// ingress, Prometheus and Jaeger are port-forwarded anew by each step, the
// size of a full report and the fortio pod are made when first needed,
// the namespace says (by a label) whether the e2e created it, and each
// step that needs the release in a state (two pods of everything, mTLS
// on, metrics.mode prometheus, item in Go, no fault) reads the release's
// values (helm get values --all) and upgrades it into that state first
// when it is not (a full run never needs to).
//
//	E2E_FROM=N        run steps N to 20 (N is the number before the dash)
//	E2E_STEPS=4,16    run only these steps; ranges too: E2E_STEPS=14-18
//	E2E_KEEP=1        keep the release (and namespace) when a step fails
//
// A run without step 1 never uninstalls on failure (the release was there
// before it); E2E_FROM runs up to 20-uninstall, E2E_STEPS=14-18 keeps the
// release at the end. Step 1 alone runs `make load-images`: after
// rebuilding an image, load it (`make load-images LOAD=ctr`) before
// resuming.
//
// On the local cluster: `make e2e` without KUBECONFIG tears the cluster
// down when it ends, so bring it up yourself to keep it between runs
// (as root; ci/e2e does the same with the same images):
//
//	make component-images COMPONENTS=envoy,statsd-exporter,jaeger,prometheus,pause,fortio
//	tools/cluster/cluster up
//	eval "$(tools/cluster/cluster env)"    # export KUBECONFIG=<repo>/.cluster/...
//	E2E_KEEP=1 E2E_LOAD=ctr E2E_VALUES=ci/values-offline.yaml make e2e
//	# step 16 failed, the release is still there: fix, then resume at 16
//	E2E_FROM=16 go test -tags e2e -count=1 -run TestDemo -v -timeout 60m ./e2e/
//	# or run one step again, release kept whatever happens
//	E2E_STEPS=16 go test -tags e2e -count=1 -run TestDemo -v -timeout 60m ./e2e/
//	tools/cluster/cluster down
//
// On kind or minikube, the same with KUBECONFIG and E2E_LOAD=kind (or
// minikube) in place of the cluster commands. E2E_RELEASE and
// E2E_NAMESPACE must be the same in the run that installed the release
// and in the runs that resume it.
package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/envoy-example/envoy-example/charts/queries"
	"github.com/envoy-example/envoy-example/internal/repo"
)

// step is one numbered step of the e2e: its name ("<n>-<what>") and what
// it does to the release.
type step struct {
	name string
	run  func(t *testing.T, r *release)
}

// steps are the e2e, in order. The names are those of the test's output
// (and of docs/ and ci/e2e, which quote it): keep them.
var steps = []step{
	{"1-install", installStep},
	{"2-helm-test", helmTestStep},
	{"3-report", reportStep},
	{"4-trace", traceStep},
	{"5-metrics-per-hop", metricsPerHopStep},
	// From here on, every disruption runs under load from inside the
	// cluster, to the ingress Service.
	{"6-scale-user-up", scaleUserUpStep},
	{"7-scale-user-down", scaleUserDownStep},
	{"8-lose-a-pod", losePodStep},
	{"9-rolling-upgrade-1-replica", rollingUpgradeStep},
	// The rolling upgrade at two replicas is the metrics switch
	// (docs/metrics-and-dashboards.md): every workload's pod template
	// changes (no more statsd_exporter), under load. From here on the
	// release runs in metrics.mode prometheus.
	{"10-rolling-upgrade-2-replicas-metrics-prometheus", metricsSwitchStep},
	// Mutual TLS (docs/mutual-tls.md), on since the install.
	{"11-mtls-renewal-under-load", mtlsRenewalStep},
	{"12-mtls-wrong-identity-refused", mtlsRefusedStep},
	{"13-mtls-off-and-on-under-load", mtlsOffAndOnStep},
	// The fault tour (docs/faults.md), on the same release.
	{"14-tour-aborts-absorbed", abortsAbsorbedStep},
	{"15-tour-retries-off", retriesOffStep},
	{"16-tour-one-pod-ejected", onePodEjectedStep},
	{"17-tour-slow-order", slowOrderStep},
	// The legacy item service (docs/legacy-php-item.md).
	{"18-item-php-under-load", itemPHPStep},
	// A service of your own (docs/your-service.md), added by a values file
	// in step 18's last roll, and removed.
	{"19-your-service-under-load", yourServiceStep},
	{"20-uninstall", uninstallStep},
}

// settings are read from the environment so that the same test runs
// against any cluster.
type settings struct {
	release   string // E2E_RELEASE, default shop (not demo: names must not be hard-coded)
	namespace string // E2E_NAMESPACE, default envoy-example-e2e (labelled restricted)
	load      string // E2E_LOAD: how images reach the nodes: ctr, kind, minikube or none
	values    []string
	keep      bool // E2E_KEEP: keep the release after a failure
}

func readSettings() settings {
	s := settings{
		release:   envOr("E2E_RELEASE", "shop"),
		namespace: envOr("E2E_NAMESPACE", "envoy-example-e2e"),
		load:      envOr("E2E_LOAD", "ctr"),
		keep:      os.Getenv("E2E_KEEP") != "",
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

// stepNumber is the number a step's name starts with.
func stepNumber(name string) int {
	n, _ := strconv.Atoi(name[:strings.IndexByte(name, '-')])
	return n
}

// selectSteps picks the steps to run from E2E_FROM ("14": 14 to the end)
// and E2E_STEPS ("4,16", "14-18"); neither set: all of them.
func selectSteps(from, only string) ([]step, error) {
	want := map[int]bool{}
	if only = strings.TrimSpace(only); only != "" {
		for _, part := range strings.Split(only, ",") {
			lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
			a, err := strconv.Atoi(lo)
			b := a
			if err == nil && isRange {
				b, err = strconv.Atoi(hi)
			}
			if err != nil || a < 1 || b < a || b > len(steps) {
				return nil, fmt.Errorf("E2E_STEPS=%s: %q is no step number or range of 1-%d", only, part, len(steps))
			}
			for n := a; n <= b; n++ {
				want[n] = true
			}
		}
	}
	first := 1
	if from = strings.TrimSpace(from); from != "" {
		n, err := strconv.Atoi(from)
		if err != nil || n < 1 || n > len(steps) {
			return nil, fmt.Errorf("E2E_FROM=%s: want a step number, 1-%d", from, len(steps))
		}
		first = n
	}
	var out []step
	for _, s := range steps {
		n := stepNumber(s.name)
		if n >= first && (len(want) == 0 || want[n]) {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("E2E_FROM=%s E2E_STEPS=%s select no step", from, only)
	}
	return out, nil
}

func TestStepTable(t *testing.T) {
	for i, s := range steps {
		if stepNumber(s.name) != i+1 {
			t.Errorf("step %d is named %s", i+1, s.name)
		}
	}
	for _, tc := range []struct{ from, only, want string }{
		{"", "", "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20"},
		{"14", "", "14 15 16 17 18 19 20"},
		{"", "4,16", "4 16"},
		{"", "14-18", "14 15 16 17 18"},
		{"15", "4,14-16", "15 16"},
	} {
		got, err := selectSteps(tc.from, tc.only)
		var names []string
		for _, s := range got {
			names = append(names, strconv.Itoa(stepNumber(s.name)))
		}
		if err != nil || strings.Join(names, " ") != tc.want {
			t.Errorf("E2E_FROM=%q E2E_STEPS=%q: %v %v, want %s", tc.from, tc.only, names, err, tc.want)
		}
	}
	for _, bad := range [][2]string{{"0", ""}, {"21", ""}, {"x", ""}, {"", "4,x"}, {"", "18-14"}, {"", "3-25"}} {
		if _, err := selectSteps(bad[0], bad[1]); err == nil {
			t.Errorf("E2E_FROM=%q E2E_STEPS=%q accepted", bad[0], bad[1])
		}
	}
}

func TestDemo(t *testing.T) {
	todo, err := selectSteps(os.Getenv("E2E_FROM"), os.Getenv("E2E_STEPS"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Minute)
	defer cancel()
	r := newRelease(t, ctx, readSettings())

	// A failed run must not leave the release behind for the next one,
	// unless E2E_KEEP says so or the run found it installed (it did not
	// start at step 1).
	installs := stepNumber(todo[0].name) == 1
	t.Cleanup(func() {
		if !t.Failed() || r.s.keep || !installs {
			if t.Failed() {
				t.Logf("cleanup: release %s kept in namespace %s", r.s.release, r.s.namespace)
			}
			return
		}
		out, _ := r.k.Helm(context.Background(), "--namespace", r.s.namespace, "uninstall", r.s.release, "--ignore-not-found", "--wait")
		t.Logf("cleanup: helm uninstall: %s", out)
		if r.createdNamespace(context.Background()) {
			_ = r.k.Clientset.CoreV1().Namespaces().Delete(context.Background(), r.s.namespace, deleteNow)
		}
	})
	if !installs {
		r.mustBeInstalled(t)
	}
	for _, s := range todo {
		runStep(t, s, r)
	}
}

// runStep runs one numbered step as a subtest, prints its duration, and
// stops the whole test at the first failure: later steps need earlier ones.
func runStep(t *testing.T, s step, r *release) {
	t.Helper()
	start := time.Now()
	ok := t.Run(s.name, func(t *testing.T) { s.run(t, r) })
	verdict := map[bool]string{true: "PASS", false: "FAIL"}[ok]
	t.Logf("step %s: %s in %s", s.name, verdict, time.Since(start).Round(time.Millisecond))
	fmt.Printf("e2e: step %s: %s in %s\n", s.name, verdict, time.Since(start).Round(time.Second))
	if !ok {
		t.FailNow()
	}
}

// The demo's path, read from the chart by readDemoPath before any step:
// demoHops are the calls each query must answer a series for; workloads
// the Deployments of the demo (ingress, frontend, user, order, item), whose
// spans a report's trace holds.
var (
	demoHops  []queries.Hop
	workloads []string
)

var deleteNow = metav1.DeleteOptions{}

// repoRoot is where the Makefile and the chart are.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	return root
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

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
