{{/*
The mesh's topology, defined once: who is who and who calls whom. Every
template that needs to know reads it from here (the Envoy bootstraps, the
Deployments, the apps' flags), so a new call is one edit here, and a new
service is its entry here plus its block in values.yaml and in
values.schema.json (which rejects unknown services).

It is the apps' code, not a setting, so it is not in values.yaml: frontend's
code calls user and order, order's calls item.

  protocol     what the role serves on its Service port: grpc (HTTP/2) or
               http (HTTP/1.1). It is the port's name and picks the codec.
  grpcService  the gRPC service the app serves: callers' routes match
               /<grpcService>/, and health checks ask grpc.health.v1 for it.
  healthCheck  http services only: the path callers' Envoys check, and the
               port it is on (the app's ops port, which answers 503 while the
               app drains).
  calls        the services the app reaches through its Envoy's egress
               listener (127.0.0.1:7070). The app gets one flag per callee,
               --<callee>-addr; its Envoy gets one cluster per callee, and
               health-checks only those.
  seeded       the app serves generated data: it gets --seed-scale, the one
               seedScale of values.yaml (the seeded apps must agree on it).

ingress is the one caller from outside the mesh: an Envoy without an app.
*/}}
{{- define "envoy-example.topology" -}}
ingress:
  protocol: http
  calls: [frontend]
frontend:
  protocol: http
  healthCheck: { path: /readyz, port: {{ include "envoy-example.port" (list . "appOps") }} }
  calls: [user, order]
user:
  protocol: grpc
  seeded: true
  grpcService: user.v1.UserService
  calls: []
order:
  protocol: grpc
  seeded: true
  grpcService: order.v1.OrderService
  calls: [item]
item:
  protocol: grpc
  seeded: true
  grpcService: item.v1.ItemService
  calls: []
{{- end }}

{{/*
One role's entry of the topology, as a dict, with its name added.
Call with (dict "root" $ "component" "user").
*/}}
{{- define "envoy-example.role" -}}
{{- $role := get (include "envoy-example.topology" .root | fromYaml) .component -}}
{{- if not $role }}{{ fail (printf "no role %q in the topology (_topology.tpl)" .component) }}{{ end -}}
{{- $_ := set $role "name" .component -}}
{{- toJson $role -}}
{{- end }}
