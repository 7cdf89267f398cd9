//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// 18-item-php-under-load: item swaps from its Go implementation to the
// legacy PHP one (the bridge in front of PHP-FPM; the chart's values file
// charts/envoy-example/ci/mesh-php-values.yaml) and back (--set
// services.item.implementation=go), each under the e2e's load: no request
// may fail, the report must be byte for byte the same, and a request's
// trace must show its item span served by a PHP pod
// (docs/legacy-php-item.md).
func itemPHPStep(t *testing.T, r *release) {
	r.ensure(t, atTwoPods(map[string]string{"metrics.mode": "prometheus"}))
	ingress := r.ingress(t)
	_, goReport, err := rawGet(ingress, fmt.Sprintf("e2e-php-before-%d", time.Now().UnixNano()))
	if err != nil {
		t.Fatal(err)
	}
	r.underLoad(t, "item go -> php (helm upgrade, 2 pods)", func(t *testing.T) {
		r.change(t, r.ciValues(t, "mesh-php-values.yaml")...)
	})
	pods, err := r.k.ReadyPods(r.ctx, r.s.namespace, r.selector("item"))
	if err != nil {
		t.Fatal(err)
	}
	php := map[string]bool{}
	for _, p := range pods {
		if hasContainer(p, "php-fpm") {
			php[p.Name] = true
		}
	}
	if len(php) != len(pods) || len(pods) == 0 {
		t.Fatalf("%d of %d item pods run php-fpm", len(php), len(pods))
	}

	ingress = r.ingress(t)
	jaegerAddr := r.forwardTo(t, "jaeger", port("jaegerQuery"))
	requestID := fmt.Sprintf("e2e-php-after-%d", time.Now().UnixNano())
	code, phpReport, err := rawGet(ingress, requestID)
	if err != nil || code != 200 {
		t.Fatalf("GET / with item in PHP: %d %v", code, err)
	}
	if phpReport != goReport {
		t.Fatalf("the report differs with item in PHP:\ngo:  %s\nphp: %s", goReport, phpReport)
	}
	t.Logf("the report is the same with item in PHP (%d bytes)", len(phpReport))
	eventually(t, r.ctx, 2*time.Minute, "the trace of "+requestID+" with item's span from a PHP pod", func() error {
		spans, err := traceSpans(r.ctx, jaegerAddr, requestID)
		if err != nil {
			return err
		}
		for _, sp := range spans {
			if sp.Service == "item" && sp.Tags["span.kind"] == "server" {
				if !php[sp.Tags["node_id"]] {
					return fmt.Errorf("item's span came from %q, not a PHP pod (%v)", sp.Tags["node_id"], keys(php))
				}
				t.Logf("trace of x-request-id %s: item's span from %s, a PHP pod", requestID, sp.Tags["node_id"])
				return nil
			}
		}
		return fmt.Errorf("no item server span yet among %d spans", len(spans))
	})

	// The same roll brings in step 19's service of your own (echo, by its
	// values file alone): the ingress rolls for its new route while item
	// rolls, so step 19 needs no roll of its own to add it.
	r.underLoad(t, "item php -> go, and echo added by values alone (helm upgrade, 2 pods)", func(t *testing.T) {
		r.change(t, append([]string{"--set", "services.item.implementation=go"}, r.echoValues(t)...)...)
	})
}

// hasContainer says whether the pod runs a container (or native sidecar)
// of that name.
func hasContainer(p corev1.Pod, name string) bool {
	for _, c := range append(append([]corev1.Container{}, p.Spec.InitContainers...), p.Spec.Containers...) {
		if strings.EqualFold(c.Name, name) {
			return true
		}
	}
	return false
}
