{{/*
The blocks every Envoy of the chart shares, the sidecars' and the ingress's:
_envoy-sidecar.tpl and _envoy-ingress.tpl are read top to bottom and include
these by name. Each block takes (dict "root" $ "role" $role), $role being an
entry of the topology (_topology.tpl), unless it says otherwise.

The blocks of mutual TLS (transport sockets, RBAC, SDS files) are in
_envoy-mtls.tpl.

Ports (DESIGN.md, "Ports inside a pod"):
  0.0.0.0:8080     inbound listener, the Service port (ingress: the front door)
  127.0.0.1:7070   egress listener: the app calls other services here
  0.0.0.0:15021    readiness listener: only /ready, routed to the admin
  127.0.0.1:9901   admin, never on the pod IP
  127.0.0.1:9090   the app (cluster local_service)
  127.0.0.1:9125   statsd_exporter (UDP; metrics.mode statsd)
  0.0.0.0:15090    stats listener: only GET /stats/prometheus (metrics.mode prometheus)
*/}}

{{/*
The bootstrap of any role: the ingress's or a sidecar's. Call with
(dict "root" $ "component" "user").
*/}}
{{- define "envoy-example.envoyBootstrap" -}}
{{- if eq .component "ingress" -}}
{{- include "envoy-example.ingressBootstrap" . -}}
{{- else -}}
{{- include "envoy-example.sidecarBootstrap" . -}}
{{- end -}}
{{- end }}

{{/* node, admin, DNS resolver and stats: the top of every bootstrap. */}}
{{- define "envoy-example.envoy.common" -}}
{{- $name := .role.name -}}
{{- $envoy := .root.Values.envoy -}}
node:
  # Zipkin names this Envoy's spans after node.cluster, so Jaeger lists the
  # service as "{{ $name }}". node.id is the pod name, from --service-node.
  cluster: {{ $name }}

admin:
  # Loopback only: the admin can drain and stop Envoy. Probes use the
  # readiness listener on 15021 instead.
  address:
    socket_address: { address: 127.0.0.1, port_value: {{ include "envoy-example.port" (list .root "envoyAdmin") }} }

# The admin runtime layer: POST /runtime_modify on this Envoy's admin changes
# runtime keys of this Envoy alone, e.g. fault.http.abort.abort_percent to
# break one pod on purpose (docs/faults.md).
layered_runtime:
  layers:
  - name: admin
    admin_layer: {}

# Every DNS cluster names a fully qualified Service name, so the resolver
# skips resolv.conf's search domains (one query instead of five).
typed_dns_resolver_config:
  name: envoy.network.dns_resolver.cares
  typed_config:
    "@type": type.googleapis.com/envoy.extensions.network.dns_resolver.cares.v3.CaresDnsResolverConfig
    dns_resolver_options:
      no_default_search_domain: true

{{- if eq .root.Values.metrics.mode "statsd" }}

# Stats go to the statsd_exporter sidecar. The prefix carries the role's
# name, so that the mapping can label every series with app="{{ $name }}":
#   envoy.{{ $name }}.cluster.<cluster>.upstream_rq_time
stats_flush_interval: {{ $envoy.statsFlushInterval }}
stats_sinks:
- name: envoy.stat_sinks.statsd
  typed_config:
    "@type": type.googleapis.com/envoy.config.metrics.v3.StatsdSink
    address:
      socket_address: { protocol: UDP, address: 127.0.0.1, port_value: {{ include "envoy-example.port" (list .root "statsd") }} }
    prefix: envoy.{{ $name }}
{{- else }}

# Prometheus reads this Envoy's own stats (the stats listener, 15090).
# Histograms are merged at each flush. Request times get the statsd
# mapping's buckets, in milliseconds, so that both metrics modes give the
# same le values once Prometheus relabels them into seconds.
stats_flush_interval: {{ $envoy.statsFlushInterval }}
stats_config:
  histogram_bucket_settings:
  - match: { suffix: .upstream_rq_time }
    buckets: [{{ range $i, $b := include "envoy-example.latencyBuckets" .root | fromYamlArray }}{{ if $i }}, {{ end }}{{ $b.ms }}{{ end }}]
{{- end }}
{{- end }}

{{/*
The readiness listener: the kubelet's startup and readiness probes, GET
/ready on the pod IP, answered by the admin (503 until Envoy is initialised
and once it drains). Nothing else of the admin is reachable here.
*/}}
{{- define "envoy-example.envoy.readinessListener" -}}
- name: readiness
  address:
    socket_address: { address: 0.0.0.0, port_value: {{ include "envoy-example.port" (list .root "envoyReady") }} }
  filter_chains:
  - filters:
    - name: envoy.filters.network.http_connection_manager
      typed_config:
        "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
        stat_prefix: readiness
        codec_type: AUTO
        route_config:
          name: readiness
          virtual_hosts:
          - name: readiness
            domains: ["*"]
            routes:
            - match: { path: /ready }
              route: { cluster: envoy_admin, timeout: 1s }
        http_filters:
        {{- include "envoy-example.envoy.router" . | nindent 8 }}
{{- end }}

{{/*
The fault filters of a service's inbound listener (values faults.<service>).
Faults act on the server side, so the callers' Envoys see a failing or slow
server and their retries, timeouts and outlier detection act on it.

The first filter is always there, at the values' percentages (0 by
default), so that one pod's admin runtime can switch it on at run time
without a redeploy: fault.http.abort.abort_percent, fault.http.abort.grpc_status
(http_status on the frontend), fault.http.delay.fixed_delay_percent and
fault.http.delay.fixed_duration_ms.
The second, with faults.<service>.headers, obeys Envoy's fault headers
(x-envoy-fault-abort-request, ...); its own runtime keys keep a runtime
override of the first from reaching it.
*/}}
{{- define "envoy-example.envoy.faultFilters" -}}
{{- $faults := include "envoy-example.faults" . | fromJson -}}
- name: envoy.filters.http.fault
  typed_config:
    "@type": type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault
    abort:
      percentage: { numerator: {{ $faults.abort.percent }}, denominator: HUNDRED }
      {{- if eq .role.protocol "grpc" }}
      grpc_status: {{ $faults.abort.grpcStatus }}
      {{- else }}
      http_status: {{ $faults.abort.httpStatus }}
      {{- end }}
    delay:
      percentage: { numerator: {{ $faults.delay.percent }}, denominator: HUNDRED }
      fixed_delay: {{ $faults.delay.duration }}
{{- if $faults.headers }}
- name: fault-headers
  typed_config:
    "@type": type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault
    abort:
      header_abort: {}
      percentage: { numerator: 100, denominator: HUNDRED }
    delay:
      header_delay: {}
      percentage: { numerator: 100, denominator: HUNDRED }
    abort_percent_runtime: fault.headers.abort.abort_percent
    delay_percent_runtime: fault.headers.delay.fixed_delay_percent
{{- end }}
{{- end }}

{{/*
A service's faults: faults.<service> of values.yaml, or none for a service
without an entry there (yours, unless you give it one). As JSON.
*/}}
{{- define "envoy-example.faults" -}}
{{- $none := dict "abort" (dict "percent" 0 "httpStatus" 503 "grpcStatus" 14) "delay" (dict "percent" 0 "duration" "1s") "headers" false -}}
{{- merge (deepCopy (get .root.Values.faults .role.name | default dict)) $none | toJson -}}
{{- end }}

{{/*
Route option: no injected fault on this route (the health checks': a fault
should look like a bad server to the callers' traffic, not flap its health).
*/}}
{{- define "envoy-example.envoy.noFaults" -}}
{{- $faults := include "envoy-example.faults" . | fromJson -}}
typed_per_filter_config:
  envoy.filters.http.fault:
    "@type": type.googleapis.com/envoy.config.route.v3.FilterConfig
    disabled: true
  {{- if $faults.headers }}
  fault-headers:
    "@type": type.googleapis.com/envoy.config.route.v3.FilterConfig
    disabled: true
  {{- end }}
{{- end }}

{{/*
The stats listener (metrics.mode prometheus): Prometheus's scrapes of
GET /stats/prometheus on the pod IP, answered by the admin, as Istio does
on the same port. Every other path and method finds no route (404): the
admin's other pages can drain or stop Envoy.
*/}}
{{- define "envoy-example.envoy.prometheusStatsListener" -}}
- name: prometheus_stats
  address:
    socket_address: { address: 0.0.0.0, port_value: {{ include "envoy-example.port" (list .root "envoyStats") }} }
  filter_chains:
  - filters:
    - name: envoy.filters.network.http_connection_manager
      typed_config:
        "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
        stat_prefix: prometheus_stats
        codec_type: AUTO
        route_config:
          name: prometheus_stats
          virtual_hosts:
          - name: prometheus_stats
            domains: ["*"]
            routes:
            - match:
                path: /stats/prometheus
                headers:
                - name: ":method"
                  string_match: { exact: GET }
              route: { cluster: envoy_admin, timeout: 5s }
        http_filters:
        {{- include "envoy-example.envoy.router" . | nindent 8 }}
{{- end }}

{{/* The last HTTP filter of every listener. */}}
{{- define "envoy-example.envoy.router" -}}
- name: envoy.filters.http.router
  typed_config:
    "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
{{- end }}

{{/* HCM tracing: Zipkin spans to the jaeger cluster. */}}
{{- define "envoy-example.envoy.tracing" -}}
tracing:
  provider:
    name: envoy.tracers.zipkin
    typed_config:
      "@type": type.googleapis.com/envoy.config.trace.v3.ZipkinConfig
      collector_cluster: jaeger
      collector_endpoint: /api/v2/spans
      collector_endpoint_version: HTTP_JSON
      trace_id_128bit: true
      # Client and server spans of one hop get their own span ids.
      shared_span_context: false
{{- end }}

{{/*
A retry policy's choice of host: each retry goes to a host not tried yet.
Takes the root context ($).
*/}}
{{- define "envoy-example.envoy.retryHosts" -}}
retry_back_off: { base_interval: 0.025s, max_interval: 0.25s }
retry_host_predicate:
- name: envoy.retry_host_predicates.previous_hosts
  typed_config:
    "@type": type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate
host_selection_retry_max_attempts: 3
{{- end }}

{{/*
The cluster of one service this Envoy calls: every ready pod of its headless
Service, health-checked and watched for outliers. Call with (dict "root" $
"callee" $calleeRole).
*/}}
{{- define "envoy-example.envoy.upstreamCluster" -}}
{{- $root := .root -}}
{{- $envoy := $root.Values.envoy -}}
{{- $callee := .callee -}}
- name: {{ $callee.name }}
  # Every ready {{ $callee.name }} pod: the headless Service's A records,
  # re-resolved every {{ $envoy.dns.refreshRate }}, so scaling needs no config change.
  {{- include "envoy-example.envoy.strictDNS" (dict "envoy" $envoy "refreshRate" $envoy.dns.refreshRate) | nindent 2 }}
  connect_timeout: {{ $envoy.timeouts.connect }}
  # A pod that leaves DNS (it is terminating) leaves the cluster at once,
  # even while it still passes health checks.
  ignore_health_on_host_removal: true
  load_assignment:
    cluster_name: {{ $callee.name }}
    endpoints:
    - lb_endpoints:
      - endpoint:
          address:
            socket_address: { address: {{ include "envoy-example.serviceFQDN" (dict "root" $root "component" $callee.name) }}, port_value: {{ include "envoy-example.port" (list $root "service") }} }
          {{- if dig "healthCheck" "port" 0 $callee }}
          # Health checks ask the {{ $callee.name }} app's {{ $callee.healthCheck.path }} on its ops port
          # (503 while it drains).
          health_check_config: { port_value: {{ $callee.healthCheck.port }} }
          {{- end }}
  {{- if eq $callee.protocol "grpc" }}
  {{- include "envoy-example.envoy.http2" . | nindent 2 }}
  {{- end }}
  {{- if include "envoy-example.mtls" $root }}
  # mTLS to the callee's inbound listener, which must be {{ $callee.name }}.
  {{- include "envoy-example.envoy.upstreamTLS" . | nindent 2 }}
  {{- if dig "healthCheck" "port" 0 $callee }}
  # The health checks go to the app's plain ops port, not through TLS.
  transport_socket_matches:
  - name: plain-health-check
    match: { health-check: plain }
    transport_socket:
      name: envoy.transport_sockets.raw_buffer
      typed_config:
        "@type": type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer
  {{- end }}
  {{- end }}
  health_checks:
  - timeout: {{ $envoy.healthCheck.timeout }}
    interval: {{ $envoy.healthCheck.interval }}
    no_traffic_interval: {{ $envoy.healthCheck.noTrafficInterval }}
    unhealthy_threshold: {{ $envoy.healthCheck.unhealthyThreshold }}
    healthy_threshold: {{ $envoy.healthCheck.healthyThreshold }}
    {{- if eq $callee.protocol "grpc" }}
    # grpc.health.v1 through the pod's own Envoy, for the service itself.
    grpc_health_check: { service_name: {{ $callee.grpcService }} }
    {{- else }}
    http_health_check: { path: {{ $callee.healthCheck.path }} }
    {{- if and (include "envoy-example.mtls" $root) (dig "healthCheck" "port" 0 $callee) }}
    transport_socket_match_criteria: { health-check: plain }
    {{- end }}
    {{- end }}
  {{- if $envoy.outlierDetection.enabled }}
  outlier_detection:
    consecutive_5xx: {{ $envoy.outlierDetection.consecutive5xx }}
    consecutive_gateway_failure: {{ $envoy.outlierDetection.consecutiveGatewayFailure }}
    # Gateway failures eject nobody unless enforced.
    enforcing_consecutive_gateway_failure: 100
    interval: {{ $envoy.outlierDetection.interval }}
    base_ejection_time: {{ $envoy.outlierDetection.baseEjectionTime }}
    max_ejection_percent: {{ $envoy.outlierDetection.maxEjectionPercent }}
  {{- end }}
{{- end }}

{{/* The trace collector: Jaeger's Zipkin receiver, where every span goes. */}}
{{- define "envoy-example.envoy.jaegerCluster" -}}
{{- $envoy := .root.Values.envoy -}}
- name: jaeger
  {{- include "envoy-example.envoy.strictDNS" (dict "envoy" $envoy "refreshRate" "30s") | nindent 2 }}
  connect_timeout: {{ $envoy.timeouts.connect }}
  load_assignment:
    cluster_name: jaeger
    endpoints:
    - lb_endpoints:
      - endpoint:
          address:
            socket_address: { address: {{ include "envoy-example.serviceFQDN" (dict "root" .root "component" "jaeger-zipkin") }}, port_value: {{ include "envoy-example.port" (list .root "zipkin") }} }
{{- end }}

{{/* The admin on loopback, for the readiness and stats listeners. */}}
{{- define "envoy-example.envoy.adminCluster" -}}
- name: envoy_admin
  type: STATIC
  connect_timeout: 0.25s
  load_assignment:
    cluster_name: envoy_admin
    endpoints:
    - lb_endpoints:
      - endpoint:
          address:
            socket_address: { address: 127.0.0.1, port_value: {{ include "envoy-example.port" (list .root "envoyAdmin") }} }
{{- end }}

{{/*
Cluster discovery: strict DNS, every address of the name is a host. Envoy
1.40 configures it with the DNS cluster extension (the former type:
STRICT_DNS, whose refresh settings on the cluster are deprecated).
Call with (dict "envoy" .Values.envoy "refreshRate" "5s").
*/}}
{{- define "envoy-example.envoy.strictDNS" -}}
cluster_type:
  name: envoy.cluster.dns
  typed_config:
    "@type": type.googleapis.com/envoy.extensions.clusters.dns.v3.DnsCluster
    # false: one host per address (STRICT_DNS); true would be LOGICAL_DNS.
    all_addresses_in_single_endpoint: false
    dns_lookup_family: {{ .envoy.dns.lookupFamily }}
    dns_refresh_rate: {{ .refreshRate }}
    respect_dns_ttl: false
{{- end }}

{{/* Cluster option: speak HTTP/2 (gRPC) to the upstream. */}}
{{- define "envoy-example.envoy.http2" -}}
typed_extension_protocol_options:
  envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
    "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
    explicit_http_config:
      http2_protocol_options: {}
{{- end }}
