package charttest

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/envoy-example/envoy-example/charts/render"
)

// ports are the chart's ports.yaml (render.Ports), read once.
func ports(t *testing.T) map[string]int32 {
	t.Helper()
	p, err := render.Ports()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// port is one port of ports.yaml by name.
func port(t *testing.T, name string) int32 {
	t.Helper()
	p, ok := ports(t)[name]
	if !ok {
		t.Fatalf("no port %q in the chart's ports.yaml", name)
	}
	return p
}

// templateComments are what a template says to its reader only: template
// comments, and YAML or shell comments (a whole line, or the end of one).
var templateComments = regexp.MustCompile(`(?s)\{\{-?\s*/\*.*?\*/\s*-?\}\}|(?m)^[ \t]*#[^\n]*$|[ \t]#[ \t][^\n]*`)

// Ports are named once: the service pod's ports differ from each other,
// every port of ports.yaml is used by a template, and no template spells a
// port's number instead of its name (comments may).
func TestPortsAreNamedOnce(t *testing.T) {
	p := ports(t)
	pod := []string{"service", "egress", "app", "appOps", "envoyAdmin", "envoyReady", "envoyStats", "statsd", "statsdMetrics", "phpFpm"}
	seen := map[int32]string{}
	for _, name := range pod {
		n, ok := p[name]
		if !ok {
			t.Errorf("no port %s in ports.yaml", name)
			continue
		}
		if other, ok := seen[n]; ok {
			t.Errorf("ports %s and %s are both %d in a service pod", other, name, n)
		}
		seen[n] = name
	}

	files, err := filepath.Glob(filepath.Join(chartDir(t), "templates", "*"))
	if err != nil {
		t.Fatal(err)
	}
	tests, _ := filepath.Glob(filepath.Join(chartDir(t), "templates", "tests", "*"))
	files = append(files, tests...)
	used := map[string]bool{}
	for _, f := range files {
		if fi, err := os.Stat(f); err != nil || fi.IsDir() {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		code := templateComments.ReplaceAllString(string(b), "")
		for name, n := range p {
			if strings.Contains(code, fmt.Sprintf("%q)", name)) {
				used[name] = true
			}
			if m := regexp.MustCompile(fmt.Sprintf(`\b%d\b`, n)).FindString(code); m != "" {
				t.Errorf("%s spells port %s as %s: use {{ include \"envoy-example.port\" (list $ %q) }}", filepath.Base(f), name, m, name)
			}
		}
	}
	var unused []string
	for name := range p {
		if !used[name] {
			unused = append(unused, name)
		}
	}
	slices.Sort(unused)
	if len(unused) > 0 {
		t.Errorf("ports.yaml names ports no template uses: %v", unused)
	}
}

// A port renamed or misspelt in a template fails the render, naming it.
func TestUnknownPortFailsTheRender(t *testing.T) {
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(chartDir(t))); err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(dir, "templates", "_envoy-blocks.tpl")
	b, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(b), `(list .root "envoyAdmin")`, `(list .root "envoyAdmn")`, 1)
	if broken == string(b) {
		t.Fatal("_envoy-blocks.tpl does not read envoyAdmin")
	}
	if err := os.WriteFile(f, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = render.Render(render.Options{ChartDir: dir})
	if err == nil || !strings.Contains(err.Error(), `no port "envoyAdmn" in the chart's ports.yaml`) {
		t.Fatalf("render with a misspelt port: %v", err)
	}
}
