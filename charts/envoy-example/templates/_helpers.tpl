{{/*
Names, labels and small shared pieces. Who calls whom is in _topology.tpl,
the sidecar containers in _sidecars.tpl, the Envoy bootstraps in
_envoy-sidecar.tpl and _envoy-ingress.tpl (their shared blocks in
_envoy-blocks.tpl).
*/}}

{{/* The chart name, for the app.kubernetes.io/name label. */}}
{{- define "envoy-example.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The prefix of every resource name: the release name, so that `helm install
demo` gives demo-frontend, demo-user, ... Envoy's clusters resolve these names.
*/}}
{{- define "envoy-example.fullname" -}}
{{- default .Release.Name .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- end }}

{{/*
The name of one component's resources (Deployment, Service, ConfigMap):
<prefix>-<component>. Call with (dict "root" $ "component" "user").
*/}}
{{- define "envoy-example.componentName" -}}
{{- printf "%s-%s" (include "envoy-example.fullname" .root) .component | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* chart label value: name-version. */}}
{{- define "envoy-example.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Selector labels of one component. Prometheus relabels app.kubernetes.io/component
into the `app` label, and the e2e test and NOTES select pods by these.
Call with (dict "root" $ "component" "user").
*/}}
{{- define "envoy-example.selectorLabels" -}}
app.kubernetes.io/name: {{ include "envoy-example.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* The standard labels of every object of one component. */}}
{{- define "envoy-example.labels" -}}
helm.sh/chart: {{ include "envoy-example.chart" .root }}
{{ include "envoy-example.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: {{ include "envoy-example.name" .root }}
{{- end }}

{{/*
The fully qualified DNS name of one component's Service. Envoy's STRICT_DNS
clusters resolve it; for a headless Service every ready pod is an A record.
*/}}
{{- define "envoy-example.serviceFQDN" -}}
{{- printf "%s.%s.svc.%s" (include "envoy-example.componentName" .) .root.Release.Namespace .root.Values.clusterDomain }}
{{- end }}

{{/*
An image reference from an image block {repository, tag}; our own images
default their tag to the chart's appVersion.
Call with (dict "root" $ "image" .Values.services.user.image).
*/}}
{{- define "envoy-example.image" -}}
{{- printf "%s:%s" .image.repository (default .root.Chart.AppVersion .image.tag) }}
{{- end }}

{{/* Pod security context for the "restricted" Pod Security Standard. */}}
{{- define "envoy-example.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65534
runAsGroup: 65534
fsGroup: 65534
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Container security context for the "restricted" Pod Security Standard. */}}
{{- define "envoy-example.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* imagePullSecrets of every pod, when set. */}}
{{- define "envoy-example.imagePullSecrets" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/*
Whole seconds of a Go duration made of h, m and s parts ("3m", "1m30s",
"90s"); the schema only lets those through.
*/}}
{{- define "envoy-example.durationSeconds" -}}
{{- $total := 0 }}
{{- range regexFindAll "[0-9]+[hms]" . -1 }}
{{- $n := trimSuffix "h" (trimSuffix "m" (trimSuffix "s" .)) | atoi }}
{{- if hasSuffix "h" . }}{{ $n = mul $n 3600 }}{{ else if hasSuffix "m" . }}{{ $n = mul $n 60 }}{{ end }}
{{- $total = add $total $n }}
{{- end }}
{{- $total }}
{{- end }}

{{/*
NOTES.txt: how to reach one Service for its type: a NodePort URL (kind,
minikube), a LoadBalancer address, or a port-forward.
*/}}
{{- define "envoy-example.notesURL" }}
{{- if eq .service.type "NodePort" }}
{{- if .service.nodePort }}
   kind (ci/kind.yaml maps node port {{ .service.nodePort }} to localhost):
     http://localhost:{{ .service.nodePort }}{{ .path }}
   minikube:
     echo "http://$(minikube ip):{{ .service.nodePort }}{{ .path }}"
{{- else }}
   NODE_PORT=$(kubectl --namespace {{ .ns }} get service {{ .svc }} -o jsonpath='{.spec.ports[0].nodePort}')
   NODE_IP=$(kubectl get nodes -o jsonpath='{.items[0].status.addresses[?(@.type=="InternalIP")].address}')
   echo "http://$NODE_IP:$NODE_PORT{{ .path }}"
{{- end }}
{{- else if eq .service.type "LoadBalancer" }}
   LB=$(kubectl --namespace {{ .ns }} get service {{ .svc }} -o jsonpath='{.status.loadBalancer.ingress[0].ip}')
   echo "http://$LB:{{ .port }}{{ .path }}"
{{- else }}
   kubectl --namespace {{ .ns }} port-forward service/{{ .svc }} {{ .port }}:{{ .port }}
   then http://localhost:{{ .port }}{{ .path }}
{{- end }}
{{- end }}
