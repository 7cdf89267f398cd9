//go:build e2e

package e2e

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/envoy-example/envoy-example/charts/queries"
	"github.com/envoy-example/envoy-example/internal/jaeger"
)

// echo is the service of your own that step 19 finds in the mesh: fortio's
// echo server (an image the chart does not know, already on the nodes for
// the load), added by charts/envoy-example/examples/echo-values.yaml alone,
// behind the ingress at echoPrefix.
const (
	echo       = "echo"
	echoPrefix = "/echo/"
)

// echoValues are the "-f" flags of the example's values file.
func (r *release) echoValues(t *testing.T) []string {
	t.Helper()
	return []string{"-f", filepath.Join(r.chart, "examples", "echo-values.yaml")}
}

// 19-your-service-under-load: echo joined the mesh in step 18's last roll,
// under load, by its values file alone (docs/your-service.md). Its route
// answers through the ingress; the ingress reached it over mTLS (its
// cluster's TLS handshakes) and echo's RBAC admitted it; its hop has a
// series in each of the four queries and its span is in the request's
// trace. Then it goes again, under load: the demo's report loses nothing
// either way, and /echo/ is the frontend's again.
func yourServiceStep(t *testing.T, r *release) {
	r.ensure(t, atTwoPods(map[string]string{"metrics.mode": "prometheus"}))
	if r.values(t)["services.echo.protocol"] != "http" {
		t.Logf("echo is not in the release (step 18 adds it); adding it by its values file")
		r.upgrade(t, r.echoValues(t)...)
	}
	waitPods(t, r.ctx, r.k, r.s.namespace, r.selector(echo), 1)

	ingress := r.ingress(t)
	prom := r.forwardTo(t, "prometheus", port("prometheus"))
	jaegerAddr := r.forwardTo(t, "jaeger", port("jaegerQuery"))

	// The route, through the ingress and echo's Envoy to fortio.
	requestID := fmt.Sprintf("e2e-echo-%d", time.Now().UnixNano())
	code, _, err := rawGetPath(ingress, echoPrefix+"hello", requestID)
	if err != nil || code != 200 {
		t.Fatalf("GET %shello through the ingress: %d %v", echoPrefix, code, err)
	}
	t.Logf("GET %shello through the ingress: 200 (x-request-id %s)", echoPrefix, requestID)

	// Its span beside the ingress's, in one trace.
	eventually(t, r.ctx, 2*time.Minute, "the trace of "+requestID+" with spans of ingress and echo", func() error {
		traces, err := jaeger.Traces(r.ctx, httpClient, jaegerAddr, jaeger.ByRequestID(requestID, 5))
		if err != nil {
			return err
		}
		tr, err := jaeger.Covering(traces, []string{"ingress", echo})
		if err != nil {
			return err
		}
		t.Logf("trace %s (x-request-id %s) has spans from %v", tr.ID, requestID, tr.Services())
		return nil
	})

	// Its hop in the four queries, and mTLS on it: the ingress's TLS
	// handshakes to echo's pods, echo's RBAC admitting the ingress. A
	// little traffic to /echo/ meanwhile, so that the rates have samples.
	hop := queries.Hop{App: "ingress", Cluster: echo}
	done := make(chan struct{})
	defer close(done)
	go func() {
		for i := 0; i < 600; i++ { // at most five minutes
			select {
			case <-done:
				return
			case <-time.After(500 * time.Millisecond):
				_, _, _ = rawGetPath(ingress, echoPrefix+"load", fmt.Sprintf("e2e-echo-load-%d", i))
			}
		}
	}()
	for _, q := range queries.Design {
		eventually(t, r.ctx, 3*time.Minute, "query "+q.Name+" for "+hop.String(), func() error {
			series, err := promSeries(r.ctx, prom, q.Expr)
			if err != nil {
				return err
			}
			if missing := queries.Missing(series, []queries.Hop{hop}); len(missing) > 0 {
				return fmt.Errorf("no series for %v", missing)
			}
			t.Logf("%s: a series for %s", q.Name, hop)
			return nil
		})
	}
	for _, check := range []struct{ what, query string }{
		{"TLS handshakes of the ingress with echo", `sum(envoy_ssl_handshake{app="ingress",cluster="echo"})`},
		{"calls echo's RBAC admitted", `sum(envoy_http_rbac_allowed{app="echo",listener="inbound"})`},
	} {
		eventually(t, r.ctx, time.Minute, check.what, func() error {
			v, err := promValue(r.ctx, prom, check.query)
			if err != nil {
				return err
			}
			if v <= 0 {
				return fmt.Errorf("%s = %v", check.query, v)
			}
			t.Logf("%s: %v (%s)", check.what, v, check.query)
			return nil
		})
	}

	// And out again: values only, under load.
	r.underLoad(t, "echo removed by values (helm upgrade --set services.echo=null)", func(t *testing.T) {
		r.upgrade(t, "--set", "services.echo=null")
		for _, c := range workloads {
			waitPods(t, r.ctx, r.k, r.s.namespace, r.selector(c), 2)
		}
	})
	if _, err := r.k.Clientset.AppsV1().Deployments(r.s.namespace).Get(r.ctx, r.s.release+"-"+echo, metav1.GetOptions{}); err == nil {
		t.Fatalf("the echo Deployment is still there")
	}
	ingress = r.ingress(t)
	code, body, err := rawGetPath(ingress, echoPrefix+"hello", fmt.Sprintf("e2e-echo-gone-%d", time.Now().UnixNano()))
	if err != nil || code != 404 {
		t.Fatalf("GET %shello once echo is gone: %d %v %q, want the frontend's 404", echoPrefix, code, err, body)
	}
	t.Logf("echo is gone: its Deployment deleted, GET %shello is the frontend's 404", echoPrefix)
}
