{{/*
The Envoy bootstrap: the one template every Envoy's config comes from, the
sidecar of each service and the ingress alike. Each component gets it
rendered into its own ConfigMap (envoy-configmaps.yaml).

Call with (dict "root" $ "component" "user"); component is frontend, user,
order, item or ingress.

Ports are fixed by DESIGN.md:
  0.0.0.0:8080     inbound listener, the Service port (ingress: the front door)
  127.0.0.1:7070   egress listener: the app calls other services here
  0.0.0.0:15021    readiness listener: only /ready, routed to the admin
  127.0.0.1:9901   admin, never on the pod IP
  127.0.0.1:9090   the app (cluster local_service)
  127.0.0.1:9125   statsd_exporter (UDP)
*/}}
{{- define "envoy-example.envoyBootstrap" -}}
{{- $root := .root -}}
{{- $name := .component -}}
{{- $envoy := $root.Values.envoy -}}
{{- $ingress := eq $name "ingress" -}}
{{- /* The app behind local_service speaks gRPC (HTTP/2) except frontend (HTTP/1.1). */ -}}
{{- $grpcApp := has $name (list "user" "order" "item") -}}
{{- $upstreams := include "envoy-example.upstreams" $name | fromJsonArray -}}
{{- if $ingress }}{{ $upstreams = list "frontend" }}{{ end -}}
{{- $tracing := $root.Values.jaeger.enabled -}}
# Envoy bootstrap of {{ $name }} (release {{ $root.Release.Name }}), rendered by the chart.
node:
  # Zipkin names this Envoy's spans after node.cluster, so Jaeger lists the
  # service as "{{ $name }}". node.id is the pod name, from --service-node.
  cluster: {{ $name }}

admin:
  # Loopback only: the admin can drain and stop Envoy. Probes use the
  # readiness listener on 15021 instead.
  address:
    socket_address: { address: 127.0.0.1, port_value: 9901 }

# Every STRICT_DNS cluster names a fully qualified Service name, so the
# resolver skips resolv.conf's search domains (one query instead of five).
typed_dns_resolver_config:
  name: envoy.network.dns_resolver.cares
  typed_config:
    "@type": type.googleapis.com/envoy.extensions.network.dns_resolver.cares.v3.CaresDnsResolverConfig
    dns_resolver_options:
      no_default_search_domain: true

# Stats go to the statsd_exporter sidecar. The prefix carries the service
# name, so that the mapping can label every series with app="{{ $name }}":
#   envoy.{{ $name }}.cluster.<cluster>.upstream_rq_time
stats_flush_interval: {{ $envoy.statsFlushInterval }}
stats_sinks:
- name: envoy.stat_sinks.statsd
  typed_config:
    "@type": type.googleapis.com/envoy.config.metrics.v3.StatsdSink
    address:
      socket_address: { protocol: UDP, address: 127.0.0.1, port_value: 9125 }
    prefix: envoy.{{ $name }}

static_resources:
  listeners:
  {{- /* ---------------------------------------------------------------- */}}
  - name: {{ ternary "ingress" "inbound" $ingress }}
    {{- if $ingress }}
    # The front door: every request from outside starts its trace here.
    {{- else }}
    # Traffic to this pod (the Service port) goes to the app on 127.0.0.1:9090.
    {{- end }}
    address:
      socket_address: { address: 0.0.0.0, port_value: 8080 }
    # Inbound, so that the drain at shutdown (drain_listeners?inboundonly)
    # stops this listener and leaves the egress one to the exiting app.
    traffic_direction: INBOUND
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: {{ ternary "ingress" "inbound" $ingress }}
          codec_type: AUTO
          {{- if $ingress }}
          # The edge: trust the peer address, not X-Forwarded-For, and make
          # an x-request-id when the client sends none. A client's own id is
          # kept (helm test and the e2e test find their trace by it) and
          # returned in the response.
          use_remote_address: true
          generate_request_id: true
          preserve_external_request_id: true
          always_set_request_id_in_response: true
          request_id_extension:
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.request_id.uuid.v3.UuidRequestIdConfig
              # Trace every request whatever its x-request-id looks like (by
              # default Envoy samples on the id's UUID bits, and an id that
              # is not a UUID is never traced), and leave the id untouched.
              use_request_id_for_trace_sampling: false
              pack_trace_reason: false
          access_log:
          - name: envoy.access_loggers.stdout
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog
          {{- end }}
          {{- if $tracing }}
          {{- include "envoy-example.envoyTracing" . | nindent 10 }}
          {{- end }}
          route_config:
            name: {{ ternary "ingress" "inbound" $ingress }}
            virtual_hosts:
            - name: {{ ternary "frontend" "local_service" $ingress }}
              domains: ["*"]
              routes:
              {{- if $ingress }}
              - match: { prefix: "/" }
                route:
                  cluster: frontend
                  timeout: {{ $envoy.timeouts.route }}
                  # GET / is idempotent: retry what never reached a frontend
                  # and the 503 of a frontend pod that is shutting down.
                  retry_policy:
                    retry_on: connect-failure,refused-stream,reset,retriable-status-codes
                    retriable_status_codes: [503]
                    num_retries: {{ $envoy.retries.attempts }}
                    per_try_timeout: {{ $envoy.retries.perTryTimeout }}
                    {{- include "envoy-example.envoyRetryHosts" . | nindent 20 }}
              {{- else }}
              {{- if $grpcApp }}
              # Callers' Envoys health-check this pod through here. Their
              # checks carry no trace context: keep them out of Jaeger.
              - match: { prefix: "/grpc.health.v1.Health/" }
                route:
                  cluster: local_service
                  timeout: {{ $envoy.healthCheck.timeout }}
                tracing:
                  overall_sampling: { numerator: 0 }
              {{- end }}
              - match: { prefix: "/" }
                route:
                  cluster: local_service
                  timeout: {{ $envoy.timeouts.route }}
                  {{- if $grpcApp }}
                  # Honour the caller's grpc-timeout, up to the route timeout.
                  max_stream_duration:
                    grpc_timeout_header_max: {{ $envoy.timeouts.route }}
                  {{- end }}
              {{- end }}
          http_filters:
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  {{- if not $ingress }}
  {{- /* ---------------------------------------------------------------- */}}
  - name: egress
    # The app calls other services here (127.0.0.1:7070); routes pick the
    # cluster by gRPC service path.
    {{- if not $upstreams }}
    # {{ $name }} calls no other service: no routes, every call gets a 404.
    {{- end }}
    address:
      socket_address: { address: 127.0.0.1, port_value: 7070 }
    traffic_direction: OUTBOUND
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: egress
          codec_type: AUTO
          {{- if $tracing }}
          {{- include "envoy-example.envoyTracing" . | nindent 10 }}
          {{- end }}
          route_config:
            name: egress
            virtual_hosts:
            - name: egress
              domains: ["*"]
              routes:
              {{- range $upstreams }}
              - match:
                  prefix: /{{ include "envoy-example.grpcService" . }}/
                  grpc: {}
                route:
                  cluster: {{ . }}
                  timeout: {{ $envoy.timeouts.route }}
                  max_stream_duration:
                    grpc_timeout_header_max: {{ $envoy.timeouts.route }}
                  # Retry what surely did not run: no connection, a refused
                  # or reset stream, UNAVAILABLE (a pod going away), each
                  # time on another host.
                  retry_policy:
                    retry_on: connect-failure,refused-stream,reset,unavailable
                    num_retries: {{ $envoy.retries.attempts }}
                    per_try_timeout: {{ $envoy.retries.perTryTimeout }}
                    {{- include "envoy-example.envoyRetryHosts" $ | nindent 20 }}
              {{- else }} []
              {{- end }}
          http_filters:
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  {{- end }}
  {{- /* ---------------------------------------------------------------- */}}
  - name: readiness
    # The kubelet's startup and readiness probes: GET /ready on the pod IP,
    # answered by the admin (503 until Envoy is initialised and once it
    # drains). Nothing else of the admin is reachable here.
    address:
      socket_address: { address: 0.0.0.0, port_value: 15021 }
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
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router

  clusters:
  {{- if not $ingress }}
  - name: local_service
    # The app in this pod.
    type: STATIC
    connect_timeout: {{ $envoy.timeouts.connect }}
    load_assignment:
      cluster_name: local_service
      endpoints:
      - lb_endpoints:
        - endpoint:
            address:
              socket_address: { address: 127.0.0.1, port_value: 9090 }
    {{- if $grpcApp }}
    {{- include "envoy-example.envoyHTTP2" . | nindent 4 }}
    {{- end }}
  {{- end }}
  {{- range $upstreams }}
  {{- $fqdn := include "envoy-example.serviceFQDN" (dict "root" $root "component" .) }}
  - name: {{ . }}
    # Every ready {{ . }} pod: the headless Service's A records, re-resolved
    # every {{ $envoy.dns.refreshRate }}, so scaling needs no config change.
    {{- include "envoy-example.envoyStrictDNS" (dict "envoy" $envoy "refreshRate" $envoy.dns.refreshRate) | nindent 4 }}
    connect_timeout: {{ $envoy.timeouts.connect }}
    # A pod that leaves DNS (it is terminating) leaves the cluster at once,
    # even while it still passes health checks.
    ignore_health_on_host_removal: true
    load_assignment:
      cluster_name: {{ . }}
      endpoints:
      - lb_endpoints:
        - endpoint:
            address:
              socket_address: { address: {{ $fqdn }}, port_value: 8080 }
            {{- if eq . "frontend" }}
            # Health checks ask the frontend app's /readyz on its admin port
            # (503 while it drains).
            health_check_config: { port_value: 9091 }
            {{- end }}
    {{- if ne . "frontend" }}
    {{- include "envoy-example.envoyHTTP2" $ | nindent 4 }}
    {{- end }}
    health_checks:
    - timeout: {{ $envoy.healthCheck.timeout }}
      interval: {{ $envoy.healthCheck.interval }}
      no_traffic_interval: {{ $envoy.healthCheck.noTrafficInterval }}
      unhealthy_threshold: {{ $envoy.healthCheck.unhealthyThreshold }}
      healthy_threshold: {{ $envoy.healthCheck.healthyThreshold }}
      {{- if eq . "frontend" }}
      http_health_check: { path: /readyz }
      {{- else }}
      # grpc.health.v1 through the pod's own Envoy, for the service itself.
      grpc_health_check: { service_name: {{ include "envoy-example.grpcService" . }} }
      {{- end }}
    outlier_detection:
      consecutive_5xx: {{ $envoy.outlierDetection.consecutive5xx }}
      consecutive_gateway_failure: {{ $envoy.outlierDetection.consecutiveGatewayFailure }}
      # Gateway failures eject nobody unless enforced.
      enforcing_consecutive_gateway_failure: 100
      interval: {{ $envoy.outlierDetection.interval }}
      base_ejection_time: {{ $envoy.outlierDetection.baseEjectionTime }}
      max_ejection_percent: {{ $envoy.outlierDetection.maxEjectionPercent }}
  {{- end }}
  {{- if $tracing }}
  - name: jaeger
    # Jaeger's Zipkin receiver: where every span goes.
    {{- include "envoy-example.envoyStrictDNS" (dict "envoy" $envoy "refreshRate" "30s") | nindent 4 }}
    connect_timeout: {{ $envoy.timeouts.connect }}
    load_assignment:
      cluster_name: jaeger
      endpoints:
      - lb_endpoints:
        - endpoint:
            address:
              socket_address: { address: {{ include "envoy-example.serviceFQDN" (dict "root" $root "component" "jaeger-zipkin") }}, port_value: 9411 }
  {{- end }}
  - name: envoy_admin
    # The admin on loopback, for the readiness listener.
    type: STATIC
    connect_timeout: 0.25s
    load_assignment:
      cluster_name: envoy_admin
      endpoints:
      - lb_endpoints:
        - endpoint:
            address:
              socket_address: { address: 127.0.0.1, port_value: 9901 }
{{- end }}

{{/* HCM tracing: Zipkin spans to the jaeger cluster. */}}
{{- define "envoy-example.envoyTracing" -}}
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
Cluster discovery: strict DNS, every address of the name is a host. Envoy
1.40 configures it with the DNS cluster extension (the former type:
STRICT_DNS, whose refresh settings on the cluster are deprecated).
*/}}
{{- define "envoy-example.envoyStrictDNS" -}}
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
{{- define "envoy-example.envoyHTTP2" -}}
typed_extension_protocol_options:
  envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
    "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
    explicit_http_config:
      http2_protocol_options: {}
{{- end }}

{{/* Retry policy part: each retry goes to a host not tried yet. */}}
{{- define "envoy-example.envoyRetryHosts" -}}
retry_back_off: { base_interval: 0.025s, max_interval: 0.25s }
retry_host_predicate:
- name: envoy.retry_host_predicates.previous_hosts
  typed_config:
    "@type": type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate
host_selection_retry_max_attempts: 3
{{- end }}
