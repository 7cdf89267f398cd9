package kube

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
)

// Right after `helm upgrade --wait` a Deployment may still show its old,
// complete status for an older generation: that is not rolled out.
func TestRolledOut(t *testing.T) {
	two := int32(2)
	deployment := func(generation, observed int64, replicas, updated, available int32) *appsv1.Deployment {
		d := &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: &two}}
		d.Generation = generation
		d.Status = appsv1.DeploymentStatus{ObservedGeneration: observed, Replicas: replicas, UpdatedReplicas: updated, AvailableReplicas: available}
		return d
	}
	for _, c := range []struct {
		name string
		d    *appsv1.Deployment
		want string // "" = rolled out
	}{
		{"done", deployment(3, 3, 2, 2, 2), ""},
		{"new generation not seen yet, old status complete", deployment(4, 3, 2, 2, 2), "generation 4 not observed"},
		{"one new pod", deployment(4, 4, 3, 1, 2), "1 of 2 replicas updated"},
		{"old pod still terminating", deployment(4, 4, 3, 2, 2), "1 old replicas"},
		{"new pods not available", deployment(4, 4, 2, 2, 1), "1 of 2 updated replicas available"},
	} {
		err := RolledOut(c.d)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v, want rolled out", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}
