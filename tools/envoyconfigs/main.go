// Command envoyconfigs writes envoy/<role>.yaml: the Envoy bootstrap of each
// role (ingress, frontend, user, order, item) exactly as the chart renders
// it for `helm install demo charts/envoy-example` with the default values,
// so that people who read Envoy configs can read them without Helm; and
// the SDS files every role reads beside it (envoy/sds-*.yaml).
//
//	go run ./tools/envoyconfigs          # rewrite envoy/*.yaml (make generate)
//	go run ./tools/envoyconfigs -check   # fail if one is stale (make test)
//
// The chart stays the only source: these files are its output, never input.
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	dir := flag.String("dir", "envoy", "where the rendered bootstraps go")
	check := flag.Bool("check", false, "only check that the files are current")
	flag.Parse()
	if err := run(*dir, *check); err != nil {
		fmt.Fprintln(os.Stderr, "envoyconfigs:", err)
		os.Exit(1)
	}
}
