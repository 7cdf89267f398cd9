{{/*
Sidecar injection: the Envoy container (and with metrics.mode statsd the
statsd_exporter container) that every service pod and the ingress pod get,
and the volumes they mount. Pods that must not get them (Jaeger,
Prometheus, Grafana, the helm test pod) simply do not include these
templates.

Call with (dict "root" $ "component" "user" "native" true).
  native: true renders native sidecars (for initContainers): restartPolicy
  Always, so they start before the app (Envoy's startupProbe gates it) and
  stop after it. false renders plain containers (for containers): the ingress,
  whose Envoy is the whole pod, and clusters without native sidecars.

Order matters for native sidecars: statsd_exporter first, so that it
receives Envoy's first stats and stops last; Envoy second, so that the app
starts only once Envoy is ready.
*/}}
{{- define "envoy-example.sidecarContainers" -}}
{{- $root := .root -}}
{{- $envoy := $root.Values.envoy -}}
{{- $statsd := $root.Values.statsdExporter -}}
{{- if eq $root.Values.metrics.mode "statsd" -}}
- name: statsd-exporter
  image: {{ include "envoy-example.image" (dict "root" $root "image" $statsd.image) | quote }}
  imagePullPolicy: {{ $statsd.image.pullPolicy }}
  {{- if .native }}
  restartPolicy: Always
  {{- end }}
  command: ["/bin/statsd_exporter"]
  args:
    - --statsd.mapping-config=/etc/statsd-exporter/mapping.yaml
    # Envoy in this pod is the only sender.
    - --statsd.listen-udp=127.0.0.1:{{ include "envoy-example.port" (list $root "statsd") }}
    - --statsd.listen-tcp=
    - --web.listen-address=:{{ include "envoy-example.port" (list $root "statsdMetrics") }}
    - --log.level={{ $statsd.logLevel }}
  ports:
    - name: statsd-metrics
      containerPort: {{ include "envoy-example.port" (list $root "statsdMetrics") }}
      protocol: TCP
  readinessProbe:
    httpGet: { path: /, port: statsd-metrics }
    periodSeconds: 10
  livenessProbe:
    httpGet: { path: /, port: statsd-metrics }
    periodSeconds: 20
    failureThreshold: 3
  resources:
    {{- toYaml $statsd.resources | nindent 4 }}
  securityContext:
    {{- include "envoy-example.containerSecurityContext" $root | nindent 4 }}
  volumeMounts:
    - name: statsd-mapping
      mountPath: /etc/statsd-exporter
      readOnly: true
{{ end -}}
- name: envoy
  image: {{ include "envoy-example.image" (dict "root" $root "image" $envoy.image) | quote }}
  imagePullPolicy: {{ $envoy.image.pullPolicy }}
  {{- if .native }}
  restartPolicy: Always
  {{- end }}
  command: ["/usr/local/bin/envoy"]
  args:
    - --config-path
    - /etc/envoy/envoy.yaml
    # node.id: the pod name, so that each replica is told apart in logs and stats.
    - --service-node
    - $(POD_NAME)
    - --log-level
    - {{ $envoy.logLevel }}
    - --concurrency
    - {{ $envoy.concurrency | quote }}
    # At shutdown the preStop hook drains the inbound listener for this long.
    - --drain-time-s
    - {{ $envoy.drainTimeSeconds | quote }}
    - --drain-strategy
    - immediate
    # One Envoy per container: no hot restart, no shared memory needed.
    - --disable-hot-restart
  env:
    - name: POD_NAME
      valueFrom:
        fieldRef: { fieldPath: metadata.name }
  ports:
    # The Service port: named for the protocol behind it.
    - name: {{ (include "envoy-example.role" . | fromJson).protocol }}
      containerPort: {{ include "envoy-example.port" (list $root "service") }}
      protocol: TCP
    - name: envoy-ready
      containerPort: {{ include "envoy-example.port" (list $root "envoyReady") }}
      protocol: TCP
    {{- if eq $root.Values.metrics.mode "prometheus" }}
    # Prometheus scrapes GET /stats/prometheus here (the stats listener).
    - name: envoy-prom
      containerPort: {{ include "envoy-example.port" (list $root "envoyStats") }}
      protocol: TCP
    {{- end }}
  {{- if .native }}
  # The app container starts only once this passes.
  startupProbe:
    httpGet: { path: /ready, port: envoy-ready }
    periodSeconds: 1
    failureThreshold: 60
  {{- end }}
  readinessProbe:
    httpGet: { path: /ready, port: envoy-ready }
    periodSeconds: 5
  lifecycle:
    # Envoy exits at once on SIGTERM. Before that: wait for the app to exit
    # (at once for native sidecars, which stop after the app; bounded for
    # plain containers, which get SIGTERM together with the app), then fail
    # Envoy's health check, drain the inbound listener gracefully and give
    # the drain its time. The admin is on loopback only and the image has
    # no curl: bash's /dev/tcp speaks the two POSTs, so the image needs
    # /bin/bash and nothing else (the official image is Ubuntu-based). In an
    # image without bash the hook fails (a FailedPreStopHook event) and
    # Envoy exits on SIGTERM without this drain.
    preStop:
      exec:
        command:
          - /bin/bash
          - -c
          - |
            # Bash alone (no sleep binary): a read that times out.
            pause() { read -rt "$1" <> <(:) || :; }
            post() {
              exec 3<>/dev/tcp/127.0.0.1/{{ include "envoy-example.port" (list $root "envoyAdmin") }} || return 0
              printf 'POST %s HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nConnection: close\r\n\r\n' "$1" >&3
              while read -r -u 3 _; do :; done
              exec 3<&-
            }
            {{- if eq .component "ingress" }}
            # No app here: keep serving while kube-proxy takes this pod out
            # of the ingress Service, so new connections go elsewhere.
            pause {{ $root.Values.rollout.ingressDrainDelaySeconds }}
            {{- else }}
            for ((i = 0; i < {{ include "envoy-example.appExitWaitSeconds" $root }}; i++)); do
              (exec 4<>/dev/tcp/127.0.0.1/{{ include "envoy-example.port" (list $root "appOps") }}) 2>/dev/null || break
              pause 1
            done
            {{- end }}
            post /healthcheck/fail
            post '/drain_listeners?graceful&inboundonly'
            pause {{ $envoy.drainTimeSeconds }}
  resources:
    {{- toYaml $envoy.resources | nindent 4 }}
  securityContext:
    {{- include "envoy-example.containerSecurityContext" $root | nindent 4 }}
  volumeMounts:
    - name: envoy-config
      mountPath: /etc/envoy
      readOnly: true
    {{- if include "envoy-example.mtls" $root }}
    # The workload's certificate, key and CA (its Secret), for Envoy alone.
    - name: mtls
      mountPath: {{ include "envoy-example.envoy.mtlsDir" . }}
      readOnly: true
    {{- end }}
{{- end }}

{{/* The volumes the sidecar containers mount. Same arguments. */}}
{{- define "envoy-example.sidecarVolumes" -}}
- name: envoy-config
  configMap:
    name: {{ include "envoy-example.componentName" (dict "root" .root "component" (printf "%s-envoy" .component)) }}
{{- if include "envoy-example.mtls" .root }}
# Read by Envoy, which runs as the pod's user and group (fsGroup); nobody
# else gets the key.
- name: mtls
  secret:
    secretName: {{ include "envoy-example.mtlsSecretName" . }}
    defaultMode: 0440
{{- end }}
{{- if eq .root.Values.metrics.mode "statsd" }}
- name: statsd-mapping
  configMap:
    name: {{ include "envoy-example.componentName" (dict "root" .root "component" "statsd-mapping") }}
{{- end }}
{{- end }}

{{/*
Pod annotations that roll the pods when their sidecars' config changes.
*/}}
{{- define "envoy-example.sidecarChecksums" -}}
checksum/envoy: {{ include "envoy-example.envoyBootstrap" . | sha256sum }}
{{- if eq .root.Values.metrics.mode "statsd" }}
checksum/statsd-mapping: {{ include "envoy-example.statsdMapping" .root | sha256sum }}
{{- end }}
{{- end }}

{{/*
How long a plain-container Envoy waits for its app to exit before it drains:
the app's drain delay (--drain-delay) and its --shutdown-timeout, both given
to the app from rollout. A native sidecar's preStop runs once the app has
exited, so it does not wait at all.
*/}}
{{- define "envoy-example.appExitWaitSeconds" -}}
{{- add .Values.rollout.appDrainDelaySeconds .Values.rollout.appShutdownTimeoutSeconds }}
{{- end }}

{{/*
The pod's terminationGracePeriodSeconds: what its shutdown takes, plus 10 s
of margin. A service pod: the app's drain delay and drain (appExitWaitSeconds),
then Envoy's drain. The ingress: its drain delay, then Envoy's drain.
Call with (dict "root" $ "component" "user").
*/}}
{{- define "envoy-example.terminationGracePeriodSeconds" -}}
{{- $v := .root.Values -}}
{{- if eq .component "ingress" -}}
{{- add $v.rollout.ingressDrainDelaySeconds $v.envoy.drainTimeSeconds 10 }}
{{- else -}}
{{- add (include "envoy-example.appExitWaitSeconds" .root) $v.envoy.drainTimeSeconds 10 }}
{{- end -}}
{{- end }}

{{/*
The rolling update of every Deployment (rollout in values.yaml): a new pod
is Ready, and known to its callers, before an old one goes.
*/}}
{{- define "envoy-example.rolloutStrategy" -}}
minReadySeconds: {{ .Values.rollout.minReadySeconds }}
strategy:
  type: RollingUpdate
  rollingUpdate:
    maxSurge: {{ .Values.rollout.maxSurge }}
    maxUnavailable: {{ .Values.rollout.maxUnavailable }}
{{- end }}

{{/*
A pod template's annotations: the sidecars' config checksums (so a config
change rolls the pods) and rollout.podAnnotations. Call with
(dict "root" $ "component" "user" "checksums" true).
*/}}
{{- define "envoy-example.podAnnotations" -}}
{{- $extra := .root.Values.rollout.podAnnotations -}}
{{- if or .checksums $extra }}
annotations:
  {{- if .checksums }}
  {{- include "envoy-example.sidecarChecksums" (dict "root" .root "component" .component) | nindent 2 }}
  {{- end }}
  {{- with $extra }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end }}
{{- end }}
