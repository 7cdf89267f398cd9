//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/envoy-example/envoy-example/internal/envoyproc"
	"github.com/envoy-example/envoy-example/internal/kube"
)

// 6-scale-user-up: user 1 -> 3 under load; each of frontend's Envoys
// (user's caller) must then see the three endpoints (DNS refresh, then
// active health checks).
func scaleUserUpStep(t *testing.T, r *release) {
	r.underLoad(t, "scale user 1 -> 3", func(t *testing.T) {
		r.replicas(t, 3, "user")
	})
	callers, err := r.k.ReadyPods(r.ctx, r.s.namespace, r.selector("frontend"))
	if err != nil || len(callers) == 0 {
		t.Fatalf("frontend pods: %v (%d)", err, len(callers))
	}
	for _, p := range callers {
		admin := forward(t, r.ctx, r.k, r.s.namespace, p.Name, port("envoyAdmin"))
		eventually(t, r.ctx, 2*time.Minute, p.Name+"'s Envoy sees 3 healthy user endpoints", func() error {
			hosts, err := envoyproc.HealthyHosts(admin, "user")
			if err == nil && len(hosts) != 3 {
				err = fmt.Errorf("%d healthy endpoints %v", len(hosts), hosts)
			}
			return err
		})
		t.Logf("%s: Envoy reports 3 healthy endpoints in cluster user", p.Name)
	}
}

// 7-scale-user-down: user 3 -> 1 under load.
func scaleUserDownStep(t *testing.T, r *release) {
	r.underLoad(t, "scale user 3 -> 1", func(t *testing.T) {
		r.replicas(t, 1, "user")
	})
}

// 8-lose-a-pod: at two pods each, one pod of user, then order, then item
// deleted under load.
func losePodStep(t *testing.T, r *release) {
	r.replicas(t, 2, "user", "order", "item")
	for _, c := range []string{"user", "order", "item"} {
		r.underLoad(t, "delete one of 2 "+c+" pods", func(t *testing.T) {
			losePod(t, r.ctx, r.k, r.s.namespace, r.selector(c))
		})
	}
}

// 9-rolling-upgrade-1-replica: a helm upgrade that changes every
// workload's pod template, at one replica each, under load.
func rollingUpgradeStep(t *testing.T, r *release) {
	r.replicas(t, 1, "user", "order", "item")
	r.underLoad(t, "helm upgrade rolling all 5 workloads at 1 replica", func(t *testing.T) {
		rollEverything(t, r)
	})
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
func rollEverything(t *testing.T, r *release) {
	t.Helper()
	before := map[string]map[string]bool{}
	for _, c := range workloads {
		pods, err := r.k.Pods(r.ctx, r.s.namespace, r.selector(c))
		if err != nil {
			t.Fatal(err)
		}
		before[c] = map[string]bool{}
		for _, p := range pods {
			before[c][p.Name] = true
		}
	}
	rollout := fmt.Sprintf("rollout.podAnnotations.e2e-rollout=%d", time.Now().UnixNano())
	r.upgrade(t, "--set-string", rollout)
	for _, c := range workloads {
		name := r.s.release + "-" + c
		eventually(t, r.ctx, 5*time.Minute, name+" rolled out, no old pod left", func() error {
			d, err := r.k.Clientset.AppsV1().Deployments(r.s.namespace).Get(r.ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if err := kube.RolledOut(d); err != nil {
				return err
			}
			pods, err := r.k.Pods(r.ctx, r.s.namespace, r.selector(c))
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
