//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// itemPHP swaps item from its Go implementation to the legacy PHP one
// (the bridge in front of PHP-FPM) and back, each under the e2e's load:
// no request may fail, the report must be byte for byte the same, and a
// request's trace must show its item span served by a PHP pod.
func (tr *tour) itemPHP(t *testing.T) {
	ingress := tr.ingress(t)
	_, goReport, err := rawGet(ingress, fmt.Sprintf("e2e-php-before-%d", time.Now().UnixNano()))
	if err != nil {
		t.Fatal(err)
	}
	underLoad(t, tr.ctx, tr.load, "item go -> php (helm upgrade, 2 pods)", func(t *testing.T) {
		tr.change(t, "--set", "services.item.implementation=php")
	})
	pods, err := tr.k.ReadyPods(tr.ctx, tr.s.namespace, tr.selector("item"))
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

	ingress = tr.ingress(t)
	requestID := fmt.Sprintf("e2e-php-after-%d", time.Now().UnixNano())
	code, phpReport, err := rawGet(ingress, requestID)
	if err != nil || code != 200 {
		t.Fatalf("GET / with item in PHP: %d %v", code, err)
	}
	if phpReport != goReport {
		t.Fatalf("the report differs with item in PHP:\ngo:  %s\nphp: %s", goReport, phpReport)
	}
	t.Logf("the report is the same with item in PHP (%d bytes)", len(phpReport))
	eventually(t, tr.ctx, 2*time.Minute, "the trace of "+requestID+" with item's span from a PHP pod", func() error {
		spans, err := traceSpans(tr.jaeger, requestID)
		if err != nil {
			return err
		}
		for _, sp := range spans {
			if sp.service == "item" && sp.tags["span.kind"] == "server" {
				if !php[sp.tags["node_id"]] {
					return fmt.Errorf("item's span came from %q, not a PHP pod (%v)", sp.tags["node_id"], keys(php))
				}
				t.Logf("trace of x-request-id %s: item's span from %s, a PHP pod", requestID, sp.tags["node_id"])
				return nil
			}
		}
		return fmt.Errorf("no item server span yet among %d spans", len(spans))
	})

	underLoad(t, tr.ctx, tr.load, "item php -> go (helm upgrade, 2 pods)", func(t *testing.T) {
		tr.change(t, "--set", "services.item.implementation=go")
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
