//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"
)

// cluster is the Kubernetes the test drives: whatever KUBECONFIG points at
// (the local cluster of ci/cluster, kind or minikube).
type cluster struct {
	config *rest.Config
	client kubernetes.Interface
}

func connect(t *testing.T) *cluster {
	t.Helper()
	path := os.Getenv("KUBECONFIG")
	if path == "" {
		home, _ := os.UserHomeDir()
		path = filepath.Join(home, ".kube", "config")
	}
	config, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatalf("KUBECONFIG %s: %v (run `ci/cluster up`, or point KUBECONFIG at kind or minikube)", path, err)
	}
	client, err := kubernetes.NewForConfig(config)
	if err != nil {
		t.Fatalf("kubernetes client: %v", err)
	}
	return &cluster{config: config, client: client}
}

// pods lists the pods of one component of the release.
func (c *cluster) pods(ctx context.Context, namespace, selector string) ([]corev1.Pod, error) {
	list, err := c.client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, err
	}
	return list.Items, nil
}

// readyPods returns the pods matching selector that are Ready and not
// being deleted.
func (c *cluster) readyPods(ctx context.Context, namespace, selector string) ([]corev1.Pod, error) {
	pods, err := c.pods(ctx, namespace, selector)
	if err != nil {
		return nil, err
	}
	var ready []corev1.Pod
	for _, p := range pods {
		if p.DeletionTimestamp != nil {
			continue
		}
		for _, cond := range p.Status.Conditions {
			if cond.Type == corev1.PodReady && cond.Status == corev1.ConditionTrue {
				ready = append(ready, p)
			}
		}
	}
	return ready, nil
}

// forward opens a port-forward to port on one pod, the way
// `kubectl port-forward` does, and returns the local address. The forward
// reaches the pod's loopback too, which is how the test reads Envoy's admin
// port (127.0.0.1:9901 in the pod, never on the pod IP).
func (c *cluster) forward(t *testing.T, namespace, pod string, port int) string {
	t.Helper()
	transport, upgrader, err := spdy.RoundTripperFor(c.config)
	if err != nil {
		t.Fatalf("port-forward transport: %v", err)
	}
	u, err := url.Parse(c.config.Host)
	if err != nil {
		t.Fatalf("API server URL %q: %v", c.config.Host, err)
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + fmt.Sprintf("/api/v1/namespaces/%s/pods/%s/portforward", namespace, pod)
	dialer := spdy.NewDialer(upgrader, &http.Client{Transport: transport}, http.MethodPost, u)

	stop, ready := make(chan struct{}), make(chan struct{})
	pf, err := portforward.NewOnAddresses(dialer, []string{"127.0.0.1"}, []string{fmt.Sprintf("0:%d", port)}, stop, ready, io.Discard, io.Discard)
	if err != nil {
		t.Fatalf("port-forward to %s/%s:%d: %v", namespace, pod, port, err)
	}
	errc := make(chan error, 1)
	go func() { errc <- pf.ForwardPorts() }()
	select {
	case <-ready:
	case err := <-errc:
		t.Fatalf("port-forward to %s/%s:%d: %v", namespace, pod, port, err)
	case <-time.After(30 * time.Second):
		t.Fatalf("port-forward to %s/%s:%d: not ready after 30s", namespace, pod, port)
	}
	t.Cleanup(func() { close(stop) })
	ports, err := pf.GetPorts()
	if err != nil || len(ports) != 1 {
		t.Fatalf("port-forward ports: %v %v", ports, err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(int(ports[0].Local)))
}

// forwardToComponent port-forwards to the first ready pod of a component.
func (c *cluster) forwardToComponent(t *testing.T, ctx context.Context, namespace, selector string, port int) string {
	t.Helper()
	var pods []corev1.Pod
	eventually(t, ctx, 2*time.Minute, "a ready pod with "+selector, func() error {
		var err error
		pods, err = c.readyPods(ctx, namespace, selector)
		if err == nil && len(pods) == 0 {
			err = fmt.Errorf("none ready")
		}
		return err
	})
	return c.forward(t, namespace, pods[0].Name, port)
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
