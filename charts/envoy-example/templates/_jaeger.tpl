{{/*
The Jaeger v2 config: Zipkin in, memory storage, query API and UI out.
Jaeger v2 binds to localhost unless told otherwise: every endpoint the pod
must serve says 0.0.0.0.
*/}}
{{- define "envoy-example.jaegerConfig" -}}
# Jaeger v2 (an OpenTelemetry collector build) config, rendered by the chart.
service:
  extensions: [jaeger_storage, jaeger_query, healthcheckv2]
  pipelines:
    traces:
      receivers: [zipkin]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
extensions:
  # The readiness probe: GET /status on 13133.
  healthcheckv2:
    use_v2: true
    http:
      endpoint: 0.0.0.0:{{ include "envoy-example.port" (list . "jaegerHealth") }}
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: {{ .Values.jaeger.maxTraces }}
  jaeger_query:
    storage:
      traces: memstore
    http:
      endpoint: 0.0.0.0:{{ include "envoy-example.port" (list . "jaegerQuery") }}
receivers:
  # Envoy's Zipkin tracer posts JSON spans to /api/v2/spans here.
  zipkin:
    endpoint: 0.0.0.0:{{ include "envoy-example.port" (list . "zipkin") }}
processors:
  batch: {}
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
{{- end }}
