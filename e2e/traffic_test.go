//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/envoy-example/envoy-example/charts/queries"
	"github.com/envoy-example/envoy-example/internal/jaeger"
	"github.com/envoy-example/envoy-example/internal/promapi"
	"github.com/envoy-example/envoy-example/services/frontend/report"
)

// 3-report: GET / through the ingress answers the full report: the seed
// data through every hop (report.Check, the smoke checker's check too).
// Its size is what every 200 of the load must carry from step 6 on.
func reportStep(t *testing.T, r *release) {
	r.full = nil // measured anew, here
	full := r.fullReport(t)
	t.Logf("report: %d users, every item resolved (%d bytes)", len(full.rep), len(full.body))
}

// 4-trace: one request's trace (one trace ID) has spans from every hop.
func traceStep(t *testing.T, r *release) {
	ingress := r.ingress(t)
	jaegerAddr := r.forwardTo(t, "jaeger", port("jaegerQuery"))
	requestID := fmt.Sprintf("e2e-trace-%d", time.Now().UnixNano())
	if _, _, err := getReport(ingress, requestID); err != nil {
		t.Fatalf("GET / with x-request-id %s: %v", requestID, err)
	}
	want := workloads
	eventually(t, r.ctx, 2*time.Minute, "one trace of x-request-id "+requestID+" with spans of "+strings.Join(want, ", "), func() error {
		traces, err := jaeger.Traces(r.ctx, httpClient, jaegerAddr, jaeger.ByRequestID(requestID, 5))
		if err != nil {
			return err
		}
		tr, err := jaeger.Covering(traces, want)
		if err != nil {
			return err
		}
		t.Logf("trace %s (x-request-id %s) has spans from %v", tr.ID, requestID, tr.Services())
		return nil
	})
}

// 5-metrics-per-hop: each query of the design (charts/queries) answers a
// series for every hop of the mesh.
func metricsPerHopStep(t *testing.T, r *release) {
	prom := r.forwardTo(t, "prometheus", port("prometheus"))
	// Keep a little traffic flowing so that rate() has two samples.
	stop := backgroundLoad(r.ingress(t), 2)
	defer stop()
	for _, q := range queries.Design {
		eventually(t, r.ctx, 3*time.Minute, "query "+q.Name+" for every hop", func() error {
			series, err := promSeries(r.ctx, prom, q.Expr)
			if err != nil {
				return err
			}
			if missing := queries.Missing(series, demoHops); len(missing) > 0 {
				return fmt.Errorf("no series for %v", missing)
			}
			t.Logf("%s: %d series, every hop among them (%v)", q.Name, len(series), demoHops)
			return nil
		})
	}
}

var httpClient = &http.Client{Timeout: 10 * time.Second}

// getReport does GET / through the ingress at addr with an x-request-id
// and returns the decoded report and its body; any answer but a 200 is
// an error.
func getReport(addr, requestID string) (report.Report, []byte, error) {
	code, body, err := rawGet(addr, requestID)
	if err != nil {
		return nil, nil, err
	}
	if code != http.StatusOK {
		return nil, nil, fmt.Errorf("status %d: %s", code, body)
	}
	rep, err := report.Decode(strings.NewReader(body))
	return rep, []byte(body), err
}

// rawGet sends GET / with an x-request-id and returns the status and body,
// whatever they are.
func rawGet(addr, requestID string) (int, string, error) {
	return rawGetPath(addr, "/", requestID)
}

// rawGetPath is rawGet of another path.
func rawGetPath(addr, path, requestID string) (int, string, error) {
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
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

// promSeries runs an instant query and returns the label sets of its
// series (internal/promapi).
func promSeries(ctx context.Context, prom, query string) ([]map[string]string, error) {
	samples, err := promapi.Query(ctx, httpClient, prom, query)
	return promapi.LabelSets(samples), err
}

// promValue runs an instant query whose answer is one number (a sum).
func promValue(ctx context.Context, prom, query string) (float64, error) {
	samples, err := promapi.Query(ctx, httpClient, prom, query)
	if err != nil {
		return 0, err
	}
	v, err := promapi.One(samples)
	if err != nil {
		return 0, fmt.Errorf("%v for %s", err, query)
	}
	return v, nil
}

// backgroundLoad sends rps requests per second until stopped, bounded to
// five minutes in any case.
func backgroundLoad(addr string, rps int) (stop func()) {
	done := make(chan struct{})
	go func() {
		tick := time.NewTicker(time.Second / time.Duration(rps))
		defer tick.Stop()
		limit := time.After(5 * time.Minute)
		for {
			select {
			case <-done:
				return
			case <-limit:
				return
			case <-tick.C:
				_, _, _ = getReport(addr, "e2e-background")
			}
		}
	}()
	return func() { close(done) }
}
