package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/envoy-example/envoy-example/charts/queries"
	"github.com/envoy-example/envoy-example/internal/jaeger"
	"github.com/envoy-example/envoy-example/internal/promapi"
	"github.com/envoy-example/envoy-example/services/frontend/report"
)

// Checker holds where the demo answers and runs the steps.
type Checker struct {
	IngressURL    string
	JaegerURL     string // empty: skip the trace step
	PrometheusURL string // empty: skip the metrics step
	// Interval is the pause between two tries of a step.
	Interval time.Duration
	// Log receives one line per step.
	Log io.Writer
	// Client makes the requests; default: a client with a 10s timeout.
	Client *http.Client
	// Hops are the calls of the report's path each query must answer a
	// series for; TraceServices the services whose spans its trace must
	// hold (each Envoy reports under its node.cluster). The chart derives
	// both from its topology (--hops, --trace-services).
	Hops          []queries.Hop
	TraceServices []string
}

// StepError says which step failed and why.
type StepError struct {
	Step string
	Err  error
}

func (e *StepError) Error() string { return fmt.Sprintf("step %s: %v", e.Step, e.Err) }
func (e *StepError) Unwrap() error { return e.Err }

// Run runs the steps in order until one fails or all pass; ctx bounds the
// whole run.
func (c *Checker) Run(ctx context.Context) error {
	if c.Client == nil {
		c.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if c.Interval == 0 {
		c.Interval = 2 * time.Second
	}
	if c.Log == nil {
		c.Log = io.Discard
	}

	// 1. The report through the ingress, with a fresh request id per try,
	// so that the trace step finds the trace of the request that passed.
	var requestID string
	var rep report.Report
	try := 0
	err := c.retry(ctx, "report", func() error {
		var err error
		var echoed string
		try++
		requestID = fmt.Sprintf("smoke-%d-%d", time.Now().UnixNano(), try)
		rep, echoed, err = c.getReport(ctx, requestID)
		if err == nil && echoed != "" && echoed != requestID {
			// The ingress keeps a client's id (preserve_external_request_id);
			// look the trace up by the id Envoy actually used.
			c.logf("report: the ingress answered x-request-id %s for %s", echoed, requestID)
			requestID = echoed
		}
		if err == nil {
			err = report.Check(rep)
		}
		return err
	})
	if err != nil {
		return err
	}
	c.logf("step report: ok, %d users, %d orders, every item resolved (x-request-id %s)", len(rep), rep.Orders(), requestID)

	// 2. That request's trace in Jaeger.
	if c.JaegerURL == "" {
		c.logf("step trace: skipped (no --jaeger-url: Jaeger is off)")
	} else {
		var trace jaeger.Trace
		err := c.retry(ctx, "trace", func() error {
			traces, err := jaeger.Traces(ctx, c.Client, c.JaegerURL, jaeger.ByRequestID(requestID, 5))
			if err == nil {
				trace, err = jaeger.Covering(traces, c.TraceServices)
			}
			return err
		})
		if err != nil {
			return err
		}
		c.logf("step trace: ok, the trace %s of %s has spans from %s", trace.ID, requestID, strings.Join(trace.Services(), ", "))
	}

	// 3. The four queries in Prometheus, each answering a series for every
	// hop of the report's path (c.Hops). Traffic keeps flowing meanwhile, so
	// that the rates have samples to work on and every hop carries some.
	if c.PrometheusURL == "" {
		c.logf("step metrics: skipped (no --prometheus-url: Prometheus is off)")
		return nil
	}
	stop := c.keepTraffic(ctx)
	defer stop()
	for _, q := range queries.Design {
		var series []map[string]string
		err := c.retry(ctx, "metrics", func() error {
			var err error
			var samples []promapi.Sample
			samples, err = promapi.Query(ctx, c.Client, c.PrometheusURL, q.Expr)
			series = promapi.LabelSets(samples)
			if err == nil {
				err = CheckSeries(series, c.Hops)
			}
			if err != nil {
				err = fmt.Errorf("query %s: %w", q.Name, err)
			}
			return err
		})
		if err != nil {
			return err
		}
		c.logf("step metrics: ok, query %s has a series for each of the %d hops (%s), %d series in all: %s",
			q.Name, len(c.Hops), hopList(c.Hops), len(series), q.Expr)
	}
	return nil
}

func (c *Checker) logf(format string, args ...any) {
	fmt.Fprintf(c.Log, "smoke: "+format+"\n", args...)
}

// retry runs try until it succeeds or ctx ends; the error names the step
// and carries the last reason. An attempt that the deadline cut short says
// only that time ran out, so the reason reported is the last one an attempt
// finished with, when there is one.
func (c *Checker) retry(ctx context.Context, step string, try func() error) error {
	start := time.Now()
	var reason error
	for attempt := 1; ; attempt++ {
		err := try()
		if err == nil {
			return nil
		}
		if reason == nil || ctx.Err() == nil {
			reason = err
		}
		select {
		case <-ctx.Done():
			return &StepError{Step: step, Err: fmt.Errorf("still failing after %s and %d tries: %w", time.Since(start).Round(time.Second), attempt, reason)}
		case <-time.After(c.Interval):
		}
		if attempt == 1 || attempt%10 == 0 {
			c.logf("step %s: not yet (%v), retrying", step, err)
		}
	}
}

// getReport does GET / through the ingress and decodes the report; it also
// returns the x-request-id the ingress answered with.
func (c *Checker) getReport(ctx context.Context, requestID string) (report.Report, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(c.IngressURL, "/")+"/", nil)
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("x-request-id", requestID)
	body, resp, err := c.do(req)
	if err != nil {
		return nil, "", err
	}
	rep, err := report.Decode(bytes.NewReader(body))
	return rep, resp.Header.Get("x-request-id"), err
}

// do sends a request and returns the body of a 200 answer.
func (c *Checker) do(req *http.Request) ([]byte, *http.Response, error) {
	resp, err := c.Client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("GET %s: %s: %s", req.URL.Redacted(), resp.Status, strings.TrimSpace(string(body)))
	}
	return body, resp, nil
}

// CheckSeries wants every series labelled app and cluster, and a series
// for each of hops; series for anything else (the
// jaeger cluster, say) may come on top. The error names the missing hops
// and the hops the series did carry.
func CheckSeries(series []map[string]string, hops []queries.Hop) error {
	if len(series) == 0 {
		return errors.New("no series yet (has Prometheus scraped statsd_exporter twice since traffic began?)")
	}
	for _, s := range series {
		if s["app"] == "" || s["cluster"] == "" {
			return fmt.Errorf("series %v lacks the app or cluster label", s)
		}
	}
	if missing := queries.Missing(series, hops); len(missing) > 0 {
		var got []queries.Hop
		for _, s := range series {
			if h := (queries.Hop{App: s["app"], Cluster: s["cluster"]}); !slices.Contains(got, h) {
				got = append(got, h)
			}
		}
		sort.Slice(got, func(i, j int) bool { return got[i].String() < got[j].String() })
		return fmt.Errorf("no series for %s (its series are for %s)", hopList(missing), hopList(got))
	}
	return nil
}

// hopList writes hops as "ingress->frontend, frontend->user".
func hopList(hops []queries.Hop) string {
	out := make([]string, len(hops))
	for i, h := range hops {
		out[i] = h.String()
	}
	return strings.Join(out, ", ")
}

// keepTraffic sends GET / through the ingress every Interval until stopped.
func (c *Checker) keepTraffic(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			_, _, _ = c.getReport(ctx, fmt.Sprintf("smoke-traffic-%d-%d", time.Now().Unix(), i))
			select {
			case <-ctx.Done():
				return
			case <-time.After(c.Interval):
			}
		}
	}()
	return func() { cancel(); <-done }
}
