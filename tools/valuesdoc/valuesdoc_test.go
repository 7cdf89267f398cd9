package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The chart README's values table is what values.yaml gives today.
func TestChartReadmeIsCurrent(t *testing.T) {
	chart := filepath.Join("..", "..", "charts", "envoy-example")
	if err := run(filepath.Join(chart, "values.yaml"), filepath.Join(chart, "README.md"), true); err != nil {
		t.Fatal(err)
	}
}

func TestRows(t *testing.T) {
	values := []byte(`
# section note, not a description
services:
  user:
    # -- Number of user pods.
    replicas: 1
    # -- Resources of the app,
    # requests and limits.
    resources:
      requests: {cpu: 10m}
# -- Switch | off.
enabled: true
`)
	rs, err := rows(values)
	if err != nil {
		t.Fatal(err)
	}
	got := table(rs)
	for _, want := range []string{
		"| `services.user.replicas` | int | `1` | Number of user pods. |",
		"| `services.user.resources` | object | `{\"requests\":{\"cpu\":\"10m\"}}` | Resources of the app, requests and limits. |",
		"| `enabled` | bool | `true` | Switch \\| off. |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("table lacks %q:\n%s", want, got)
		}
	}
}

func TestUndocumentedKeyFails(t *testing.T) {
	_, err := rows([]byte("a:\n  b: 1\n"))
	if err == nil || !strings.Contains(err.Error(), "a.b") {
		t.Fatalf("want an error naming a.b, got %v", err)
	}
}

func TestSpliceNeedsMarkers(t *testing.T) {
	if _, err := splice([]byte("# no markers\n"), "x"); err == nil {
		t.Fatal("want an error without markers")
	}
	dir := t.TempDir()
	readme := filepath.Join(dir, "README.md")
	values := filepath.Join(dir, "values.yaml")
	os.WriteFile(values, []byte("# -- A.\na: 1\n"), 0o644)
	os.WriteFile(readme, []byte("top\n"+beginMarker+"old\n"+endMarker+"bottom\n"), 0o644)
	if err := run(values, readme, true); err == nil {
		t.Fatal("check passed on a stale README")
	}
	if err := run(values, readme, false); err != nil {
		t.Fatal(err)
	}
	if err := run(values, readme, true); err != nil {
		t.Fatalf("check after write: %v", err)
	}
}
