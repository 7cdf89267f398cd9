package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/envoy-example/envoy-example/charts/render"
)

// template names the chart template each role's bootstrap comes from.
func template(role string) string {
	if role == "ingress" {
		return "templates/_envoy-ingress.tpl"
	}
	return "templates/_envoy-sidecar.tpl"
}

// header says what a file is, where it comes from and how it stays current.
func header(role string) string {
	return fmt.Sprintf(`# envoy/%[1]s.yaml: the Envoy bootstrap of %[2]s, as the chart renders it for
#   helm install %[3]s charts/envoy-example   (namespace %[4]s, default values)
# Generated from charts/envoy-example/%[5]s by `+"`make generate`"+`
# (tools/envoyconfigs); `+"`make test`"+` fails when it is stale. Do not edit: change
# the chart. Names that depend on the release or namespace (%[3]s-*, .%[4]s.svc)
# are those of this install.

`, role, describe(role), render.DefaultRelease, render.DefaultNamespace, template(role))
}

func describe(role string) string {
	if role == "ingress" {
		return "the ingress (the mesh's front door)"
	}
	return "the " + role + " sidecar"
}

// sdsHeader says what an SDS file is: the same in every role's ConfigMap.
func sdsHeader(name string) string {
	return fmt.Sprintf(`# envoy/%[1]s: the file-based SDS resource every Envoy reads from
#   /etc/envoy/%[1]s (mtls.enabled, the default), as the chart renders it for
#   helm install %[2]s charts/envoy-example   (namespace %[3]s, default values)
# It is the same in each role's ConfigMap, beside envoy.yaml.
# Generated from charts/envoy-example/templates/_envoy-mtls.tpl by `+"`make generate`"+`
# (tools/envoyconfigs); `+"`make test`"+` fails when it is stale. Do not edit: change
# the chart.

`, name, render.DefaultRelease, render.DefaultNamespace)
}

// files renders the chart with its defaults and returns each file's content
// by name: one bootstrap per role (ingress.yaml, frontend.yaml, ...) and
// the SDS files, once, after checking that every role has the same.
func files() (map[string][]byte, error) {
	rel, err := render.Render(render.Options{})
	if err != nil {
		return nil, err
	}
	all, err := rel.EnvoyFiles()
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	sds := map[string]string{}
	for role, files := range all {
		for name, text := range files {
			if name == "envoy.yaml" {
				out[role+".yaml"] = []byte(header(role) + strings.TrimRight(text, "\n") + "\n")
				continue
			}
			if prev, ok := sds[name]; ok && prev != text {
				return nil, fmt.Errorf("%s differs between roles: envoy/ would need one per role", name)
			}
			sds[name] = text
			out[name] = []byte(sdsHeader(name) + strings.TrimRight(text, "\n") + "\n")
		}
	}
	return out, nil
}

// run writes the files into dir, removes rendered files of roles that no
// longer exist, or with check only reports what differs.
func run(dir string, check bool) error {
	want, err := files()
	if err != nil {
		return err
	}
	var stale []string
	existing, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return err
	}
	for _, p := range existing {
		if _, ok := want[filepath.Base(p)]; !ok {
			stale = append(stale, p+" (no such role or file)")
			if !check {
				if err := os.Remove(p); err != nil {
					return err
				}
			}
		}
	}
	names := make([]string, 0, len(want))
	for n := range want {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		p := filepath.Join(dir, n)
		have, err := os.ReadFile(p)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		if bytes.Equal(have, want[n]) {
			continue
		}
		stale = append(stale, p)
		if !check {
			if err := os.WriteFile(p, want[n], 0o644); err != nil {
				return err
			}
		}
	}
	if check && len(stale) > 0 {
		return fmt.Errorf("stale, run `make generate` and commit: %s", strings.Join(stale, ", "))
	}
	return nil
}
