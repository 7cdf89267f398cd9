{{/*
The Envoy blocks of mutual TLS (DESIGN.md, "Mutual TLS"), used by
_envoy-sidecar.tpl, _envoy-ingress.tpl and _envoy-blocks.tpl when
envoy-example.mtls is on. Each takes (dict "root" $ "role" $role) unless it
says otherwise.

Envoy reads the certificates through file-based SDS: the two SDS files are
entries of the Envoy ConfigMap (/etc/envoy), and name the files of the
workload's Secret volume (/etc/envoy-mtls). The kubelet updates a Secret
volume by writing a new directory and renaming its ..data symlink;
watched_directory makes Envoy re-read the files on that rename, so a
renewed certificate is used without a restart.
*/}}

{{- define "envoy-example.envoy.mtlsDir" -}}/etc/envoy-mtls{{- end }}

{{/* The SDS source of one of the two SDS files. Call with the file's name. */}}
{{- define "envoy-example.envoy.sdsConfig" -}}
sds_config:
  path_config_source:
    path: /etc/envoy/{{ . }}
    watched_directory: { path: /etc/envoy }
{{- end }}

{{/* This workload's certificate and key, for both ends of a connection. */}}
{{- define "envoy-example.envoy.tlsCommon" -}}
tls_params:
  tls_minimum_protocol_version: TLSv1_3
  tls_maximum_protocol_version: TLSv1_3
alpn_protocols: [{{ ternary "h2" "http/1.1" (eq .protocol "grpc") }}]
tls_certificate_sds_secret_configs:
- name: workload_certificate
  {{- include "envoy-example.envoy.sdsConfig" "sds-certificate.yaml" | nindent 2 }}
{{- end }}

{{/*
The inbound listener's TLS: callers must present a certificate from the
mesh's CA (who they are is the RBAC filter's to check). Call with
(dict "protocol" "grpc").
*/}}
{{- define "envoy-example.envoy.downstreamTLS" -}}
transport_socket:
  name: envoy.transport_sockets.tls
  typed_config:
    "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
    require_client_certificate: true
    common_tls_context:
      {{- include "envoy-example.envoy.tlsCommon" . | nindent 6 }}
      validation_context_sds_secret_config:
        name: mesh_ca
        {{- include "envoy-example.envoy.sdsConfig" "sds-validation.yaml" | nindent 8 }}
{{- end }}

{{/*
A cluster's TLS to the callee's inbound listener: this workload's
certificate, and the server must be the callee (its SPIFFE ID) under the
mesh's CA. Call with (dict "root" $ "callee" $calleeRole).
*/}}
{{- define "envoy-example.envoy.upstreamTLS" -}}
transport_socket:
  name: envoy.transport_sockets.tls
  typed_config:
    "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
    common_tls_context:
      {{- include "envoy-example.envoy.tlsCommon" .callee | nindent 6 }}
      combined_validation_context:
        default_validation_context:
          match_typed_subject_alt_names:
          - san_type: URI
            matcher: { exact: {{ include "envoy-example.spiffeID" (dict "root" .root "component" .callee.name) | quote }} }
        validation_context_sds_secret_config:
          name: mesh_ca
          {{- include "envoy-example.envoy.sdsConfig" "sds-validation.yaml" | nindent 10 }}
{{- end }}

{{/*
The first HTTP filter of a service's inbound listener: only the callers the
topology names (envoy-example.callers), by the SPIFFE ID of the certificate
they presented, and of a gRPC service only the methods a caller's calls
name, when they name some. Anyone else, and any other method, gets 403
(PERMISSION_DENIED for gRPC), counted as http.inbound.rbac.denied.
*/}}
{{- define "envoy-example.envoy.rbacFilter" -}}
{{- $root := .root -}}
{{- $role := .role -}}
{{- $topology := include "envoy-example.topology" $root | fromJson -}}
{{- $callers := include "envoy-example.callers" (dict "root" $root "component" .role.name) | fromJsonArray -}}
- name: envoy.filters.http.rbac
  typed_config:
    "@type": type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC
    # Who may call {{ .role.name }} (_topology.tpl): {{ join ", " $callers }}.
    rules:
      action: ALLOW
      policies:
        {{- range $callers }}
        {{- $methods := get (get $topology .).methods $role.name }}
        {{ . }}:
          {{- if $methods }}
          # Only the methods its calls name, and its health checks.
          permissions:
          - or_rules:
              rules:
              {{- range $methods }}
              - url_path: { path: { exact: "/{{ $role.grpcService }}/{{ . }}" } }
              {{- end }}
              - url_path: { path: { exact: "/grpc.health.v1.Health/Check" } }
          {{- else }}
          permissions: [{ any: true }]
          {{- end }}
          principals:
          - authenticated:
              principal_name: { exact: {{ include "envoy-example.spiffeID" (dict "root" $root "component" .) | quote }} }
        {{- end }}
{{- end }}

{{/*
The SDS files, entries of each Envoy ConfigMap beside envoy.yaml: each is a
DiscoveryResponse with one Secret (Envoy's file-based SDS takes exactly
one), naming the files of the Secret volume.
*/}}
{{- define "envoy-example.envoy.sdsCertificate" -}}
# This workload's certificate and key (SDS secret workload_certificate), from
# the Secret volume; re-read when the kubelet swaps the volume's ..data.
resources:
- "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret
  name: workload_certificate
  tls_certificate:
    certificate_chain: { filename: {{ include "envoy-example.envoy.mtlsDir" . }}/tls.crt }
    private_key: { filename: {{ include "envoy-example.envoy.mtlsDir" . }}/tls.key }
    watched_directory: { path: {{ include "envoy-example.envoy.mtlsDir" . }} }
{{- end }}

{{- define "envoy-example.envoy.sdsValidation" -}}
# The mesh's CA (SDS secret mesh_ca), which every peer's certificate must
# chain to, from the same Secret volume.
resources:
- "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret
  name: mesh_ca
  validation_context:
    trusted_ca: { filename: {{ include "envoy-example.envoy.mtlsDir" . }}/ca.crt }
    watched_directory: { path: {{ include "envoy-example.envoy.mtlsDir" . }} }
{{- end }}
