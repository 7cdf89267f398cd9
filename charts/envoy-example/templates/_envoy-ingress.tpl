{{/*
The ingress Envoy: the front door of the mesh and the root of every trace,
as one bootstrap that reads top to bottom:

  ingress    0.0.0.0:8080    from outside (the ingress Service) -> by path prefix, frontend (/) and
                             every service with an ingressPrefix
  readiness  0.0.0.0:15021   the kubelet's probes -> the admin's /ready
  prometheus_stats  0.0.0.0:15090  metrics.mode prometheus: GET /stats/prometheus -> the admin

It has no app and no egress listener; whom it calls comes from the topology
(_topology.tpl: the services with an ingressPrefix in values.yaml). The blocks shared with the sidecars
are in _envoy-blocks.tpl. The rendered file for the default values is
envoy/ingress.yaml at the repository's root. Call with (dict "root" $).
*/}}
{{- define "envoy-example.ingressBootstrap" -}}
{{- $root := .root -}}
{{- $envoy := $root.Values.envoy -}}
{{- $role := include "envoy-example.role" (dict "root" $root "component" "ingress") | fromJson -}}
{{- $ctx := dict "root" $root "role" $role -}}
# Envoy bootstrap of the ingress (release {{ $root.Release.Name }}), rendered by the chart.
{{ include "envoy-example.envoy.common" $ctx }}

static_resources:
  listeners:
  - name: ingress
    # The front door: every request from outside starts its trace here.
    address:
      socket_address: { address: 0.0.0.0, port_value: {{ include "envoy-example.port" (list $root "service") }} }
    # Inbound, so that the drain at shutdown (drain_listeners?inboundonly)
    # stops this listener.
    traffic_direction: INBOUND
    # The edge (Envoy's "Configuring Envoy as an edge proxy"): at most 32 KiB
    # buffered per client connection, whatever a client sends.
    per_connection_buffer_limit_bytes: 32768
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ingress
          codec_type: AUTO
          # The edge: trust the peer address, not X-Forwarded-For, and make
          # an x-request-id when the client sends none. A client's own id is
          # kept (helm test and the e2e test find their trace by it) and
          # returned in the response.
          use_remote_address: true
          # Edge limits: slow or idle clients are let go, a header name with
          # "_" is refused (an app may read it as its "-" twin), an HTTP/2
          # client gets 100 streams and bounded windows.
          request_headers_timeout: 10s
          stream_idle_timeout: 300s
          common_http_protocol_options:
            idle_timeout: 900s
            headers_with_underscores_action: REJECT_REQUEST
          http2_protocol_options:
            max_concurrent_streams: 100
            initial_stream_window_size: 65536
            initial_connection_window_size: 1048576
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
          {{- if $root.Values.jaeger.enabled }}
          {{- include "envoy-example.envoy.tracing" $ctx | nindent 10 }}
          {{- end }}
          route_config:
            name: ingress
            virtual_hosts:
            - name: ingress
              domains: ["*"]
              routes:
              {{- range $role.routes }}
              # {{ .prefix }} -> {{ .service }} (services.{{ .service }}.ingressPrefix)
              - match: { prefix: {{ .prefix | quote }} }
                route:
                  cluster: {{ .service }}
                  # Longer than the frontend's own request timeout, so that
                  # the frontend's answer (a 504 naming the slow service)
                  # reaches the client, not a bare "upstream request timeout".
                  timeout: {{ $root.Values.ingress.timeout }}
                  # Retry what never reached the service and the 503 of a
                  # pod that is shutting down (GET / is idempotent). No
                  # per-try timeout: a slow report is the frontend's to end
                  # (it has its deadline), and a second try would redo it all.
                  retry_policy:
                    retry_on: connect-failure,refused-stream,reset,retriable-status-codes
                    retriable_status_codes: [503]
                    num_retries: {{ $envoy.retries.attempts }}
                    {{- include "envoy-example.envoy.retryHosts" $ctx | nindent 20 }}
              {{- else }} []
              {{- end }}
          http_filters:
          {{- with $root.Values.ingress.rateLimit.requestsPerSecond }}
          # At most {{ . }} requests a second through this pod (ingress.rateLimit),
          # a token bucket refilled every second; beyond it, 429 at once, counted
          # as ingress_rate_limit.http_local_rate_limit.rate_limited.
          - name: envoy.filters.http.local_ratelimit
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit
              stat_prefix: ingress_rate_limit
              token_bucket: { max_tokens: {{ . }}, tokens_per_fill: {{ . }}, fill_interval: 1s }
              filter_enabled:
                runtime_key: ingress_rate_limit_enabled
                default_value: { numerator: 100, denominator: HUNDRED }
              filter_enforced:
                runtime_key: ingress_rate_limit_enforced
                default_value: { numerator: 100, denominator: HUNDRED }
              response_headers_to_add:
              - append_action: OVERWRITE_IF_EXISTS_OR_ADD
                header: { key: x-local-rate-limit, value: "true" }
          {{- end }}
          {{- include "envoy-example.envoy.router" $ctx | nindent 10 }}
  {{- include "envoy-example.envoy.readinessListener" $ctx | nindent 2 }}
  {{- if eq $root.Values.metrics.mode "prometheus" }}
  {{- include "envoy-example.envoy.prometheusStatsListener" $ctx | nindent 2 }}
  {{- end }}

  clusters:
  {{- range $role.calls }}
  {{- $callee := include "envoy-example.role" (dict "root" $root "component" .) | fromJson }}
  {{- include "envoy-example.envoy.upstreamCluster" (dict "root" $root "callee" $callee) | nindent 2 }}
  {{- end }}
  {{- if $root.Values.jaeger.enabled }}
  {{- include "envoy-example.envoy.jaegerCluster" $ctx | nindent 2 }}
  {{- end }}
  {{- include "envoy-example.envoy.adminCluster" $ctx | nindent 2 }}
{{- end }}

