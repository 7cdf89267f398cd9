{{/*
The metrics pipeline: Envoy -> statsd -> statsd_exporter (mapping below) ->
Prometheus (config below). Together they serve the four queries of DESIGN.md
unchanged, e.g.
  sum(rate(envoy_upstream_rq_time_count{cluster!="local_service"}[5m])) by (app, cluster)
*/}}

{{/*
The statsd_exporter mapping, shared by every pod. Envoy sends plain statsd
names with the prefix envoy.<app> (see the bootstrap's stats sink):
  envoy.frontend.cluster.user.upstream_rq_time:3|ms
becomes
  envoy_upstream_rq_time_bucket{app="frontend",cluster="user",le="0.005"}
Timers arrive in milliseconds and are observed in seconds.
*/}}
{{- define "envoy-example.statsdMapping" -}}
# statsd_exporter mapping, rendered by the chart. Glob mappings, first match wins.
defaults:
  match_type: glob
mappings:
# The readiness listener's route to Envoy's own admin carries the kubelet's
# probes, not calls between services: keep it out of the per-hop series.
# (Globs are tried in order, and before any regex mapping.)
- match: envoy.*.cluster.envoy_admin.*
  action: drop
  name: dropped
# Time of each upstream request, per calling app and upstream cluster:
# a histogram with buckets from 1 ms to 10 s.
- match: envoy.*.cluster.*.upstream_rq_time
  name: envoy_upstream_rq_time
  observer_type: histogram
  histogram_options:
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
  labels: { app: "$1", cluster: "$2" }
# Hosts of the cluster that pass active health checks (a gauge).
- match: envoy.*.cluster.*.health_check.healthy
  name: envoy_health_check_healthy
  labels: { app: "$1", cluster: "$2" }
# Connections opened to the cluster (a counter).
- match: envoy.*.cluster.*.upstream_cx_total
  name: envoy_upstream_cx_total
  labels: { app: "$1", cluster: "$2" }
# Requests, retries, hosts and ejections: what the demo's scaling and
# pod-loss scenarios show.
- match: envoy.*.cluster.*.upstream_rq_total
  name: envoy_upstream_rq_total
  labels: { app: "$1", cluster: "$2" }
- match: envoy.*.cluster.*.upstream_rq_retry
  name: envoy_upstream_rq_retry
  labels: { app: "$1", cluster: "$2" }
- match: envoy.*.cluster.*.membership_healthy
  name: envoy_membership_healthy
  labels: { app: "$1", cluster: "$2" }
- match: envoy.*.cluster.*.outlier_detection.ejections_active
  name: envoy_outlier_detection_ejections_active
  labels: { app: "$1", cluster: "$2" }
# Everything else Envoy sends (a few hundred names per pod) is dropped
# rather than exported under names that nobody queries.
- match: "."
  match_type: regex
  action: drop
  name: dropped
{{- end }}

{{/*
The Prometheus config. Targets: this release's pods in the release namespace
(the Role allows nothing else), one per named container port:
  statsd-metrics (9102)  Envoy's stats; the mapping already set app and cluster
  app-metrics    (9091)  the apps' own /metrics (go-grpc-prometheus)
app = the pod's app.kubernetes.io/component label = the service name.
*/}}
{{- define "envoy-example.prometheusConfig" -}}
{{- $root := . -}}
# Prometheus config, rendered by the chart.
global:
  scrape_interval: {{ .Values.prometheus.scrapeInterval }}
  evaluation_interval: {{ .Values.prometheus.scrapeInterval }}
scrape_configs:
{{- range $job, $port := dict "envoy" "statsd-metrics" "apps" "app-metrics" }}
- job_name: {{ $job }}
  {{- if eq $job "envoy" }}
  # Keep the app label the statsd mapping sets (the same value as below).
  honor_labels: true
  {{- end }}
  kubernetes_sd_configs:
  - role: pod
    namespaces:
      names: [{{ $root.Release.Namespace | quote }}]
    selectors:
    - role: pod
      label: "app.kubernetes.io/name={{ include "envoy-example.name" $root }},app.kubernetes.io/instance={{ $root.Release.Name }}"
  relabel_configs:
  - source_labels: [__meta_kubernetes_pod_container_port_name]
    regex: {{ $port }}
    action: keep
  - source_labels: [__meta_kubernetes_pod_phase]
    regex: Running
    action: keep
  - source_labels: [__meta_kubernetes_pod_label_app_kubernetes_io_component]
    target_label: app
  - source_labels: [__meta_kubernetes_namespace]
    target_label: namespace
  - source_labels: [__meta_kubernetes_pod_name]
    target_label: pod
{{- end }}
{{- end }}
