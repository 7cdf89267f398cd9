{{/*
The chart's ports, named once in ports.yaml at the chart's root (which the Go
tests read too, through render.Ports). One port by its name, failing on a
name ports.yaml does not have. Call with (list $ "envoyAdmin").
*/}}
{{- define "envoy-example.port" -}}
{{- $root := index . 0 -}}
{{- $name := index . 1 -}}
{{- $ports := $root.Files.Get "ports.yaml" | fromYaml -}}
{{- if not (hasKey $ports $name) -}}
{{- fail (printf "no port %q in the chart's ports.yaml" $name) -}}
{{- end -}}
{{- index $ports $name | int -}}
{{- end }}
