package envoyproc_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/envoy-example/envoy-example/charts/render"
	"github.com/envoy-example/envoy-example/internal/envoyproc"
	"github.com/envoy-example/envoy-example/internal/envoyproc/envoytest"
)

// bootstrap renders the chart and returns one component's Envoy bootstrap,
// without mtls: its SDS files and certificates are not on this machine
// (charts/charttest runs the mTLS bootstraps with them in place).
func bootstrap(t *testing.T, component string) string {
	t.Helper()
	rel, err := render.Render(render.Options{Set: []string{"mtls.enabled=false"}})
	if err != nil {
		t.Fatal(err)
	}
	all, err := rel.EnvoyBootstraps()
	if err != nil {
		t.Fatal(err)
	}
	b, ok := all[component]
	if !ok {
		t.Fatalf("no bootstrap for %s", component)
	}
	return b
}

func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFindPinnedIsTheVersionOfVersionsMk(t *testing.T) {
	bin := envoytest.Pinned(t)
	got, err := envoyproc.Version(context.Background(), bin)
	if err != nil {
		t.Fatal(err)
	}
	want, err := envoyproc.PinnedVersion()
	if err != nil {
		t.Fatal(err)
	}
	if got != want || want == "" {
		t.Fatalf("Envoy %s, versions.mk pins %q", got, want)
	}
}

func TestFindNamesMakeToolsWhenThereIsNoEnvoy(t *testing.T) {
	t.Setenv(envoyproc.BinEnv, "")
	t.Setenv("PATH", t.TempDir())
	t.Chdir(t.TempDir()) // outside the repository: no .bin/envoy
	_, err := envoyproc.Find()
	if err == nil || !strings.Contains(err.Error(), "make tools") {
		t.Fatalf("Find() error = %v, want one that names `make tools`", err)
	}
}

func TestFindHonoursEnvoyBin(t *testing.T) {
	bin := envoytest.Pinned(t)
	t.Setenv(envoyproc.BinEnv, bin)
	got, err := envoyproc.Find()
	if err != nil || got != bin {
		t.Fatalf("Find() = %q, %v; want %q", got, err, bin)
	}
	t.Setenv(envoyproc.BinEnv, filepath.Join(t.TempDir(), "nope"))
	if _, err := envoyproc.Find(); err == nil {
		t.Fatal("Find() with ENVOY_BIN naming no file succeeded")
	}
}

func TestParseVersion(t *testing.T) {
	for out, want := range map[string]string{
		"\n/x/envoy  version: 9e5580933739775e8bce696a57a2e1bc99368f23/1.40.0/Clean/RELEASE/BoringSSL\n\n": "1.40.0",
		"envoy  version: abc123/1.34.2-dev/Modified/DEBUG/BoringSSL-FIPS":                                  "1.34.2-dev",
	} {
		got, err := envoyproc.ParseVersion(out)
		if err != nil || got != want {
			t.Errorf("ParseVersion(%q) = %q, %v; want %q", out, got, err, want)
		}
	}
	if _, err := envoyproc.ParseVersion("command not found"); err == nil {
		t.Error("ParseVersion of garbage succeeded")
	}
}

func TestValidateAcceptsTheRenderedBootstrap(t *testing.T) {
	bin := envoytest.Pinned(t)
	p := writeTemp(t, "envoy.yaml", bootstrap(t, "order"))
	if err := envoyproc.Validate(context.Background(), bin, p, "--service-node", "test"); err != nil {
		t.Fatal(err)
	}
}

// Envoy's own message reaches the caller: a misspelt field is named.
func TestValidateReturnsEnvoysError(t *testing.T) {
	bin := envoytest.Pinned(t)
	good := bootstrap(t, "order")
	bad := strings.Replace(good, "connect_timeout:", "connect_timout:", 1)
	if bad == good {
		t.Fatal("the bootstrap has no connect_timeout to misspell")
	}
	err := envoyproc.Validate(context.Background(), bin, writeTemp(t, "envoy.yaml", bad), "--service-node", "test")
	if err == nil {
		t.Fatal("Validate accepted a misspelt field")
	}
	if !strings.Contains(err.Error(), "connect_timout") {
		t.Fatalf("the error does not name the field: %v", err)
	}
}

// withFreePorts rewrites a bootstrap to listen on loopback port 0
// everywhere (admin included), so that the test can run next to anything.
func withFreePorts(t *testing.T, bootstrap string) string {
	t.Helper()
	var cfg map[string]any
	if err := yaml.Unmarshal([]byte(bootstrap), &cfg); err != nil {
		t.Fatal(err)
	}
	setPort := func(addr any) {
		sa := addr.(map[string]any)["socket_address"].(map[string]any)
		sa["address"] = "127.0.0.1"
		sa["port_value"] = 0
	}
	setPort(cfg["admin"].(map[string]any)["address"])
	for _, l := range cfg["static_resources"].(map[string]any)["listeners"].([]any) {
		setPort(l.(map[string]any)["address"])
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func TestStartWaitsForReadyAndStopEndsEnvoy(t *testing.T) {
	bin := envoytest.Pinned(t)
	cfg := writeTemp(t, "envoy.yaml", withFreePorts(t, bootstrap(t, "ingress")))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, err := envoyproc.Start(ctx, bin, envoyproc.Options{ConfigPath: cfg, Args: []string{"--service-node", "test", "--concurrency", "1"}})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + p.AdminAddr + "/ready")
	if err != nil {
		p.Stop()
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/ready after Start = %s", resp.Status)
	}
	if err := p.Stop(); err != nil {
		t.Fatalf("Stop: %v\n%s", err, p.Logs())
	}
	select {
	case <-p.Exited():
	default:
		t.Fatal("Envoy still running after Stop")
	}
	if !strings.Contains(p.Logs(), "starting main dispatch loop") {
		t.Errorf("Envoy's log lacks its start line:\n%s", p.Logs())
	}
}

func TestStartReportsAnEnvoyThatCannotStart(t *testing.T) {
	bin := envoytest.Pinned(t)
	cfg := writeTemp(t, "envoy.yaml", strings.Replace(bootstrap(t, "ingress"), "connect_timeout:", "connect_timout:", 1))
	_, err := envoyproc.Start(context.Background(), bin, envoyproc.Options{ConfigPath: cfg, Args: []string{"--service-node", "test"}, ReadyTimeout: 20 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "exited before it was ready") {
		t.Fatalf("Start of a broken config: %v", err)
	}
}
