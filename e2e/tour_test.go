//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/envoy-example/envoy-example/internal/envoyproc"
	"github.com/envoy-example/envoy-example/internal/kube"
)

// tour runs the README's fault tour ("Break it on purpose") on the
// installed release and asserts what the README says each step shows.
// It starts where the metrics switch leaves the release: two pods of
// everything, no fault, metrics.mode prometheus.
type tour struct {
	ctx      context.Context
	k        *kube.Client
	s        settings
	upgrade  func(t *testing.T, flags ...string)
	selector func(component string) string
	load     *loader
	// prometheus and jaeger are port-forwards to their pods (the tour
	// does not restart them).
	prometheus, jaeger string
}

// change runs helm upgrade with flags and waits until every workload has
// its two pods, all of the new config: helm's --wait returns while the old
// pods still drain, and a step must measure the new config alone.
func (tr *tour) change(t *testing.T, flags ...string) {
	t.Helper()
	tr.upgrade(t, flags...)
	for _, c := range workloads {
		waitPods(t, tr.ctx, tr.k, tr.s.namespace, tr.selector(c), 2)
	}
}

// ingress is a port-forward to a ready ingress pod, made anew each time:
// the tour's upgrades replace the ingress pods.
func (tr *tour) ingress(t *testing.T) string {
	t.Helper()
	return forwardToComponent(t, tr.ctx, tr.k, tr.s.namespace, tr.selector("ingress"), 8080)
}

// Step 1: 30% of item's calls aborted with UNAVAILABLE by item's own Envoy.
// The callers' Envoys retry (order's on another item pod, frontend's on
// another order pod): every report is still a 200, the retries show in
// Prometheus, and one request's trace shows item answering it twice.
func (tr *tour) abortsAbsorbed(t *testing.T) {
	tr.change(t, "--set", "faults.item.abort.percent=30")
	underLoad(t, tr.ctx, tr.load, "tour 1: 30% of item's calls aborted (UNAVAILABLE)", func(t *testing.T) {
		time.Sleep(30 * time.Second)
	})
	const retries = `sum(increase(envoy_upstream_rq_retry{app="order",cluster="item"}[2m]))`
	eventually(t, tr.ctx, 2*time.Minute, "order's retries to item in Prometheus", func() error {
		v, err := promValue(tr.prometheus, retries)
		if err == nil && v < 1 {
			err = fmt.Errorf("%s = %v", retries, v)
		}
		if err == nil {
			t.Logf("%s = %.0f", retries, v)
		}
		return err
	})
	ingress := tr.ingress(t)
	// Ten requests with ids: at 30% aborts, the chance that none of them
	// had a retried item call is 0.7^10, under 3%; eventually tries again.
	eventually(t, tr.ctx, 2*time.Minute, "a trace where item answered twice", func() error {
		base := fmt.Sprintf("e2e-tour-retry-%d", time.Now().UnixNano())
		for i := 0; i < 10; i++ {
			if _, _, err := getReport(ingress, fmt.Sprintf("%s-%d", base, i)); err != nil {
				return err
			}
		}
		time.Sleep(5 * time.Second) // spans reach Jaeger
		for i := 0; i < 10; i++ {
			id := fmt.Sprintf("%s-%d", base, i)
			spans, err := traceSpans(tr.jaeger, id)
			if err != nil {
				return err
			}
			var item []string
			for _, sp := range spans {
				if sp.service == "item" && sp.tags["span.kind"] == "server" {
					item = append(item, "grpc-status "+sp.tags["grpc.status_code"])
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

// Step 1, seen the other way: the same fault with the retries turned off
// (envoy.retries.attempts=0) reaches the users. This is what shows that
// step 1's 0 failures are the retries' doing, and that its assertion can
// fail.
func (tr *tour) retriesOff(t *testing.T) {
	tr.change(t, "--set", "envoy.retries.attempts=0", "--set", "faults.item.abort.percent=30")
	v := measure(t, tr.ctx, tr.load, "tour 1 without retries: 30% of item's calls aborted", func(t *testing.T) {
		time.Sleep(20 * time.Second)
	})
	if share := float64(v.failed) / float64(v.sent); share < 0.15 || share > 0.45 {
		t.Errorf("%d of %d reports failed (%.0f%%) with retries off at 30%% aborts, want about 30%%", v.failed, v.sent, 100*share)
	}
	tr.change(t, "--set", "envoy.retries.attempts=2", "--set", "faults.item.abort.percent=0")
}

// Step 2: one of two item pods fails every call, switched on at run time
// through that pod's Envoy admin (no redeploy). order's Envoys eject it
// (ejections_active 1), every report is still a 200; switched off, the
// pod is back in after the ejection time.
func (tr *tour) onePodEjected(t *testing.T) {
	items, err := tr.k.ReadyPods(tr.ctx, tr.s.namespace, tr.selector("item"))
	if err != nil || len(items) != 2 {
		t.Fatalf("item pods: %v (%d, want 2)", err, len(items))
	}
	bad := items[0].Name
	badAdmin := forward(t, tr.ctx, tr.k, tr.s.namespace, bad, 9901)
	callers, err := tr.k.ReadyPods(tr.ctx, tr.s.namespace, tr.selector("order"))
	if err != nil || len(callers) == 0 {
		t.Fatalf("order pods: %v (%d)", err, len(callers))
	}
	var orderAdmins []string
	for _, p := range callers {
		orderAdmins = append(orderAdmins, forward(t, tr.ctx, tr.k, tr.s.namespace, p.Name, 9901))
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
	underLoad(t, tr.ctx, tr.load, "tour 2: one of 2 item pods failing every call", func(t *testing.T) {
		if err := envoyproc.RuntimeModify(badAdmin, "fault.http.abort.abort_percent", "100"); err != nil {
			t.Fatal(err)
		}
		eventually(t, tr.ctx, time.Minute, "order's Envoys eject "+bad, func() error {
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
	eventually(t, tr.ctx, 3*time.Minute, bad+" back in order's clusters", func() error {
		n, err := ejected()
		if err == nil && n != 0 {
			err = fmt.Errorf("ejections_active = %d", n)
		}
		return err
	})
	t.Logf("%s is back: ejections_active 0 on every order pod", bad)
}

// Step 3: a 3 s delay on every order call. The frontend's deadline (5s)
// travels as grpc-timeout; its Envoy tries order three times (per-try
// timeout 2s) and gives up at the deadline: a 504 that names order, in
// about 5 s. Then the delay on one of two order pods only, at run time:
// after one per-try timeout the retry goes to the other pod and outlier
// detection ejects the slow one, so no report fails.
func (tr *tour) slowOrder(t *testing.T) {
	tr.change(t, "--set", "faults.order.delay.percent=100", "--set", "faults.order.delay.duration=3s")
	ingress := tr.ingress(t)
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

	tr.change(t, "--set", "faults.order.delay.percent=0")
	orders, err := tr.k.ReadyPods(tr.ctx, tr.s.namespace, tr.selector("order"))
	if err != nil || len(orders) != 2 {
		t.Fatalf("order pods: %v (%d, want 2)", err, len(orders))
	}
	slow := orders[0].Name
	slowAdmin := forward(t, tr.ctx, tr.k, tr.s.namespace, slow, 9901)
	v := measure(t, tr.ctx, tr.load, "tour 3: one of 2 order pods held 3s per call", func(t *testing.T) {
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

// span is one span of a Jaeger trace: its service and tags.
type span struct {
	service string
	tags    map[string]string
}

// traceSpans returns the spans of the trace Envoy tagged with requestID.
func traceSpans(jaeger, requestID string) ([]span, error) {
	tags, _ := json.Marshal(map[string]string{"guid:x-request-id": requestID})
	q := url.Values{"service": {"ingress"}, "tags": {string(tags)}, "limit": {"1"}, "lookback": {"1h"}}
	resp, err := httpClient.Get("http://" + jaeger + "/api/traces?" + q.Encode())
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Data []struct {
			Spans []struct {
				ProcessID string `json:"processID"`
				Tags      []struct {
					Key   string `json:"key"`
					Value any    `json:"value"`
				} `json:"tags"`
			} `json:"spans"`
			Processes map[string]struct {
				ServiceName string `json:"serviceName"`
			} `json:"processes"`
		} `json:"data"`
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("jaeger: status %d", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("jaeger: %v", err)
	}
	if len(body.Data) == 0 {
		return nil, nil
	}
	tr := body.Data[0]
	var out []span
	for _, s := range tr.Spans {
		sp := span{service: tr.Processes[s.ProcessID].ServiceName, tags: map[string]string{}}
		for _, tag := range s.Tags {
			sp.tags[tag.Key] = fmt.Sprint(tag.Value)
		}
		out = append(out, sp)
	}
	return out, nil
}

// rawGet sends GET / with an x-request-id and returns the status and body,
// whatever they are.
func rawGet(addr, requestID string) (int, string, error) {
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+"/", nil)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("x-request-id", requestID)
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}
