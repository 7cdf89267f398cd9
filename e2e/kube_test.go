//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/envoy-example/envoy-example/charts/render"
	"github.com/envoy-example/envoy-example/internal/kube"
)

// connect connects to the Kubernetes the test drives: whatever KUBECONFIG
// points at (the local cluster of tools/cluster/cluster, kind or minikube).
func connect(t *testing.T) *kube.Client {
	t.Helper()
	k, err := kube.Connect()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// forward port-forwards to port on one pod for the rest of the test and
// returns the local address (kube.Client.Forward).
func forward(t *testing.T, ctx context.Context, k *kube.Client, namespace, pod string, port int) string {
	t.Helper()
	addr, stop, err := k.Forward(ctx, namespace, pod, port)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return addr
}

// forwardToComponent port-forwards to the first ready pod of a component.
func forwardToComponent(t *testing.T, ctx context.Context, k *kube.Client, namespace, selector string, port int) string {
	t.Helper()
	var pods []corev1.Pod
	eventually(t, ctx, 2*time.Minute, "a ready pod with "+selector, func() error {
		var err error
		pods, err = k.ReadyPods(ctx, namespace, selector)
		if err == nil && len(pods) == 0 {
			err = fmt.Errorf("none ready")
		}
		return err
	})
	return forward(t, ctx, k, namespace, pods[0].Name, port)
}

// eventually retries check until it succeeds or within runs out, then fails
// the test with the last error: clusters converge, they are not instant.
func eventually(t *testing.T, ctx context.Context, within time.Duration, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(within)
	var err error
	for attempt := 1; ; attempt++ {
		if err = check(); err == nil {
			return
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("%s: still failing after %s (%d attempts): %v", what, within, attempt, err)
		}
		time.Sleep(2 * time.Second)
	}
}

// port is the chart's port called name (charts/envoy-example/ports.yaml,
// read through render.Ports), so that the e2e reaches the ports the
// templates render rather than numbers of its own.
func port(name string) int {
	chartPortsOnce.Do(func() { chartPorts, chartPortsErr = render.Ports() })
	if chartPortsErr != nil {
		panic(fmt.Sprintf("e2e: the chart's ports: %v", chartPortsErr))
	}
	p, ok := chartPorts[name]
	if !ok {
		panic(fmt.Sprintf("e2e: the chart names no port %q (charts/envoy-example/ports.yaml)", name))
	}
	return int(p)
}

var (
	chartPortsOnce sync.Once
	chartPorts     map[string]int32
	chartPortsErr  error
)
