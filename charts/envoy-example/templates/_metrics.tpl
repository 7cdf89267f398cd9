{{/*
The metrics pipeline: Envoy -> statsd -> statsd_exporter (mapping below) ->
Prometheus (config below). Together they serve the four queries of DESIGN.md
unchanged, e.g.
  sum(rate(envoy_upstream_rq_time_count{cluster!="local_service"}[5m])) by (app, cluster)
*/}}

{{/*
The Envoy stats the chart keeps, in both metrics modes, and the one name and
label set each gets in Prometheus, whichever way it travels. One list, so
that the statsd mapping (metrics.mode statsd) and the Prometheus relabelling
(metrics.mode prometheus) cannot disagree. scope says where the stat lives:
  cluster  cluster.<cluster>.<stat>  ->  envoy_<stat>{app, cluster}
  server   server.<stat>             ->  envoy_server_<stat>{app}
  http     http.<listener>.<stat>    ->  envoy_http_<stat>{app, listener}
(dots in <stat> become underscores). Besides these, upstream_rq_<N>xx
becomes envoy_upstream_rq_xx{app, cluster, response_code_class="<N>"}.
*/}}
{{- define "envoy-example.keptEnvoyStats" -}}
# Time of each upstream request: a histogram in seconds (the buckets below).
- { scope: cluster, stat: upstream_rq_time, histogram: true }
# Hosts of the cluster that pass active health checks (a gauge), checks failed.
- { scope: cluster, stat: health_check.healthy }
- { scope: cluster, stat: health_check.failure }
# Connections opened to the cluster (a counter), and open now.
- { scope: cluster, stat: upstream_cx_total }
- { scope: cluster, stat: upstream_cx_active }
# Requests, retries, timeouts, hosts and ejections: what the demo's scaling
# and pod-loss scenarios and the resilience dashboard show.
- { scope: cluster, stat: upstream_rq_total }
- { scope: cluster, stat: upstream_rq_retry }
- { scope: cluster, stat: upstream_rq_timeout }
- { scope: cluster, stat: upstream_rq_per_try_timeout }
- { scope: cluster, stat: membership_healthy }
- { scope: cluster, stat: membership_total }
- { scope: cluster, stat: outlier_detection.ejections_active }
- { scope: cluster, stat: outlier_detection.ejections_enforced_total }
# What each Envoy costs: its memory and its connections.
- { scope: server, stat: memory_allocated }
- { scope: server, stat: memory_heap_size }
- { scope: server, stat: total_connections }
- { scope: http, stat: downstream_cx_active }
- { scope: http, stat: downstream_rq_total }
# mtls (DESIGN.md, "Mutual TLS"): callers each server admitted or refused
# (its RBAC filter, on the inbound listener), and the callers' TLS to each
# callee: handshakes, servers with the wrong name, failed connections.
- { scope: http, stat: rbac.allowed }
- { scope: http, stat: rbac.denied }
- { scope: cluster, stat: ssl.handshake }
- { scope: cluster, stat: ssl.fail_verify_san }
- { scope: cluster, stat: ssl.connection_error }
{{- end }}

{{/*
The buckets of envoy_upstream_rq_time, 1 ms to 10 s. Envoy records request
times in milliseconds (ms: its histogram_bucket_settings in metrics.mode
prometheus); the series are in seconds (le: the statsd mapping's buckets, and
what the relabelling writes), spelt as Prometheus writes an le value.
*/}}
{{- define "envoy-example.latencyBuckets" -}}
- { ms: "1", le: "0.001" }
- { ms: "2.5", le: "0.0025" }
- { ms: "5", le: "0.005" }
- { ms: "10", le: "0.01" }
- { ms: "25", le: "0.025" }
- { ms: "50", le: "0.05" }
- { ms: "100", le: "0.1" }
- { ms: "250", le: "0.25" }
- { ms: "500", le: "0.5" }
- { ms: "1000", le: "1.0" }
- { ms: "2500", le: "2.5" }
- { ms: "5000", le: "5.0" }
- { ms: "10000", le: "10.0" }
{{- end }}

{{/* The Prometheus name of a kept stat (an entry of keptEnvoyStats). */}}
{{- define "envoy-example.keptStatName" -}}
{{- if eq .scope "cluster" -}}
envoy_{{ replace "." "_" .stat }}
{{- else -}}
envoy_{{ .scope }}_{{ replace "." "_" .stat }}
{{- end -}}
{{- end }}

{{/*
The statsd_exporter mapping (metrics.mode statsd), shared by every pod.
Envoy sends plain statsd names with the prefix envoy.<app> (see the
bootstrap's stats sink):
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
{{- range include "envoy-example.keptEnvoyStats" . | fromYamlArray }}
- match: envoy.*.{{ .scope }}.{{ if ne .scope "server" }}*.{{ end }}{{ .stat }}
  name: {{ include "envoy-example.keptStatName" . }}
  {{- if .histogram }}
  observer_type: histogram
  histogram_options:
    buckets: [{{ range $i, $b := include "envoy-example.latencyBuckets" $ | fromYamlArray }}{{ if $i }}, {{ end }}{{ $b.le }}{{ end }}]
  {{- end }}
  {{- if eq .scope "cluster" }}
  labels: { app: "$1", cluster: "$2" }
  {{- else if eq .scope "http" }}
  labels: { app: "$1", listener: "$2" }
  {{- else }}
  labels: { app: "$1" }
  {{- end }}
{{- end }}
# Responses by class (2xx, 5xx, ...), as Envoy's Prometheus output names them.
- match: '^envoy\.([^.]+)\.cluster\.([^.]+)\.upstream_rq_([1-5])xx$'
  match_type: regex
  name: envoy_upstream_rq_xx
  labels: { app: "$1", cluster: "$2", response_code_class: "$3" }
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
  app-metrics    (9091)   the apps' own /metrics (go-grpc-prometheus)
  statsd-metrics (9102)   metrics.mode statsd: Envoy's stats, named and
                          labelled by the statsd mapping
  envoy-prom     (15090)  metrics.mode prometheus: Envoy's own
                          /stats/prometheus, renamed and relabelled below
app = the pod's app.kubernetes.io/component label = the service name.
*/}}
{{- define "envoy-example.prometheusConfig" -}}
{{- $root := . -}}
{{- $native := eq .Values.metrics.mode "prometheus" -}}
# Prometheus config, rendered by the chart.
global:
  scrape_interval: {{ .Values.prometheus.scrapeInterval }}
  evaluation_interval: {{ .Values.prometheus.scrapeInterval }}
# Beside this file in the ConfigMap (a path relative to this file's).
rule_files:
- rules.yml
scrape_configs:
{{- range $job, $port := dict "envoy" (ternary "envoy-prom" "statsd-metrics" $native) "apps" "app-metrics" }}
- job_name: {{ $job }}
  {{- if and (eq $job "envoy") $native }}
  # Envoy's own stats, through the listener that serves only this path.
  # usedonly: only stats that were ever written, as the statsd sink sends.
  metrics_path: /stats/prometheus
  params:
    usedonly: [""]
  {{- else if eq $job "envoy" }}
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
  {{- if and (eq $job "envoy") $native }}
  metric_relabel_configs:
  {{- include "envoy-example.nativeStatsRelabelling" $root | nindent 2 }}
  {{- end }}
{{- end }}
{{- end }}

{{/*
metrics.mode prometheus: Envoy's native names and labels turned into the
statsd mapping's, so that the same queries and dashboards read both modes:
  envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name="item",le="2.5"}
becomes
  envoy_upstream_rq_time_bucket{cluster="item",le="0.0025"}
Only values change nothing: a relabelling renames, it cannot divide. That is
why the buckets' le values are rewritten one by one from milliseconds to
seconds, and why envoy_cluster_upstream_rq_time_sum (milliseconds) is not
kept: no query of the chart reads a _sum.
*/}}
{{- define "envoy-example.nativeStatsRelabelling" -}}
{{- $names := list -}}
{{- range include "envoy-example.keptEnvoyStats" . | fromYamlArray -}}
{{- $native := printf "envoy_%s_%s" .scope (replace "." "_" .stat) -}}
{{- if .histogram -}}
{{- $names = concat $names (list (printf "%s_bucket" $native) (printf "%s_count" $native)) -}}
{{- else -}}
{{- $names = append $names $native -}}
{{- end -}}
{{- end -}}
{{- $names = append $names "envoy_cluster_upstream_rq_xx" -}}
# Keep what the statsd mapping keeps, and nothing else.
- source_labels: [__name__]
  regex: {{ join "|" $names }}
  action: keep
# The readiness listener's route to the admin carries the kubelet's probes
# (and here Prometheus's scrapes), not calls between services.
- source_labels: [envoy_cluster_name]
  regex: envoy_admin
  action: drop
- source_labels: [__name__]
  regex: envoy_cluster_(.+)
  target_label: __name__
  replacement: envoy_$1
- source_labels: [envoy_cluster_name]
  regex: (.+)
  target_label: cluster
- source_labels: [envoy_response_code_class]
  regex: (.+)
  target_label: response_code_class
- source_labels: [envoy_http_conn_manager_prefix]
  regex: (.+)
  target_label: listener
- regex: envoy_cluster_name|envoy_response_code_class|envoy_http_conn_manager_prefix
  action: labeldrop
# Bucket bounds from milliseconds to seconds (Prometheus may already have
# written "1" as "1.0").
{{- range include "envoy-example.latencyBuckets" . | fromYamlArray }}
- source_labels: [__name__, le]
  regex: 'envoy_upstream_rq_time_bucket;{{ regexQuoteMeta .ms }}(\.0)?'
  target_label: le
  replacement: "{{ .le }}"
{{- end }}
{{- end }}

{{/*
Recording rules for the mesh's golden signals, per hop (app -> cluster), so
that dashboards and ad-hoc queries read one cheap series instead of
re-aggregating the raw ones. Built on the series both metrics modes give.
*/}}
{{- define "envoy-example.recordingRules" -}}
# Prometheus recording rules, rendered by the chart.
groups:
- name: envoy-example-hops
  rules:
  # Traffic: requests per second of each hop.
  - record: hop:envoy_upstream_rq:rate5m
    expr: sum by (app, cluster) (rate(envoy_upstream_rq_time_count{cluster!="local_service"}[5m]))
  # Latency: p50, p95 and p99 of each hop, in seconds.
  {{- range $name, $q := dict "p50" "0.5" "p95" "0.95" "p99" "0.99" }}
  - record: hop:envoy_upstream_rq_time_seconds:{{ $name }}
    expr: histogram_quantile({{ $q }}, sum by (le, app, cluster) (rate(envoy_upstream_rq_time_bucket{cluster!="local_service"}[5m])))
  {{- end }}
  # Errors: the share of each hop's responses that were 5xx.
  - record: hop:envoy_upstream_rq_5xx:ratio_rate5m
    expr: |-
      sum by (app, cluster) (rate(envoy_upstream_rq_xx{cluster!="local_service",response_code_class="5"}[5m]))
        /
      sum by (app, cluster) (rate(envoy_upstream_rq_xx{cluster!="local_service"}[5m]))
  # Saturation of the upstream: the share of its hosts that pass health checks.
  - record: hop:envoy_membership_healthy:ratio
    expr: sum by (app, cluster) (envoy_membership_healthy) / sum by (app, cluster) (envoy_membership_total)
{{- end }}

{{/*
Grafana's data sources (grafana.enabled): this release's Prometheus, the
default (the dashboards pick it through their datasource variable), and
Jaeger for traces. The uids are fixed so that links can name them.
*/}}
{{- define "envoy-example.grafanaDatasources" -}}
# Grafana data sources, rendered by the chart.
apiVersion: 1
datasources:{{ if not (or .Values.prometheus.enabled .Values.jaeger.enabled) }} []{{ end }}
{{- if .Values.prometheus.enabled }}
- name: Prometheus
  uid: prometheus
  type: prometheus
  access: proxy
  url: http://{{ include "envoy-example.serviceFQDN" (dict "root" . "component" "prometheus") }}:{{ include "envoy-example.port" (list . "prometheus") }}
  isDefault: true
  jsonData:
    # $__rate_interval is at least four scrapes.
    timeInterval: {{ .Values.prometheus.scrapeInterval }}
{{- end }}
{{- if .Values.jaeger.enabled }}
- name: Jaeger
  uid: jaeger
  type: jaeger
  access: proxy
  url: http://{{ include "envoy-example.serviceFQDN" (dict "root" . "component" "jaeger-query") }}:{{ include "envoy-example.port" (list . "jaegerQuery") }}
{{- end }}
{{- end }}
