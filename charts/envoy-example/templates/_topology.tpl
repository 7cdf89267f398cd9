{{/*
The mesh's topology: who is who and who calls whom, read from values.yaml's
services (docs/your-service.md). Every template that needs to know reads it
from here (the Envoy bootstraps, the Deployments, the apps' flags, the
identities and RBAC, the smoke test's hops), so a new service is its entry
under services and nothing else.

One role per service, with what values.yaml says of it:
  protocol     what the app serves on its Service port: grpc (HTTP/2) or
               http (HTTP/1.1). It is the port's name and picks the codec.
  grpcService  grpc: the gRPC service the app serves: callers' routes match
               /<grpcService>/, and health checks ask grpc.health.v1 for it.
  healthCheck  http: the path callers' Envoys check. A demo app answers it
               on its ops port (port below: 503 while it drains); your own
               app through its Envoy, on its own port.
  calls        the services the app reaches through its Envoy's egress
               listener (127.0.0.1:7070). Its Envoy gets one cluster per
               callee and health-checks only those; each callee admits it.
               values.yaml writes a call as the callee's name, or as
               {service, methods} for a gRPC callee that admits it to those
               methods only (per-method authorization).
  methods      callee -> the gRPC methods the app may call there (from the
               calls written with methods); a callee not here: any method.
  demo         true for the demo's own apps (no args in values): the chart
               passes them their flags (--listen, --<callee>-addr, ...).
  port         the app's port on 127.0.0.1 (values port, else ports.yaml's app).
  seeded       a demo app that serves generated data: --seed-scale.

and the ingress, the one caller from outside the mesh (an Envoy without an
app), whose calls are the services with an ingressPrefix, in its routes'
order (the longest prefix first).

A values mistake the schema cannot see (it checks one key at a time) fails
here, naming the key.
*/}}
{{- define "envoy-example.topology" -}}
{{- $services := .Values.services -}}
{{- $appPort := include "envoy-example.port" (list . "app") | int -}}
{{- $roles := dict -}}
{{- $routes := dict -}}
{{- $grpcServices := dict -}}
{{- $reserved := list "ingress" "jaeger" "jaeger-query" "jaeger-zipkin" "prometheus" "grafana" "smoke" "certgen" "certgen-delete" "dashboards" "statsd-mapping" -}}
{{- range $name, $svc := $services -}}
{{- if has $name $reserved -}}
{{- fail (printf "services.%s: %s is a name of the chart's own (%s): its resources would be another's" $name $name (join ", " $reserved)) -}}
{{- end -}}
{{- $demo := not (hasKey $svc "args") -}}
{{- if and (not $demo) (not $svc.image.tag) -}}
{{- fail (printf "services.%s.image.tag: your image needs its tag (the chart's appVersion is for the demo's images)" $name) -}}
{{- end -}}
{{- $calls := list -}}
{{- $methods := dict -}}
{{- range $i, $call := $svc.calls | default list -}}
{{- $callee := $call -}}
{{- if kindIs "map" $call -}}
{{- $callee = $call.service -}}
{{- $_ := set $methods $callee $call.methods -}}
{{- end -}}
{{- if not (hasKey $services $callee) -}}
{{- fail (printf "services.%s.calls[%d]: no service %q (services.%s is not defined)" $name $i $callee $callee) -}}
{{- end -}}
{{- if and (hasKey $methods $callee) (ne (get $services $callee).protocol "grpc") -}}
{{- fail (printf "services.%s.calls[%d].methods: %s is an http service; methods are gRPC methods" $name $i $callee) -}}
{{- end -}}
{{- if has $callee $calls -}}
{{- fail (printf "services.%s.calls[%d]: %s is called twice" $name $i $callee) -}}
{{- end -}}
{{- $calls = append $calls $callee -}}
{{- end -}}
{{- $role := dict "name" $name "protocol" $svc.protocol "calls" $calls "methods" $methods "demo" $demo "port" ($svc.port | default $appPort | int) -}}
{{- if eq $svc.protocol "grpc" -}}
{{- with get $grpcServices $svc.grpcService -}}
{{- fail (printf "services.%s.grpcService: %s is services.%s's already (callers route by it)" $name $svc.grpcService .) -}}
{{- end -}}
{{- $_ := set $grpcServices $svc.grpcService $name -}}
{{- $_ := set $role "grpcService" $svc.grpcService -}}
{{- else -}}
{{- $check := dict "path" $svc.healthCheck.path -}}
{{- if $demo -}}
{{- $_ := set $check "port" (include "envoy-example.port" (list $ "appOps") | int) -}}
{{- end -}}
{{- $_ := set $role "healthCheck" $check -}}
{{- end -}}
{{- if $svc.seeded -}}
{{- if not $demo }}{{ fail (printf "services.%s.seeded: only the demo's apps take --seed-scale (services.%s has args)" $name $name) }}{{ end -}}
{{- $_ := set $role "seeded" true -}}
{{- end -}}
{{- with $svc.ingressPrefix -}}
{{- with get $routes . -}}
{{- fail (printf "services.%s.ingressPrefix: %s is services.%s's already" $name $svc.ingressPrefix .) -}}
{{- end -}}
{{- $_ := set $routes . $name -}}
{{- end -}}
{{- $_ := set $roles $name $role -}}
{{- end -}}
{{- range $name, $faults := $.Values.faults -}}
{{- $svc := get $services $name -}}
{{- if not $svc -}}
{{- fail (printf "faults.%s: no service %q (services.%s is not defined)" $name $name $name) -}}
{{- end -}}
{{- if and (eq $svc.protocol "grpc") (hasKey ($faults.abort | default dict) "httpStatus") -}}
{{- fail (printf "faults.%s.abort.httpStatus: %s is a grpc service, its aborts take a grpcStatus" $name $name) -}}
{{- end -}}
{{- if and (eq $svc.protocol "http") (hasKey ($faults.abort | default dict) "grpcStatus") -}}
{{- fail (printf "faults.%s.abort.grpcStatus: %s is an http service, its aborts take an httpStatus" $name $name) -}}
{{- end -}}
{{- end -}}
{{- /* The ingress's routes, the longest prefix first: Envoy takes the first
       route that matches, and "/" matches everything. */ -}}
{{- $order := list -}}
{{- range $prefix, $name := $routes -}}
{{- $order = append $order (printf "%04d %s" (sub 1000 (len $prefix)) $prefix) -}}
{{- end -}}
{{- $ingressRoutes := list -}}
{{- $ingressCalls := list -}}
{{- range sortAlpha $order -}}
{{- $prefix := (splitn " " 2 .)._1 -}}
{{- $name := get $routes $prefix -}}
{{- $ingressRoutes = append $ingressRoutes (dict "prefix" $prefix "service" $name) -}}
{{- if not (has $name $ingressCalls) }}{{ $ingressCalls = append $ingressCalls $name }}{{ end -}}
{{- end -}}
{{- $_ := set $roles "ingress" (dict "name" "ingress" "protocol" "http" "calls" $ingressCalls "methods" dict "routes" $ingressRoutes "demo" false) -}}
{{- toJson $roles -}}
{{- end }}

{{/*
One role's entry of the topology, as JSON. Call with (dict "root" $
"component" "user").
*/}}
{{- define "envoy-example.role" -}}
{{- $role := get (include "envoy-example.topology" .root | fromJson) .component -}}
{{- if not $role }}{{ fail (printf "no service %q in services" .component) }}{{ end -}}
{{- toJson $role -}}
{{- end }}

{{/*
The hops of the demo's own path, GET / (the report), as the smoke test
checks them: ingress -> the service at prefix "/", and every call of a demo
app. Your own services' hops carry traffic only when something calls them,
so the smoke test leaves them out. A JSON list of "caller->callee".
*/}}
{{- define "envoy-example.demoHops" -}}
{{- $topology := include "envoy-example.topology" . | fromJson -}}
{{- $hops := list -}}
{{- range $topology.ingress.routes -}}
{{- if eq .prefix "/" }}{{ $hops = append $hops (printf "ingress->%s" .service) }}{{ end -}}
{{- end -}}
{{- range $name, $role := $topology -}}
{{- if $role.demo -}}
{{- range $role.calls }}{{ $hops = append $hops (printf "%s->%s" $name .) }}{{ end -}}
{{- end -}}
{{- end -}}
{{- toJson $hops -}}
{{- end }}

{{/* The services of the demo's path whose spans a report's trace holds: the ingress and the demo apps. A JSON list. */}}
{{- define "envoy-example.demoTraceServices" -}}
{{- $names := list "ingress" -}}
{{- range $name, $role := include "envoy-example.topology" . | fromJson -}}
{{- if $role.demo }}{{ $names = append $names $name }}{{ end -}}
{{- end -}}
{{- toJson $names -}}
{{- end }}
