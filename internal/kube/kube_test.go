package kube

import (
	"context"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func pod(name, component string, ready, deleting bool) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: map[string]string{"app.kubernetes.io/component": component}}}
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}, {Type: corev1.PodReady, Status: status}}
	if deleting {
		now := metav1.Now()
		p.DeletionTimestamp = &now
	}
	return p
}

// ReadyPods is what both the e2e test and the bench count on: only Ready
// pods that are not being deleted, of the selector, in name order.
func TestReadyPodsKeepsReadyOnesOfTheSelectorByName(t *testing.T) {
	c := &Client{Clientset: fake.NewClientset(
		pod("user-b", "user", true, false),
		pod("user-a", "user", true, false),
		pod("user-c", "user", false, false),
		pod("user-d", "user", true, true),
		pod("order-a", "order", true, false),
	)}
	names := func(pods []corev1.Pod) []string {
		var out []string
		for _, p := range pods {
			out = append(out, p.Name)
		}
		return out
	}
	ctx := context.Background()
	got, err := c.ReadyPods(ctx, "ns", "app.kubernetes.io/component=user")
	if err != nil || !slices.Equal(names(got), []string{"user-a", "user-b"}) {
		t.Errorf("ReadyPods(user) = %v, %v; want [user-a user-b]", names(got), err)
	}
	got, err = c.ReadyPods(ctx, "ns", "")
	if err != nil || !slices.Equal(names(got), []string{"order-a", "user-a", "user-b"}) {
		t.Errorf("ReadyPods(all) = %v, %v", names(got), err)
	}
	all, err := c.Pods(ctx, "ns", "app.kubernetes.io/component=user")
	if err != nil || len(all) != 4 {
		t.Errorf("Pods(user) = %d pods, %v; want 4", len(all), err)
	}
	if Component(got[0]) != "order" {
		t.Errorf("Component = %q", Component(got[0]))
	}
}
