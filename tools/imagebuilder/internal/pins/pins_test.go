package pins

import (
	"testing"

	"github.com/envoy-example/envoy-example/internal/repo"
)

func TestAppVersion(t *testing.T) {
	for in, want := range map[string]string{
		"apiVersion: v2\nversion: 0.2.0\nappVersion: \"0.1.0\"\n": "0.1.0",
		"appVersion: 1.2.3 # the images' tag\n":                   "1.2.3",
		"appVersion: '7'\n":                                       "7",
	} {
		got, err := AppVersion([]byte(in))
		if err != nil || got != want {
			t.Errorf("AppVersion(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	// A nested key of the same name is not the chart's appVersion.
	if _, err := AppVersion([]byte("dependencies:\n  - appVersion: 9\n")); err == nil {
		t.Error("AppVersion took a nested key")
	}
}

// The repository's own files parse, and hold every pin the builder reads.
func TestLoadRepository(t *testing.T) {
	root := repoRoot(t)
	p, err := Load(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"ENVOY_VERSION", "STATSD_EXPORTER_VERSION", "PROMETHEUS_VERSION",
		"PROMETHEUS_MODULE_VERSION", "JAEGER_VERSION", "JAEGER_MODULE_VERSION", "COREDNS_VERSION", "PAUSE_VERSION"} {
		if _, err := p.Version(name); err != nil {
			t.Error(err)
		}
	}
	if p.AppVersion == "" || p.Module != "github.com/envoy-example/envoy-example" {
		t.Errorf("AppVersion %q, Module %q", p.AppVersion, p.Module)
	}
	if got := p.SourceURL(); got != "https://github.com/envoy-example/envoy-example" {
		t.Errorf("SourceURL = %q", got)
	}
}

func TestEpochHonoursSourceDateEpoch(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	got, err := Epoch(repoRoot(t))
	if err != nil || got.Unix() != 1700000000 {
		t.Fatalf("Epoch = %v, %v", got, err)
	}
	t.Setenv("SOURCE_DATE_EPOCH", "yesterday")
	if _, err := Epoch(repoRoot(t)); err == nil {
		t.Fatal("a malformed SOURCE_DATE_EPOCH was accepted")
	}
}

func TestContentEpoch(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "")
	if got, err := ContentEpoch(); err != nil || got.Unix() != 0 {
		t.Fatalf("ContentEpoch = %v, %v; want the Unix epoch", got, err)
	}
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	if got, err := ContentEpoch(); err != nil || got.Unix() != 1700000000 {
		t.Fatalf("ContentEpoch = %v, %v", got, err)
	}
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	return root
}
