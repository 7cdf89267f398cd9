//go:build e2e

package e2e

import (
	"fmt"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// certgenMayNotReadOthers asks the API server what the certgen hook's
// ServiceAccount may do to Secrets, with the Role and RoleBinding the chart
// renders for this release. They are hooks, deleted once the Jobs succeed,
// so they are created here for the question and deleted after it. The
// Helm release record and Secrets that are not certgen's must be out of
// its reach, its own within it.
func certgenMayNotReadOthers(t *testing.T, r *release) {
	t.Helper()
	rel := r.rendered
	name := r.s.release + "-certgen"
	roleObj, ok1 := rel.Find("Role", name)
	bindingObj, ok2 := rel.Find("RoleBinding", name)
	if !ok1 || !ok2 {
		t.Fatalf("the render has no Role and RoleBinding %s", name)
	}
	role, err := roleObj.Decode()
	if err != nil {
		t.Fatal(err)
	}
	binding, err := bindingObj.Decode()
	if err != nil {
		t.Fatal(err)
	}
	rbac := r.k.Clientset.RbacV1()
	ro, bo := role.(*rbacv1.Role), binding.(*rbacv1.RoleBinding)
	ro.Namespace, bo.Namespace = r.s.namespace, r.s.namespace
	ro.Annotations, bo.Annotations = nil, nil
	if _, err := rbac.Roles(r.s.namespace).Create(r.ctx, ro, metav1.CreateOptions{}); err != nil {
		t.Fatalf("the certgen Role: %v", err)
	}
	defer func() { _ = rbac.Roles(r.s.namespace).Delete(r.ctx, name, deleteNow) }()
	if _, err := rbac.RoleBindings(r.s.namespace).Create(r.ctx, bo, metav1.CreateOptions{}); err != nil {
		t.Fatalf("the certgen RoleBinding: %v", err)
	}
	defer func() { _ = rbac.RoleBindings(r.s.namespace).Delete(r.ctx, name, deleteNow) }()

	user := fmt.Sprintf("system:serviceaccount:%s:%s", r.s.namespace, name)
	helmRecord := fmt.Sprintf("sh.helm.release.v1.%s.v1", r.s.release)
	for _, q := range []struct {
		verb, secret string
		allowed      bool
	}{
		{"get", helmRecord, false},
		{"list", "", false},
		{"watch", "", false},
		{"get", r.s.release + "-user-mtls", true},
		{"update", r.s.release + "-user-mtls", true},
		{"patch", r.s.release + "-user-mtls", false},
		{"delete", r.s.release + "-user-mtls", false},
		{"delete", r.s.release + "-mtls-ca", true},
		{"delete", helmRecord, false},
		{"create", "", true},
	} {
		// RBAC in the API server takes a moment to see a new binding.
		eventually(t, r.ctx, 30*time.Second, fmt.Sprintf("%s may %s secret %q: %v", name, q.verb, q.secret, q.allowed), func() error {
			sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
				User:   user,
				Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + r.s.namespace, "system:authenticated"},
				ResourceAttributes: &authorizationv1.ResourceAttributes{
					Namespace: r.s.namespace, Verb: q.verb, Resource: "secrets", Name: q.secret,
				},
			}}
			got, err := r.k.Clientset.AuthorizationV1().SubjectAccessReviews().Create(r.ctx, sar, metav1.CreateOptions{})
			if err != nil {
				return err
			}
			if got.Status.Allowed != q.allowed {
				return fmt.Errorf("the API server says allowed=%v (%s)", got.Status.Allowed, got.Status.Reason)
			}
			return nil
		})
	}
	t.Logf("the API server: %s may not get, delete or list the Helm release record %s nor any Secret but its own (get, update: its CA and leaves; delete: its CA)", name, helmRecord)
}
