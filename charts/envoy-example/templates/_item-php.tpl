{{/*
The item service's php implementation (services.item.implementation=php):
the legacy PHP application under PHP-FPM, reached through item-bridge, a Go
gRPC-to-FastCGI bridge. The bridge is the item app container (its image is
services.item.php.bridgeImage, its flags those of every app); PHP-FPM runs
in the container below, listening on 127.0.0.1:9000 only. Envoy, its
bootstrap, the Service and the callers do not change.

Order, with native sidecars: php-fpm is the last of them, so it starts
after Envoy and before the bridge (its startupProbe holds the bridge back
until PHP-FPM accepts connections), and it stops after the bridge, whose
drain delay still sends calls to it. With plain containers its preStop hook
waits for the bridge to exit first, as Envoy's does.

Call with (dict "root" $ "native" true).
*/}}
{{- define "envoy-example.phpFpmContainer" -}}
{{- $php := .root.Values.services.item.php -}}
- name: php-fpm
  image: {{ include "envoy-example.image" (dict "root" .root "image" $php.fpmImage) | quote }}
  imagePullPolicy: {{ $php.fpmImage.pullPolicy }}
  {{- if .native }}
  restartPolicy: Always
  {{- end }}
  # The image's entrypoint: PHP-FPM in the foreground with the image's
  # php.ini and pool config (127.0.0.1:9000, logs to stderr, no pid file).
  {{- if .native }}
  # The bridge starts once PHP-FPM accepts connections. The image has bash
  # and no other client; the listener is on loopback, out of reach of a
  # tcpSocket probe (which dials the pod IP).
  startupProbe:
    exec:
      command: ["/bin/bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/{{ include "envoy-example.port" (list .root "phpFpm") }}"]
    periodSeconds: 1
    failureThreshold: 30
  {{- else }}
  lifecycle:
    # PHP-FPM stops at once on SIGTERM; the bridge, told at the same time,
    # keeps taking calls for its drain delay. Wait (bounded) until the
    # bridge's ops port closes, that is until it has exited.
    preStop:
      exec:
        command:
          - /bin/bash
          - -c
          - |
            for ((i = 0; i < {{ include "envoy-example.appExitWaitSeconds" .root }}; i++)); do
              (exec 4<>/dev/tcp/127.0.0.1/{{ include "envoy-example.port" (list .root "appOps") }}) 2>/dev/null || break
              read -rt 1 <> <(:) || :
            done
  {{- end }}
  resources:
    {{- toYaml $php.fpmResources | nindent 4 }}
  securityContext:
    {{- include "envoy-example.containerSecurityContext" .root | nindent 4 }}
  volumeMounts:
    # The only writable place: opcache's lock file, PHP's temporary files.
    - name: php-tmp
      mountPath: /tmp
{{- end }}

{{/* The volume the php-fpm container mounts. */}}
{{- define "envoy-example.phpFpmVolumes" -}}
- name: php-tmp
  emptyDir:
    sizeLimit: 16Mi
{{- end }}
