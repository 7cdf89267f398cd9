// Package charttest holds the chart's tests, run by `go test ./...` without
// a cluster: Helm's linter, renders for every supported set of values,
// strict decoding of every object, the rendered Envoy bootstraps through a
// real Envoy (`--mode validate`, then a live run with a real
// statsd_exporter), the statsd mapping through statsd_exporter
// --check-config, the Prometheus config through promtool, and bad values
// files that must fail naming the key.
//
// The binaries come from `make tools` (.bin/); a missing one fails the test
// with a message naming `make tools`, it never skips.
package charttest
