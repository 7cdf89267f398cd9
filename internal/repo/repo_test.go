package repo

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParsePins(t *testing.T) {
	got, err := ParsePins([]byte(`# comment
ENVOY_VERSION := 1.40.0
# Prometheus v3.16.0 is module v0.316.0 ($(NOT_A_REFERENCE) in a comment is fine)
PROMETHEUS_MODULE_VERSION := v0.316.0   # trailing comment
LAZY = x y

  DEFAULTED ?= y
`))
	if err != nil {
		t.Fatal(err)
	}
	want := Pins{"ENVOY_VERSION": "1.40.0", "PROMETHEUS_MODULE_VERSION": "v0.316.0", "LAZY": "x y", "DEFAULTED": "y"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}

func TestParsePinsRefusesWhatItCannotRead(t *testing.T) {
	for _, bad := range []string{
		"all: test\n",
		"A := $(B)\n",
		"just words\n",
	} {
		if _, err := ParsePins([]byte(bad)); err == nil {
			t.Errorf("ParsePins(%q) succeeded", bad)
		}
	}
}

func TestGetNamesVersionsMk(t *testing.T) {
	p := Pins{"A": "1", "EMPTY": ""}
	if v, err := p.Get("A"); err != nil || v != "1" {
		t.Errorf("Get(A) = %q, %v", v, err)
	}
	for _, name := range []string{"EMPTY", "MISSING"} {
		if _, err := p.Get(name); err == nil || !strings.Contains(err.Error(), "versions.mk has no "+name) {
			t.Errorf("Get(%s) error = %v", name, err)
		}
	}
}

// The root is found from any directory below it, and its versions.mk holds
// the pins that the tests, the image builder and the bench read.
func TestRootAndTheRepositorysPins(t *testing.T) {
	root, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "internal", "repo", "repo.go")); err != nil {
		t.Fatalf("Root() = %s, which does not hold this package: %v", root, err)
	}
	pins, err := ReadPins(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"ENVOY_VERSION", "STATSD_EXPORTER_VERSION", "PROMETHEUS_VERSION", "PROMETHEUS_MODULE_VERSION",
		"JAEGER_VERSION", "JAEGER_MODULE_VERSION", "COREDNS_VERSION", "PAUSE_VERSION", "FORTIO_VERSION"} {
		if _, err := pins.Get(name); err != nil {
			t.Error(err)
		}
	}
	if v, err := Pin("ENVOY_VERSION"); err != nil || v != pins["ENVOY_VERSION"] {
		t.Errorf("Pin(ENVOY_VERSION) = %q, %v; ReadPins has %q", v, err, pins["ENVOY_VERSION"])
	}
}

func TestRootOutsideTheRepository(t *testing.T) {
	t.Chdir(t.TempDir())
	if _, err := Root(); err == nil || !strings.Contains(err.Error(), "not inside the envoy-example repository") {
		t.Fatalf("Root() outside the repository: %v", err)
	}
}
