{{/*
The Envoy sidecar of a service pod (frontend, user, order, item, yours), as one
bootstrap that reads top to bottom:

  inbound    0.0.0.0:8080    the Service port   -> local_service, the app on 127.0.0.1:9090 (its port)
                             (with mtls: TLS with client certificates, RBAC on the callers)
  egress     127.0.0.1:7070  the app's calls    -> one cluster per service it calls
  readiness  0.0.0.0:15021   the kubelet's probes -> the admin's /ready
  prometheus_stats  0.0.0.0:15090  metrics.mode prometheus: GET /stats/prometheus -> the admin

What differs between the services comes from the topology (_topology.tpl,
from values.yaml's services): the app's protocol and port, its health check,
and the services it calls. The blocks shared with the ingress
(node, admin, stats, upstream clusters, tracing) are in _envoy-blocks.tpl.
The rendered files for the default values are in envoy/ at the repository's
root. Call with (dict "root" $ "component" "user").
*/}}
{{- define "envoy-example.sidecarBootstrap" -}}
{{- $root := .root -}}
{{- $envoy := $root.Values.envoy -}}
{{- $role := include "envoy-example.role" . | fromJson -}}
{{- $ctx := dict "root" $root "role" $role -}}
{{- $grpc := eq $role.protocol "grpc" -}}
{{- $mtls := include "envoy-example.mtls" $root -}}
{{- $callees := list -}}
{{- $grpcCallees := list -}}
{{- range $role.calls -}}
{{- $callee := include "envoy-example.role" (dict "root" $root "component" .) | fromJson -}}
{{- $callees = append $callees $callee -}}
{{- if eq $callee.protocol "grpc" }}{{ $grpcCallees = append $grpcCallees $callee }}{{ end -}}
{{- end -}}
# Envoy bootstrap of the {{ $role.name }} sidecar (release {{ $root.Release.Name }}), rendered by the chart.
{{ include "envoy-example.envoy.common" $ctx }}

static_resources:
  listeners:
  - name: inbound
    # Traffic to this pod (the Service port) goes to the app on 127.0.0.1:9090.
    address:
      socket_address: { address: 0.0.0.0, port_value: {{ include "envoy-example.port" (list $root "service") }} }
    # Inbound, so that the drain at shutdown (drain_listeners?inboundonly)
    # stops this listener and leaves the egress one to the exiting app.
    traffic_direction: INBOUND
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: inbound
          codec_type: AUTO
          {{- if $root.Values.jaeger.enabled }}
          {{- include "envoy-example.envoy.tracing" $ctx | nindent 10 }}
          {{- end }}
          route_config:
            name: inbound
            virtual_hosts:
            - name: local_service
              domains: ["*"]
              routes:
              {{- if or $grpc (not (dig "healthCheck" "port" 0 $role)) }}
              # Callers' Envoys health-check this pod through here. Their
              # checks carry no trace context: keep them out of Jaeger.
              {{- if $grpc }}
              - match: { prefix: "/grpc.health.v1.Health/" }
              {{- else }}
              - match: { path: {{ $role.healthCheck.path | quote }} }
              {{- end }}
                route:
                  cluster: local_service
                  timeout: {{ $envoy.healthCheck.timeout }}
                tracing:
                  overall_sampling: { numerator: 0 }
                {{- include "envoy-example.envoy.noFaults" $ctx | nindent 16 }}
              {{- end }}
              - match: { prefix: "/" }
                route:
                  cluster: local_service
                  {{- if $grpc }}
                  timeout: {{ $envoy.timeouts.route }}
                  # Honour the caller's grpc-timeout, up to the route timeout.
                  max_stream_duration:
                    grpc_timeout_header_max: {{ $envoy.timeouts.route }}
                  {{- else }}
                  # The caller is the ingress: wait as long as it does, so that
                  # the app's own answer when its request timeout runs out (a
                  # 504 naming the slow service) is what gets out.
                  timeout: {{ $root.Values.ingress.timeout }}
                  {{- end }}
          http_filters:
          {{- if $mtls }}
          # First: only this service's callers, by their certificates (mtls).
          {{- include "envoy-example.envoy.rbacFilter" $ctx | nindent 10 }}
          {{- end }}
          # Faults injected on purpose (values faults.{{ $role.name }}; off by default).
          {{- include "envoy-example.envoy.faultFilters" $ctx | nindent 10 }}
          {{- include "envoy-example.envoy.router" $ctx | nindent 10 }}
      {{- if $mtls }}
      # TLS 1.3, and only callers with a certificate of the mesh's CA (mtls).
      {{- include "envoy-example.envoy.downstreamTLS" $role | nindent 6 }}
      {{- end }}
  - name: egress
    # The app calls other services here (127.0.0.1:7070); routes pick the
    # cluster by gRPC service path, or for an HTTP callee by Host.
    {{- if not $role.calls }}
    # {{ $role.name }} calls no other service: no routes, every call gets a 404.
    {{- end }}
    address:
      socket_address: { address: 127.0.0.1, port_value: {{ include "envoy-example.port" (list $root "egress") }} }
    traffic_direction: OUTBOUND
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: egress
          codec_type: AUTO
          {{- if $root.Values.jaeger.enabled }}
          {{- include "envoy-example.envoy.tracing" $ctx | nindent 10 }}
          {{- end }}
          route_config:
            name: egress
            virtual_hosts:
            {{- range $callees }}
            {{- if ne .protocol "grpc" }}
            # HTTP calls to {{ .name }}: the app names it in Host (or :authority).
            - name: {{ .name }}
              domains: [{{ .name | quote }}, {{ printf "%s:*" .name | quote }}]
              routes:
              - match: { prefix: "/" }
                route:
                  cluster: {{ .name }}
                  timeout: {{ $envoy.timeouts.route }}
                  # Retry what never reached {{ .name }}: no connection, a refused stream.
                  retry_policy:
                    retry_on: connect-failure,refused-stream
                    num_retries: {{ $envoy.retries.attempts }}
                    per_try_timeout: {{ $envoy.retries.perTryTimeout }}
                    {{- include "envoy-example.envoy.retryHosts" $ctx | nindent 20 }}
            {{- end }}
            {{- end }}
            {{- if ne (len $callees) (len $grpcCallees) }}
            # gRPC calls, by the callee's gRPC service in the path.
            {{- end }}
            - name: egress
              domains: ["*"]
              routes:
              {{- range $callees }}
              {{- if eq .protocol "grpc" }}
              {{- $callee := . }}
              - match:
                  prefix: /{{ $callee.grpcService }}/
                  grpc: {}
                route:
                  cluster: {{ $callee.name }}
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
                    {{- include "envoy-example.envoy.retryHosts" $ctx | nindent 20 }}
              {{- end }}
              {{- end }}
              {{- if not $grpcCallees }} []
              {{- end }}
          http_filters:
          {{- include "envoy-example.envoy.router" $ctx | nindent 10 }}
  {{- include "envoy-example.envoy.readinessListener" $ctx | nindent 2 }}
  {{- if eq $root.Values.metrics.mode "prometheus" }}
  {{- include "envoy-example.envoy.prometheusStatsListener" $ctx | nindent 2 }}
  {{- end }}

  clusters:
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
              socket_address: { address: 127.0.0.1, port_value: {{ $role.port }} }
    {{- if $grpc }}
    {{- include "envoy-example.envoy.http2" $ctx | nindent 4 }}
    {{- end }}
  {{- range $callees }}
  {{- include "envoy-example.envoy.upstreamCluster" (dict "root" $root "callee" .) | nindent 2 }}
  {{- end }}
  {{- if $root.Values.jaeger.enabled }}
  {{- include "envoy-example.envoy.jaegerCluster" $ctx | nindent 2 }}
  {{- end }}
  {{- include "envoy-example.envoy.adminCluster" $ctx | nindent 2 }}
{{- end }}
