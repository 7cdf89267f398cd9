// Package cluster is what the bench does to a Kubernetes cluster: install
// the chart with helm, run the fortio pod, and read the kubelet's resource
// metrics and the apps' /metrics through the API server's proxy.
package cluster

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// Cluster is the Kubernetes KUBECONFIG names.
type Cluster struct {
	Client kubernetes.Interface
	// Root is the repository root, where `go tool helm` runs.
	Root string
	// Log receives progress lines.
	Log func(format string, args ...any)
}

// Connect reads KUBECONFIG (or ~/.kube/config).
func Connect(root string, log func(string, ...any)) (*Cluster, error) {
	path := os.Getenv("KUBECONFIG")
	if path == "" {
		home, _ := os.UserHomeDir()
		path = filepath.Join(home, ".kube", "config")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return nil, fmt.Errorf("KUBECONFIG %s: %w (run `ci/cluster up`, or point KUBECONFIG at a cluster)", path, err)
	}
	// A fortio run answers only when it ends.
	cfg.Timeout = 0
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &Cluster{Client: client, Root: root, Log: log}, nil
}

// Helm runs `go tool helm` in the repository root.
func (c *Cluster) Helm(ctx context.Context, args ...string) error {
	cmd := exec.CommandContext(ctx, "go", append([]string{"tool", "helm"}, args...)...)
	cmd.Dir = c.Root
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("helm %s: %w\n%s", strings.Join(args, " "), err, out.String())
	}
	return nil
}

// Install installs or upgrades the chart as release in namespace and waits
// until every pod is ready and no old pod is left terminating.
func (c *Cluster) Install(ctx context.Context, release, namespace string, valuesFiles, set []string) error {
	args := []string{"upgrade", "--install", release, "charts/envoy-example", "--namespace", namespace, "--create-namespace",
		"--wait", "--timeout", "5m"}
	for _, f := range valuesFiles {
		args = append(args, "--values", f)
	}
	for _, s := range set {
		args = append(args, "--set", s)
	}
	start := time.Now()
	if err := c.Helm(ctx, args...); err != nil {
		return err
	}
	if err := c.WaitSettled(ctx, namespace, 3*time.Minute); err != nil {
		return err
	}
	c.Log("%s: release %s ready (%s) in %s", namespace, release, strings.Join(set, " "), time.Since(start).Round(time.Second))
	return nil
}

// WaitSettled waits until every pod of namespace is ready and none is
// being deleted (an old pod still draining would share the CPUs).
func (c *Cluster) WaitSettled(ctx context.Context, namespace string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		pods, err := c.Client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		busy := ""
		for _, p := range pods.Items {
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

// Ready says whether the pod's Ready condition is true.
func Ready(p corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// Pods lists the ready pods of namespace, sorted by name.
func (c *Cluster) Pods(ctx context.Context, namespace string) ([]corev1.Pod, error) {
	list, err := c.Client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	var out []corev1.Pod
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil && Ready(p) {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Component is the pod's app.kubernetes.io/component label.
func Component(p corev1.Pod) string { return p.Labels["app.kubernetes.io/component"] }

// ServiceIP returns the cluster IP of a Service.
func (c *Cluster) ServiceIP(ctx context.Context, namespace, name string) (string, error) {
	svc, err := c.Client.CoreV1().Services(namespace).Get(ctx, name, metav1.GetOptions{})
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
func (c *Cluster) PodGet(ctx context.Context, namespace, pod string, port int, path string, query url.Values) ([]byte, error) {
	req := c.Client.CoreV1().RESTClient().Get().
		AbsPath(fmt.Sprintf("/api/v1/namespaces/%s/pods/%s:%d/proxy/%s", namespace, pod, port, strings.TrimPrefix(path, "/")))
	for k, vs := range query {
		for _, v := range vs {
			req = req.Param(k, v)
		}
	}
	return req.DoRaw(ctx)
}

// KubeletResource GETs a node's /metrics/resource through the API server.
func (c *Cluster) KubeletResource(ctx context.Context, node string) ([]byte, error) {
	return c.Client.CoreV1().RESTClient().Get().AbsPath(fmt.Sprintf("/api/v1/nodes/%s/proxy/metrics/resource", node)).DoRaw(ctx)
}

// Node returns a node.
func (c *Cluster) Node(ctx context.Context, name string) (*corev1.Node, error) {
	return c.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
}

// FortioPort is where the fortio server listens in its pod (REST API).
const FortioPort = 8080

// StartFortio creates namespace and in it a pod running `fortio server`
// (its REST API starts the load runs), and waits until it is ready.
func (c *Cluster) StartFortio(ctx context.Context, namespace, image string, pullPolicy corev1.PullPolicy) (*corev1.Pod, error) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}
	if _, err := c.Client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, err
	}
	no, yes := false, true
	uid := int64(65534)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "fortio", Namespace: namespace, Labels: map[string]string{
			"app.kubernetes.io/name": "fortio", "app.kubernetes.io/component": "fortio", "app.kubernetes.io/part-of": "envoy-example-bench",
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
	_ = c.Client.CoreV1().Pods(namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{})
	for i := 0; ; i++ {
		_, err := c.Client.CoreV1().Pods(namespace).Create(ctx, pod, metav1.CreateOptions{})
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
		p, err := c.Client.CoreV1().Pods(namespace).Get(ctx, pod.Name, metav1.GetOptions{})
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
func (c *Cluster) DeleteNamespaces(ctx context.Context, names ...string) error {
	for _, n := range names {
		if err := c.Client.CoreV1().Namespaces().Delete(ctx, n, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	deadline := time.Now().Add(3 * time.Minute)
	for _, n := range names {
		for {
			_, err := c.Client.CoreV1().Namespaces().Get(ctx, n, metav1.GetOptions{})
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
