// Package pins reads the project's single sources of truth for versions and
// names at run time: versions.mk (component pins), the chart's Chart.yaml
// (appVersion, the tag of our images) and go.mod (the module path, which
// gives the source repository).
package pins

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Pins is what the builder needs to know about the repository it builds.
type Pins struct {
	// Versions holds versions.mk's simple assignments (NAME := value).
	Versions map[string]string
	// AppVersion is Chart.yaml's appVersion: the tag of our images.
	AppVersion string
	// Module is go.mod's module path.
	Module string
}

// Load reads versions.mk, charts/envoy-example/Chart.yaml and go.mod under root.
func Load(root string) (*Pins, error) {
	vb, err := os.ReadFile(filepath.Join(root, "versions.mk"))
	if err != nil {
		return nil, err
	}
	versions, err := ParseMake(vb)
	if err != nil {
		return nil, fmt.Errorf("versions.mk: %w", err)
	}
	cb, err := os.ReadFile(filepath.Join(root, "charts", "envoy-example", "Chart.yaml"))
	if err != nil {
		return nil, fmt.Errorf("the chart's appVersion tags our images: %w", err)
	}
	app, err := AppVersion(cb)
	if err != nil {
		return nil, fmt.Errorf("charts/envoy-example/Chart.yaml: %w", err)
	}
	mb, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return nil, err
	}
	mod, err := ModulePath(mb)
	if err != nil {
		return nil, fmt.Errorf("go.mod: %w", err)
	}
	return &Pins{Versions: versions, AppVersion: app, Module: mod}, nil
}

// Version returns the pin called name, or an error naming versions.mk.
func (p *Pins) Version(name string) (string, error) {
	v, ok := p.Versions[name]
	if !ok || v == "" {
		return "", fmt.Errorf("versions.mk has no %s", name)
	}
	return v, nil
}

// SourceURL is the web address of the repository, derived from the module
// path (github.com/owner/repo → https://github.com/owner/repo).
func (p *Pins) SourceURL() string { return "https://" + p.Module }

// ParseMake reads the assignments of a makefile that only assigns plain
// values (NAME := value, NAME = value, NAME ?= value); comments and blank
// lines are skipped. Anything else (rules, references to other variables)
// is an error, so that a pin the parser cannot read is never silently wrong.
func ParseMake(b []byte) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if i := strings.Index(line, "#"); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		if line == "" {
			continue
		}
		var name, value string
		found := false
		for _, op := range []string{":=", "?=", "="} {
			if i := strings.Index(line, op); i > 0 {
				name, value = strings.TrimSpace(line[:i]), strings.TrimSpace(line[i+len(op):])
				found = true
				break
			}
		}
		if !found || name == "" || strings.ContainsAny(name, " \t:$") {
			return nil, fmt.Errorf("line %d: not a plain assignment: %q", n, line)
		}
		if strings.Contains(value, "$") {
			return nil, fmt.Errorf("line %d: %s refers to another variable; pins must be literal", n, name)
		}
		out[name] = value
	}
	return out, sc.Err()
}

// AppVersion returns the top-level appVersion of a Chart.yaml, unquoted.
// Chart.yaml is flat for this key, so a line scan is exact and avoids
// a YAML dependency for one field.
func AppVersion(chart []byte) (string, error) {
	sc := bufio.NewScanner(bytes.NewReader(chart))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "appVersion:") {
			continue
		}
		v := strings.TrimSpace(strings.TrimPrefix(line, "appVersion:"))
		if i := strings.Index(v, " #"); i >= 0 {
			v = strings.TrimSpace(v[:i])
		}
		v = strings.Trim(v, `"'`)
		if v == "" {
			return "", fmt.Errorf("appVersion is empty")
		}
		return v, nil
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", fmt.Errorf("no top-level appVersion")
}

// ModulePath returns the module path declared in a go.mod file.
func ModulePath(gomod []byte) (string, error) {
	sc := bufio.NewScanner(bytes.NewReader(gomod))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && f[0] == "module" {
			return strings.Trim(f[1], `"`), nil
		}
	}
	return "", fmt.Errorf("no module line")
}
