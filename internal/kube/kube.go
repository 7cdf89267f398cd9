// Package kube is what the end-to-end test (e2e/) and the benchmark
// (tools/bench) do to the Kubernetes that KUBECONFIG names: connect, list
// the (ready) pods of a label selector, port-forward to a pod, install the
// chart with `go tool helm` and wait until the namespace has settled, run
// the fortio pod, and read the kubelet's resource metrics and the apps'
// /metrics through the API server's proxy.
//
//	k, err := kube.Connect()
//	pods, err := k.ReadyPods(ctx, "default", "app.kubernetes.io/component=user")
//	addr, stop, err := k.Forward(ctx, "default", pods[0].Name, 9901)
//	defer stop()
package kube

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"

	"github.com/envoy-example/envoy-example/internal/repo"
)

// Client talks to the API server that KUBECONFIG names.
type Client struct {
	Config    *rest.Config
	Clientset kubernetes.Interface
	// Log receives progress lines; nil drops them.
	Log func(format string, args ...any)
}

// Connect reads KUBECONFIG (or ~/.kube/config): the local cluster of
// tools/cluster/cluster, kind, minikube or any other.
func Connect() (*Client, error) {
	path := os.Getenv("KUBECONFIG")
	if path == "" {
		home, _ := os.UserHomeDir()
		path = filepath.Join(home, ".kube", "config")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return nil, fmt.Errorf("KUBECONFIG %s: %w (run `tools/cluster/cluster up`, or point KUBECONFIG at kind, minikube or another cluster)", path, err)
	}
	// No client-side bound on a request: a fortio run answers only when it
	// ends; callers bound their calls with a context.
	cfg.Timeout = 0
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	return &Client{Config: cfg, Clientset: cs}, nil
}

func (c *Client) logf(format string, args ...any) {
	if c.Log != nil {
		c.Log(format, args...)
	}
}

// Helm runs `go tool helm args...` in the repository root (repo.Root) and
// returns its output; the error carries the output too.
func (c *Client) Helm(ctx context.Context, args ...string) (string, error) {
	root, err := repo.Root()
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, "go", append([]string{"tool", "helm"}, args...)...)
	cmd.Dir = root
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("helm %s: %w\n%s", strings.Join(args, " "), err, out.String())
	}
	return out.String(), nil
}

// Install installs or upgrades the chart (charts/envoy-example) as release
// in namespace and waits until every pod is ready and no old pod is left
// terminating. valuesFiles are relative to the repository root.
func (c *Client) Install(ctx context.Context, release, namespace string, valuesFiles, set []string) error {
	args := []string{"upgrade", "--install", release, "charts/envoy-example", "--namespace", namespace, "--create-namespace",
		"--wait", "--timeout", "5m"}
	for _, f := range valuesFiles {
		args = append(args, "--values", f)
	}
	for _, s := range set {
		args = append(args, "--set", s)
	}
	start := time.Now()
	if _, err := c.Helm(ctx, args...); err != nil {
		return err
	}
	if err := c.WaitSettled(ctx, namespace, 3*time.Minute); err != nil {
		return err
	}
	c.logf("%s: release %s ready (%s) in %s", namespace, release, strings.Join(set, " "), time.Since(start).Round(time.Second))
	return nil
}

// WaitSettled waits until every Deployment of namespace has rolled out,
// every pod is ready and none is being deleted (an old pod still draining
// would share the CPUs, or answer from an older config). The Deployments
// are checked first: right after `helm upgrade --wait` returns, a
// Deployment may not have started its rollout yet, and its old pods then
// look settled.
func (c *Client) WaitSettled(ctx context.Context, namespace string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		deployments, err := c.Clientset.AppsV1().Deployments(namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		pods, err := c.Pods(ctx, namespace, "")
		if err != nil {
			return err
		}
		busy := ""
		for i := range deployments.Items {
			if err := RolledOut(&deployments.Items[i]); err != nil {
				busy = deployments.Items[i].Name + ": " + err.Error()
			}
		}
		for _, p := range pods {
			if p.DeletionTimestamp != nil {
				busy = p.Name + " terminating"
			} else if !Ready(p) && p.Status.Phase != corev1.PodSucceeded {
				busy = p.Name + " not ready"
			}
		}
		if busy == "" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not settled after %s: %s", namespace, within, busy)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

// RolledOut says why a Deployment has not finished its rollout yet, as
// `kubectl rollout status` does, or nil once every replica is updated and
// available and no old one is left.
func RolledOut(d *appsv1.Deployment) error {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	st := d.Status
	switch {
	case st.ObservedGeneration < d.Generation:
		return fmt.Errorf("generation %d not observed yet", d.Generation)
	case st.UpdatedReplicas < want:
		return fmt.Errorf("%d of %d replicas updated", st.UpdatedReplicas, want)
	case st.Replicas > st.UpdatedReplicas:
		return fmt.Errorf("%d old replicas pending termination", st.Replicas-st.UpdatedReplicas)
	case st.AvailableReplicas < st.UpdatedReplicas:
		return fmt.Errorf("%d of %d updated replicas available", st.AvailableReplicas, st.UpdatedReplicas)
	}
	return nil
}

// Ready says whether the pod's Ready condition is true.
func Ready(p corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// Component is the pod's app.kubernetes.io/component label.
func Component(p corev1.Pod) string { return p.Labels["app.kubernetes.io/component"] }

// Pods lists the pods of namespace that match the label selector ("" for
// all), whatever their state.
func (c *Client) Pods(ctx context.Context, namespace, selector string) ([]corev1.Pod, error) {
	list, err := c.Clientset.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, err
	}
	return list.Items, nil
}

// ReadyPods lists the pods of namespace that match the label selector ("" for
// all), are Ready and are not being deleted, sorted by name.
func (c *Client) ReadyPods(ctx context.Context, namespace, selector string) ([]corev1.Pod, error) {
	pods, err := c.Pods(ctx, namespace, selector)
	if err != nil {
		return nil, err
	}
	var out []corev1.Pod
	for _, p := range pods {
		if p.DeletionTimestamp == nil && Ready(p) {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Forward opens a port-forward to port on one pod, the way
// `kubectl port-forward` does, and returns the local address and the
// function that closes it. The forward reaches the pod's loopback too,
// which is how Envoy's admin port (127.0.0.1:9901 in the pod, never on the
// pod IP) is read.
func (c *Client) Forward(ctx context.Context, namespace, pod string, port int) (addr string, stop func(), err error) {
	what := fmt.Sprintf("port-forward to %s/%s:%d", namespace, pod, port)
	transport, upgrader, err := spdy.RoundTripperFor(c.Config)
	if err != nil {
		return "", nil, fmt.Errorf("port-forward transport: %w", err)
	}
	u, err := url.Parse(c.Config.Host)
	if err != nil {
		return "", nil, fmt.Errorf("API server URL %q: %w", c.Config.Host, err)
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + fmt.Sprintf("/api/v1/namespaces/%s/pods/%s/portforward", namespace, pod)
	dialer := spdy.NewDialer(upgrader, &http.Client{Transport: transport}, http.MethodPost, u)

	stopc, ready := make(chan struct{}), make(chan struct{})
	pf, err := portforward.NewOnAddresses(dialer, []string{"127.0.0.1"}, []string{fmt.Sprintf("0:%d", port)}, stopc, ready, io.Discard, io.Discard)
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", what, err)
	}
	errc := make(chan error, 1)
	go func() { errc <- pf.ForwardPorts() }()
	select {
	case <-ready:
	case err := <-errc:
		return "", nil, fmt.Errorf("%s: %w", what, err)
	case <-time.After(30 * time.Second):
		close(stopc)
		return "", nil, fmt.Errorf("%s: not ready after 30s", what)
	case <-ctx.Done():
		close(stopc)
		return "", nil, fmt.Errorf("%s: %w", what, ctx.Err())
	}
	stop = func() { close(stopc) }
	ports, err := pf.GetPorts()
	if err != nil || len(ports) != 1 {
		stop()
		return "", nil, fmt.Errorf("%s: ports %v: %v", what, ports, err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(int(ports[0].Local))), stop, nil
}

// ServiceIP returns the cluster IP of a Service.
func (c *Client) ServiceIP(ctx context.Context, namespace, name string) (string, error) {
	svc, err := c.Clientset.CoreV1().Services(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	if svc.Spec.ClusterIP == "" || svc.Spec.ClusterIP == corev1.ClusterIPNone {
		return "", fmt.Errorf("service %s/%s has no cluster IP", namespace, name)
	}
	return svc.Spec.ClusterIP, nil
}

// PodGet GETs path (with query) from port of a pod through the API
// server's proxy.
func (c *Client) PodGet(ctx context.Context, namespace, pod string, port int, path string, query url.Values) ([]byte, error) {
	req := c.Clientset.CoreV1().RESTClient().Get().
		AbsPath(fmt.Sprintf("/api/v1/namespaces/%s/pods/%s:%d/proxy/%s", namespace, pod, port, strings.TrimPrefix(path, "/")))
	for k, vs := range query {
		for _, v := range vs {
			req = req.Param(k, v)
		}
	}
	return req.DoRaw(ctx)
}

// KubeletResource GETs a node's /metrics/resource through the API server.
func (c *Client) KubeletResource(ctx context.Context, node string) ([]byte, error) {
	return c.Clientset.CoreV1().RESTClient().Get().AbsPath(fmt.Sprintf("/api/v1/nodes/%s/proxy/metrics/resource", node)).DoRaw(ctx)
}

// Node returns a node.
func (c *Client) Node(ctx context.Context, name string) (*corev1.Node, error) {
	return c.Clientset.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
}

// FortioPort is where the fortio server listens in its pod (REST API).
const FortioPort = 8080

// StartFortio creates namespace and in it a pod running `fortio server`
// (its REST API starts the load runs), and waits until it is ready.
func (c *Client) StartFortio(ctx context.Context, namespace, image string, pullPolicy corev1.PullPolicy) (*corev1.Pod, error) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}
	if _, err := c.Clientset.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, err
	}
	no, yes := false, true
	uid := int64(65534)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "fortio", Namespace: namespace, Labels: map[string]string{
			"app.kubernetes.io/name": "fortio", "app.kubernetes.io/component": "fortio", "app.kubernetes.io/part-of": "envoy-example-load",
		}},
		Spec: corev1.PodSpec{
			AutomountServiceAccountToken: &no,
			EnableServiceLinks:           &no,
			RestartPolicy:                corev1.RestartPolicyNever,
			SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: &yes, RunAsUser: &uid, RunAsGroup: &uid,
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
			Containers: []corev1.Container{{
				Name:            "fortio",
				Image:           image,
				ImagePullPolicy: pullPolicy,
				Args: []string{"server", "-http-port", fmt.Sprint(FortioPort), "-grpc-port", "disabled", "-redirect-port", "disabled",
					"-tcp-port", "disabled", "-udp-port", "disabled", "-data-dir", "/tmp"},
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: FortioPort}},
				ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{
					HTTPGet: &corev1.HTTPGetAction{Path: "/debug", Port: intstr.FromInt32(FortioPort)}}, PeriodSeconds: 2},
				SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: &no, ReadOnlyRootFilesystem: &yes,
					Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}},
				VolumeMounts: []corev1.VolumeMount{{Name: "tmp", MountPath: "/tmp"}},
			}},
			Volumes: []corev1.Volume{{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
		},
	}
	pods := c.Clientset.CoreV1().Pods(namespace)
	_ = pods.Delete(ctx, pod.Name, metav1.DeleteOptions{})
	for i := 0; ; i++ {
		_, err := pods.Create(ctx, pod, metav1.CreateOptions{})
		if err == nil {
			break
		}
		if !apierrors.IsAlreadyExists(err) || i > 60 {
			return nil, err
		}
		time.Sleep(time.Second) // the previous one is still going
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		p, err := pods.Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		if Ready(*p) {
			return p, nil
		}
		for _, s := range p.Status.ContainerStatuses {
			if w := s.State.Waiting; w != nil && (w.Reason == "ErrImageNeverPull" || w.Reason == "ImagePullBackOff" || w.Reason == "ErrImagePull") {
				return nil, fmt.Errorf("fortio pod: %s: %s (load the image: see ci/bench)", w.Reason, w.Message)
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("fortio pod not ready after 2m: %s", p.Status.Phase)
		}
		time.Sleep(2 * time.Second)
	}
}

// DeleteNamespaces deletes namespaces and waits (bounded) until they are gone.
func (c *Client) DeleteNamespaces(ctx context.Context, names ...string) error {
	for _, n := range names {
		if err := c.Clientset.CoreV1().Namespaces().Delete(ctx, n, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	deadline := time.Now().Add(3 * time.Minute)
	for _, n := range names {
		for {
			_, err := c.Clientset.CoreV1().Namespaces().Get(ctx, n, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("namespace %s still there after 3m", n)
			}
			time.Sleep(2 * time.Second)
		}
	}
	return nil
}
