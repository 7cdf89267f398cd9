// Package pins gathers what the image builder reads about the repository it
// builds: versions.mk's pins (through internal/repo, the one parser), the
// chart's Chart.yaml (appVersion, the tag of our images), go.mod (the module
// path, which gives the source repository) and, in vcs.go, the commit and
// time the images are labelled with.
package pins

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/envoy-example/envoy-example/internal/repo"
)

// Pins is what the builder needs to know about the repository it builds.
type Pins struct {
	// Versions holds versions.mk's pins (NAME := value).
	Versions repo.Pins
	// AppVersion is Chart.yaml's appVersion: the tag of our images.
	AppVersion string
	// Module is go.mod's module path.
	Module string
}

// Load reads versions.mk, charts/envoy-example/Chart.yaml and go.mod under root.
func Load(root string) (*Pins, error) {
	versions, err := repo.ReadPins(root)
	if err != nil {
		return nil, err
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
func (p *Pins) Version(name string) (string, error) { return p.Versions.Get(name) }

// SourceURL is the web address of the repository, derived from the module
// path (github.com/owner/repo → https://github.com/owner/repo).
func (p *Pins) SourceURL() string { return "https://" + p.Module }

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
