//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/envoy-example/envoy-example/internal/envoyproc"
	"github.com/envoy-example/envoy-example/internal/jaeger"
)

// The fault tour (docs/faults.md, "Break it on purpose") on the installed
// release, asserting what the page says each step shows. It starts where
// the metrics switch and the mTLS steps leave the release: two pods of
// everything, no fault, metrics.mode prometheus, mTLS on; a step run on
// its own brings the release there first (release.ensure).
func tourState() map[string]string {
	return atTwoPods(map[string]string{"metrics.mode": "prometheus"})
}

// 14-tour-aborts-absorbed, the tour's step 1: 30% of item's calls aborted with UNAVAILABLE by item's own Envoy.
// The callers' Envoys retry (order's on another item pod, frontend's on
// another order pod): every report is still a 200, the retries show in
// Prometheus, and one request's trace shows item answering it twice.
func abortsAbsorbedStep(t *testing.T, r *release) {
	r.ensure(t, tourState())
	prom := r.forwardTo(t, "prometheus", port("prometheus"))
	jaegerAddr := r.forwardTo(t, "jaeger", port("jaegerQuery"))
	r.change(t, "--set", "faults.item.abort.percent=30")
	r.underLoad(t, "tour 1: 30% of item's calls aborted (UNAVAILABLE)", func(t *testing.T) {
		time.Sleep(30 * time.Second)
	})
	const retries = `sum(increase(envoy_upstream_rq_retry{app="order",cluster="item"}[2m]))`
	eventually(t, r.ctx, 2*time.Minute, "order's retries to item in Prometheus", func() error {
		v, err := promValue(r.ctx, prom, retries)
		if err == nil && v < 1 {
			err = fmt.Errorf("%s = %v", retries, v)
		}
		if err == nil {
			t.Logf("%s = %.0f", retries, v)
		}
		return err
	})
	ingress := r.ingress(t)
	// Ten requests with ids: at 30% aborts, the chance that none of them
	// had a retried item call is 0.7^10, under 3%; eventually tries again.
	eventually(t, r.ctx, 2*time.Minute, "a trace where item answered twice", func() error {
		base := fmt.Sprintf("e2e-tour-retry-%d", time.Now().UnixNano())
		for i := 0; i < 10; i++ {
			if _, _, err := getReport(ingress, fmt.Sprintf("%s-%d", base, i)); err != nil {
				return err
			}
		}
		time.Sleep(5 * time.Second) // spans reach Jaeger
		for i := 0; i < 10; i++ {
			id := fmt.Sprintf("%s-%d", base, i)
			spans, err := traceSpans(r.ctx, jaegerAddr, id)
			if err != nil {
				return err
			}
			var item []string
			for _, sp := range spans {
				if sp.Service == "item" && sp.Tags["span.kind"] == "server" {
					item = append(item, "grpc-status "+sp.Tags["grpc.status_code"])
				}
			}
			if len(item) >= 2 {
				t.Logf("trace of x-request-id %s: %d item server spans (%s)", id, len(item), strings.Join(item, ", "))
				return nil
			}
		}
		return fmt.Errorf("none of 10 traces has two item server spans")
	})
}

// 15-tour-retries-off, step 1 seen the other way: the same fault with the retries turned off
// (envoy.retries.attempts=0) reaches the users. This is what shows that
// step 1's 0 failures are the retries' doing, and that its assertion can
// fail.
func retriesOffStep(t *testing.T, r *release) {
	// Step 14 leaves item's aborts at 30%: that is where this step starts.
	start := tourState()
	start["faults.item.abort.percent"] = "30"
	r.ensure(t, start)
	r.change(t, "--set", "envoy.retries.attempts=0", "--set", "faults.item.abort.percent=30")
	v := r.measure(t, "tour 1 without retries: 30% of item's calls aborted", func(t *testing.T) {
		time.Sleep(20 * time.Second)
	})
	if share := float64(v.failed) / float64(v.sent); share < 0.15 || share > 0.45 {
		t.Errorf("%d of %d reports failed (%.0f%%) with retries off at 30%% aborts, want about 30%%", v.failed, v.sent, 100*share)
	}
	r.change(t, "--set", "envoy.retries.attempts=2", "--set", "faults.item.abort.percent=0")
}

// 16-tour-one-pod-ejected, the tour's step 2: one of two item pods fails every call, switched on at run time
// through that pod's Envoy admin (no redeploy). order's Envoys eject it
// (ejections_active 1), every report is still a 200; switched off, the
// pod is back in after the ejection time.
func onePodEjectedStep(t *testing.T, r *release) {
	r.ensure(t, tourState())
	items, err := r.k.ReadyPods(r.ctx, r.s.namespace, r.selector("item"))
	if err != nil || len(items) != 2 {
		t.Fatalf("item pods: %v (%d, want 2)", err, len(items))
	}
	bad := items[0].Name
	badAdmin := forward(t, r.ctx, r.k, r.s.namespace, bad, port("envoyAdmin"))
	callers, err := r.k.ReadyPods(r.ctx, r.s.namespace, r.selector("order"))
	if err != nil || len(callers) == 0 {
		t.Fatalf("order pods: %v (%d)", err, len(callers))
	}
	var orderAdmins []string
	for _, p := range callers {
		orderAdmins = append(orderAdmins, forward(t, r.ctx, r.k, r.s.namespace, p.Name, port("envoyAdmin")))
	}
	ejected := func() (int64, error) {
		var sum int64
		for _, a := range orderAdmins {
			n, err := envoyproc.Stat(a, "cluster.item.outlier_detection.ejections_active")
			if err != nil {
				return 0, err
			}
			sum += n
		}
		return sum, nil
	}
	r.underLoad(t, "tour 2: one of 2 item pods failing every call", func(t *testing.T) {
		if err := envoyproc.RuntimeModify(badAdmin, "fault.http.abort.abort_percent", "100"); err != nil {
			t.Fatal(err)
		}
		eventually(t, r.ctx, time.Minute, "order's Envoys eject "+bad, func() error {
			n, err := ejected()
			if err == nil && n < int64(len(orderAdmins)) {
				err = fmt.Errorf("ejections_active = %d over %d order pods", n, len(orderAdmins))
			}
			return err
		})
		t.Logf("every order pod's Envoy ejected %s (outlier_detection.ejections_active 1)", bad)
		time.Sleep(15 * time.Second) // the load keeps going around it
	})
	if err := envoyproc.RuntimeModify(badAdmin, "fault.http.abort.abort_percent", "0"); err != nil {
		t.Fatal(err)
	}
	eventually(t, r.ctx, 3*time.Minute, bad+" back in order's clusters", func() error {
		n, err := ejected()
		if err == nil && n != 0 {
			err = fmt.Errorf("ejections_active = %d", n)
		}
		return err
	})
	t.Logf("%s is back: ejections_active 0 on every order pod", bad)
}

// 17-tour-slow-order, the tour's step 3: a 3 s delay on every order call. The frontend's deadline (5s)
// travels as grpc-timeout; its Envoy tries order three times (per-try
// timeout 2s) and gives up at the deadline: a 504 that names order, in
// about 5 s. Then the delay on one of two order pods only, at run time:
// after one per-try timeout the retry goes to the other pod and outlier
// detection ejects the slow one, so no report fails.
func slowOrderStep(t *testing.T, r *release) {
	r.ensure(t, tourState())
	r.change(t, "--set", "faults.order.delay.percent=100", "--set", "faults.order.delay.duration=3s")
	ingress := r.ingress(t)
	for i := 0; i < 3; i++ {
		start := time.Now()
		code, body, err := rawGet(ingress, fmt.Sprintf("e2e-tour-slow-%d-%d", time.Now().UnixNano(), i))
		took := time.Since(start)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("GET / with order held 3s: %d after %s: %s", code, took.Round(100*time.Millisecond), strings.TrimSpace(body))
		if code != http.StatusGatewayTimeout || !strings.Contains(body, "order service did not answer within the request timeout (5s)") {
			t.Errorf("GET / = %d %q, want 504 naming order and the 5s timeout", code, body)
		}
		if took < 4500*time.Millisecond || took > 6500*time.Millisecond {
			t.Errorf("the 504 came after %s, want at the frontend's 5s request timeout", took)
		}
	}

	r.change(t, "--set", "faults.order.delay.percent=0")
	orders, err := r.k.ReadyPods(r.ctx, r.s.namespace, r.selector("order"))
	if err != nil || len(orders) != 2 {
		t.Fatalf("order pods: %v (%d, want 2)", err, len(orders))
	}
	slow := orders[0].Name
	slowAdmin := forward(t, r.ctx, r.k, r.s.namespace, slow, port("envoyAdmin"))
	v := r.measure(t, "tour 3: one of 2 order pods held 3s per call", func(t *testing.T) {
		for _, kv := range [][2]string{{"fault.http.delay.fixed_duration_ms", "3000"}, {"fault.http.delay.fixed_delay_percent", "100"}} {
			if err := envoyproc.RuntimeModify(slowAdmin, kv[0], kv[1]); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(30 * time.Second)
	})
	if err := envoyproc.RuntimeModify(slowAdmin, "fault.http.delay.fixed_delay_percent", "0"); err != nil {
		t.Fatal(err)
	}
	// The slow pod costs time (a per-try timeout of 2s now and then), not
	// answers.
	if v.failed > 0 {
		t.Errorf("%d of %d reports failed with one order pod slow: the per-try timeout and retries should hide it", v.failed, v.sent)
	}
}

// traceSpans returns the spans of the trace Envoy tagged with requestID
// (none yet: no span), read by internal/jaeger.
func traceSpans(ctx context.Context, jaegerAddr, requestID string) ([]jaeger.Span, error) {
	traces, err := jaeger.Traces(ctx, httpClient, jaegerAddr, jaeger.ByRequestID(requestID, 1))
	if err != nil || len(traces) == 0 {
		return nil, err
	}
	return traces[0].Spans, nil
}
