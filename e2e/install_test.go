//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"

	"github.com/envoy-example/envoy-example/internal/kube"
)

// 1-install: the namespace (restricted), our images on the nodes, the
// chart with the values files of E2E_VALUES.
func installStep(t *testing.T, r *release) {
	restrictedNamespace(t, r.ctx, r.k, r.s.namespace)
	run(t, r.root, "make", "load-images", "LOAD="+r.s.load)
	r.install(t)
}

// 2-helm-test: the chart's own test (services/smoke) passes.
func helmTestStep(t *testing.T, r *release) {
	r.helmTest(t)
}

// 20-uninstall: helm uninstall leaves nothing of the release behind, and
// the namespace goes too when the e2e created it.
func uninstallStep(t *testing.T, r *release) {
	created := r.createdNamespace(r.ctx)
	r.helm(t, "uninstall", r.s.release, "--wait", "--timeout", "5m")
	instance := "app.kubernetes.io/instance=" + r.s.release
	eventually(t, r.ctx, 3*time.Minute, "nothing of the release left", func() error {
		return leftovers(r.ctx, r.k, r.s.namespace, instance)
	})
	if created {
		if err := r.k.Clientset.CoreV1().Namespaces().Delete(r.ctx, r.s.namespace, deleteNow); err != nil {
			t.Errorf("delete namespace %s: %v", r.s.namespace, err)
		}
	}
}

// restrictedNamespace makes sure namespace exists and enforces the
// "restricted" Pod Security Standard, and says whether it created it. A
// namespace it creates carries createdLabel, so that whichever run
// uninstalls the release deletes it too.
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
		labels[createdLabel] = "true"
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
