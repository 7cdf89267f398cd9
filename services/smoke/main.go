// Command smoke is the chart's `helm test`: it checks an installed demo end
// to end from outside the mesh, in three steps.
//
//  1. report: GET / through the ingress Service, with a fresh x-request-id;
//     the order report must hold the three seed users and their orders,
//     each item resolved with its name (frontend, user, order and item all
//     answered, every hop through Envoy).
//  2. trace: Jaeger's query API must hold that request's trace (found by
//     the tag guid:x-request-id that Envoy sets), one trace ID with spans
//     from every service of --trace-services (the demo's: ingress, frontend,
//     user, order and item): the Zipkin service name of each span is the
//     reporting Envoy's node.cluster, which the chart sets to the service name.
//  3. metrics: each of the four DESIGN.md queries (charts/queries) must
//     return from Prometheus, while the checker keeps traffic flowing, a
//     series for every hop of --hops (the demo's: ingress->frontend,
//     frontend->user, frontend->order, order->item), each hop being the
//     series' labels app (the calling Envoy's role) and cluster (the Envoy
//     cluster it calls); more series (app=user,cluster=jaeger, ...) are
//     fine, a series without app or cluster is not. A failure names the
//     query and the missing hops.
//
// The report is judged by report.Check, Jaeger read by internal/jaeger and
// Prometheus by internal/promapi: the same code the e2e (e2e/) uses.
//
// Steps retry until --timeout (traces are batched, scrapes take their
// interval); a step that still fails says which one and why, and the
// command exits 1. A step whose URL is empty (Jaeger or Prometheus
// switched off) is skipped and said so.
//
//	smoke --ingress-url=http://demo-ingress:8080 \
//	      --jaeger-url=http://demo-jaeger-query:16686 \
//	      --trace-services=ingress,frontend,item,order,user \
//	      --hops=ingress->frontend,frontend->user,frontend->order,order->item \
//	      --prometheus-url=http://demo-prometheus:9090 --timeout=3m
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/envoy-example/envoy-example/charts/queries"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout))
}

// run parses the flags, runs the checks and returns the exit code.
func run(args []string, out io.Writer) int {
	fs := flag.NewFlagSet("smoke", flag.ContinueOnError)
	fs.SetOutput(out)
	var c Checker
	fs.StringVar(&c.IngressURL, "ingress-url", "", "base URL of the ingress Service (required), e.g. http://demo-ingress:8080")
	fs.StringVar(&c.JaegerURL, "jaeger-url", "", "base URL of Jaeger's query API; empty skips the trace step")
	fs.StringVar(&c.PrometheusURL, "prometheus-url", "", "base URL of Prometheus; empty skips the metrics step")
	hops := fs.String("hops", "", "the report path's hops each query must answer for, as caller->callee,... (the chart's topology); required with --prometheus-url")
	traceServices := fs.String("trace-services", "", "the services whose spans the report's trace must hold, comma-separated (the chart's topology); required with --jaeger-url")
	timeout := fs.Duration("timeout", 3*time.Minute, "how long the steps may retry, in all")
	fs.DurationVar(&c.Interval, "retry-interval", 2*time.Second, "pause between two tries of a step")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if c.IngressURL == "" || fs.NArg() != 0 {
		fmt.Fprintln(out, "smoke: --ingress-url is required and there are no arguments")
		fs.Usage()
		return 2
	}
	if c.PrometheusURL != "" {
		h, err := queries.ParseHops(*hops)
		if err != nil {
			fmt.Fprintf(out, "smoke: --hops: %v\n", err)
			return 2
		}
		c.Hops = h
	}
	if c.JaegerURL != "" {
		for _, s := range strings.Split(*traceServices, ",") {
			if s = strings.TrimSpace(s); s != "" {
				c.TraceServices = append(c.TraceServices, s)
			}
		}
		if len(c.TraceServices) == 0 {
			fmt.Fprintln(out, "smoke: --trace-services is required with --jaeger-url")
			return 2
		}
	}
	c.Log = out

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if err := c.Run(ctx); err != nil {
		fmt.Fprintf(out, "smoke: FAIL %v\n", err)
		return 1
	}
	fmt.Fprintln(out, "smoke: PASS")
	return 0
}
