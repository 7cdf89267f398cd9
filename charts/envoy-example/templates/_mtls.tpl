{{/*
Mutual TLS between the sidecars (DESIGN.md, "Mutual TLS"): who each
workload is and who may call it. The Envoy blocks that use these are in
_envoy-mtls.tpl; the certificates come from the certgen hook Jobs
(mtls-certgen.yaml) or from cert-manager (mtls-certificates.yaml).
*/}}

{{/*
"true" when the sidecars speak mTLS to each other: mtls.enabled, and
sidecars to do it (with sidecars.enabled=false the apps talk plain to each
other and the ingress to frontend's app). Empty otherwise.
*/}}
{{- define "envoy-example.mtls" -}}
{{- if and .Values.mtls.enabled .Values.sidecars.enabled }}true{{ end -}}
{{- end }}

{{/* "true" when cert-manager, not certgen, makes the certificates. */}}
{{- define "envoy-example.mtlsCertManager" -}}
{{- if .Values.mtls.certManager.issuerRef.name }}true{{ end -}}
{{- end }}

{{/*
The workloads that get a ServiceAccount, an identity and a certificate:
every role of the topology (the ingress and every service).
*/}}
{{- define "envoy-example.workloads" -}}
{{- keys (include "envoy-example.topology" . | fromJson) | sortAlpha | toJson -}}
{{- end }}

{{/*
One workload's ServiceAccount, named like its Deployment. Its name is the
workload's identity. Call with (dict "root" $ "component" "user").
*/}}
{{- define "envoy-example.serviceAccountName" -}}
{{- include "envoy-example.componentName" . -}}
{{- end }}

{{/* The SPIFFE trust domain: mtls.trustDomain, else clusterDomain. */}}
{{- define "envoy-example.trustDomain" -}}
{{- default .Values.clusterDomain .Values.mtls.trustDomain -}}
{{- end }}

{{/*
A workload's identity, the one URI SAN of its certificate:
spiffe://<trust domain>/ns/<namespace>/sa/<service account>, as Istio
names its workloads. Call with (dict "root" $ "component" "user").
*/}}
{{- define "envoy-example.spiffeID" -}}
{{- printf "spiffe://%s/ns/%s/sa/%s" (include "envoy-example.trustDomain" .root) .root.Release.Namespace (include "envoy-example.serviceAccountName" .) -}}
{{- end }}

{{/* The Secret with a workload's tls.crt, tls.key and ca.crt. Same arguments. */}}
{{- define "envoy-example.mtlsSecretName" -}}
{{- include "envoy-example.componentName" (dict "root" .root "component" (printf "%s-mtls" .component)) -}}
{{- end }}

{{/*
Who may call a workload: every role whose calls name it in the topology
(_topology.tpl), as a JSON list. In the demo, user and order: [frontend];
item: [order]; frontend: [ingress]; ingress: [] (its callers are outside
the mesh).
Call with (dict "root" $ "component" "user").
*/}}
{{- define "envoy-example.callers" -}}
{{- $callers := list -}}
{{- range $name, $role := include "envoy-example.topology" .root | fromJson -}}
{{- if has $.component $role.calls }}{{ $callers = append $callers $name }}{{ end -}}
{{- end -}}
{{- $callers | sortAlpha | toJson -}}
{{- end }}

{{/*
certificateLifetime in whole hours (the schema allows only "<n>h"), checked
against the upper bound the schema cannot express.
*/}}
{{- define "envoy-example.mtlsLifetimeHours" -}}
{{- $h := trimSuffix "h" .Values.mtls.certificateLifetime | atoi -}}
{{- if or (lt $h 1) (gt $h 8760) }}{{ fail (printf "mtls.certificateLifetime %s: between 1h and 8760h (a year)" .Values.mtls.certificateLifetime) }}{{ end -}}
{{- $h -}}
{{- end }}
