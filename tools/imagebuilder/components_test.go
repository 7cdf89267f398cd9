package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/envoy-example/envoy-example/internal/testenv"
	"github.com/envoy-example/envoy-example/tools/imagebuilder/internal/build"
	"github.com/envoy-example/envoy-example/tools/imagebuilder/internal/layer"
)

// heavyEnv names the variable that turns on the component images that take
// minutes to build (Jaeger about 7, Prometheus about 8, CoreDNS about 3 on
// two cores); `make component-images-test` sets it.
const heavyEnv = "IMAGEBUILDER_HEAVY"

// TestCheapComponentImages builds the Envoy, statsd_exporter and pause
// images (seconds to a minute) and checks them against the official
// images' layout, then runs each amd64 binary from its image.
func TestCheapComponentImages(t *testing.T) {
	root, p := rootAndPins(t)
	results := buildInto(t, t.TempDir(), config{root: root, components: true, only: []string{"envoy", "statsd-exporter", "pause"}})
	byName := map[string]build.Result{}
	for _, r := range results {
		byName[r.Name] = r
	}
	envoyVersion, _ := p.Version("ENVOY_VERSION")
	statsdVersion, _ := p.Version("STATSD_EXPORTER_VERSION")
	pauseVersion, _ := p.Version("PAUSE_VERSION")

	// Built from pinned releases, the component images do not depend on
	// which commit of ours built them: a second build gives the same
	// digests (its Go builds come from the cache).
	t.Run("reproducible", func(t *testing.T) {
		second := buildInto(t, t.TempDir(), config{root: root, components: true, only: []string{"envoy", "statsd-exporter", "pause"}})
		for i := range results {
			t.Logf("%-16s %s / %s", results[i].Name, results[i].Digest, second[i].Digest)
			if results[i].Digest != second[i].Digest {
				t.Errorf("%s: %s then %s", results[i].Ref, results[i].Digest, second[i].Digest)
			}
		}
	})

	t.Run("envoy", func(t *testing.T) {
		res := byName["envoy"]
		wantRef(t, res, "envoyproxy/envoy:v"+envoyVersion, "linux/amd64", "linux/arm64")
		var amd64Root string
		for arch, img := range res.Images {
			cf := configOf(t, img)
			wantConfig(t, arch, cf, []string{"/docker-entrypoint"}, []string{"envoy", "-c", "/etc/envoy/envoy.yaml"}, "")
			dir, _ := unpack(t, img)
			triplet := map[string]string{"amd64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu"}[arch]
			elfClosure(t, dir, "/usr/local/bin/envoy", triplet)
			elfClosure(t, dir, "/bin/bash", triplet)
			if arch == "amd64" {
				amd64Root = dir
			}
		}
		needRoot(t, "running the image's Envoy with the image's own C libraries")
		// Envoy itself, with nothing but the image's libraries.
		out := runOK(t, inImage(t, amd64Root, 101, 101, "/usr/local/bin/envoy", "--version"))
		if !strings.Contains(out, "/"+envoyVersion+"/") {
			t.Errorf("envoy --version: %s", out)
		}
		// Through the entrypoint, started as root as the official image
		// is: flags get "envoy" put in front, and the envoy user (101)
		// runs it. The default config is valid.
		out = runOK(t, inImage(t, amd64Root, 0, 0, "/docker-entrypoint", "--mode", "validate", "-c", "/etc/envoy/envoy.yaml"))
		if !strings.Contains(out, "OK") {
			t.Errorf("validate via the entrypoint: %s", out)
		}
		t.Logf("envoy in its image: %s", firstLine(runOK(t, inImage(t, amd64Root, 0, 0, "/docker-entrypoint", "envoy", "--version"))))
		// The chart's preStop hook: bash alone, speaking HTTP to Envoy's
		// admin through /dev/tcp, as the chart's user (65534).
		bashSpeaksTCP(t, amd64Root)
	})

	t.Run("statsd-exporter", func(t *testing.T) {
		res := byName["statsd-exporter"]
		wantRef(t, res, "prom/statsd-exporter:"+statsdVersion, "linux/amd64", "linux/arm64")
		for arch, img := range res.Images {
			cf := configOf(t, img)
			wantConfig(t, arch, cf, []string{"/bin/statsd_exporter"}, nil, "65534:65534")
			for _, port := range []string{"9102/tcp", "9125/udp"} {
				if _, ok := cf.Config.ExposedPorts[port]; !ok {
					t.Errorf("%s: %s not exposed", arch, port)
				}
			}
		}
		dir, _ := unpack(t, res.Images["amd64"])
		out := runOK(t, inImage(t, dir, 65534, 65534, "/bin/statsd_exporter", "--version"))
		if !strings.Contains(out, "version "+strings.TrimPrefix(statsdVersion, "v")) {
			t.Errorf("statsd_exporter --version: %s", out)
		}
		t.Logf("statsd_exporter in its image: %s", firstLine(out))
	})

	t.Run("pause", func(t *testing.T) {
		res := byName["pause"]
		wantRef(t, res, "registry.k8s.io/pause:"+pauseVersion, "linux/amd64", "linux/arm64")
		for arch, img := range res.Images {
			wantConfig(t, arch, configOf(t, img), []string{"/pause"}, nil, "65535:65535")
		}
		dir, _ := unpack(t, res.Images["amd64"])
		if out := runOK(t, inImage(t, dir, 65535, 65535, "/pause", "-v")); !strings.Contains(out, pauseVersion) {
			t.Errorf("pause -v: %s", out)
		}
		// It waits until told to stop, then exits 0, as the kubelet expects.
		cmd := inImage(t, dir, 65535, 65535, "/pause")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		select {
		case err := <-exited:
			t.Fatalf("pause exited by itself: %v", err)
		case <-time.After(300 * time.Millisecond):
		}
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("pause after SIGTERM: %v", err)
			}
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			t.Error("pause ignored SIGTERM")
		}
	})
}

// TestHeavyComponentImages builds Jaeger, Prometheus and CoreDNS (amd64)
// and runs each binary from its image. It takes a quarter of an hour on
// two cores when the build cache is cold, so it runs only when
// IMAGEBUILDER_HEAVY is set (`make component-images-test`); it is opt-in,
// so it skips in CI too.
func TestHeavyComponentImages(t *testing.T) {
	testenv.OptIn(t, heavyEnv, "builds Jaeger, Prometheus and CoreDNS from source (minutes each; `make component-images-test` runs it)")
	root, p := rootAndPins(t)
	results := buildInto(t, t.TempDir(), config{root: root, components: true, only: []string{"jaeger", "prometheus", "coredns"}})
	byName := map[string]build.Result{}
	for _, r := range results {
		byName[r.Name] = r
	}
	jaegerVersion, _ := p.Version("JAEGER_VERSION")
	promVersion, _ := p.Version("PROMETHEUS_VERSION")
	corednsVersion, _ := p.Version("COREDNS_VERSION")

	t.Run("jaeger", func(t *testing.T) {
		res := byName["jaeger"]
		wantRef(t, res, "jaegertracing/jaeger:"+jaegerVersion, "linux/amd64")
		cf := configOf(t, res.Images["amd64"])
		wantConfig(t, "amd64", cf, []string{"/cmd/jaeger/jaeger-linux"}, nil, "10001")
		if !slices.Contains(cf.Config.Env, "JAEGER_LISTEN_HOST=0.0.0.0") {
			t.Errorf("env %v", cf.Config.Env)
		}
		dir, _ := unpack(t, res.Images["amd64"])
		if _, err := os.Stat(dir + "/cmd/jaeger/sampling-strategies.json"); err != nil {
			t.Error(err)
		}
		out := runOK(t, inImage(t, dir, 10001, 10001, "/cmd/jaeger/jaeger-linux", "version"))
		if !strings.Contains(out, jaegerVersion) {
			t.Errorf("jaeger version: %s", out)
		}
		t.Logf("jaeger in its image: %s", firstLine(out))
	})

	t.Run("prometheus", func(t *testing.T) {
		res := byName["prometheus"]
		wantRef(t, res, "prom/prometheus:"+promVersion, "linux/amd64")
		cf := configOf(t, res.Images["amd64"])
		wantConfig(t, "amd64", cf, []string{"/bin/prometheus"},
			[]string{"--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"}, "65534:65534")
		if cf.Config.WorkingDir != "/prometheus" {
			t.Errorf("workdir %q", cf.Config.WorkingDir)
		}
		dir, headers := unpack(t, res.Images["amd64"])
		if h := headers["/prometheus"]; h == nil || h.Uid != 65534 {
			t.Errorf("/prometheus is not nobody's: %+v", h)
		}
		out := runOK(t, inImage(t, dir, 65534, 65534, "/bin/prometheus", "--version"))
		if !strings.Contains(out, "version "+strings.TrimPrefix(promVersion, "v")) {
			t.Errorf("prometheus --version: %s", out)
		}
		t.Logf("prometheus in its image: %s", firstLine(out))
		out = runOK(t, inImage(t, dir, 65534, 65534, "/bin/promtool", "check", "config", "/etc/prometheus/prometheus.yml"))
		t.Logf("promtool check config: %s", firstLine(out))
	})

	t.Run("coredns", func(t *testing.T) {
		res := byName["coredns"]
		wantRef(t, res, "registry.k8s.io/coredns/coredns:"+corednsVersion, "linux/amd64")
		wantConfig(t, "amd64", configOf(t, res.Images["amd64"]), []string{"/coredns"}, nil, "65532:65532")
		dir, headers := unpack(t, res.Images["amd64"])
		if got := headers["/coredns"].PAXRecords["SCHILY.xattr.security.capability"]; got != layer.NetBindServiceCap() {
			t.Errorf("/coredns lacks cap_net_bind_service: %q", got)
		}
		out := runOK(t, inImage(t, dir, 65532, 65532, "/coredns", "-version"))
		if !strings.Contains(out, "CoreDNS-"+strings.TrimPrefix(corednsVersion, "v")) {
			t.Errorf("coredns -version: %s", out)
		}
		t.Logf("coredns in its image: %s", firstLine(out))
	})
}

func wantRef(t *testing.T, res build.Result, ref string, plats ...string) {
	t.Helper()
	if res.Ref != ref {
		t.Errorf("reference %s, want %s", res.Ref, ref)
	}
	if res.Index == nil {
		t.Fatalf("%s was not built", ref)
	}
	if got := platforms(t, res.Index); !slices.Equal(got, plats) {
		t.Errorf("%s: platforms %v, want %v", ref, got, plats)
	}
}

func wantConfig(t *testing.T, arch string, cf *v1.ConfigFile, entrypoint, cmd []string, user string) {
	t.Helper()
	if cf.Architecture != arch || cf.OS != "linux" {
		t.Errorf("config platform %s/%s, want linux/%s", cf.OS, cf.Architecture, arch)
	}
	if !slices.Equal(cf.Config.Entrypoint, entrypoint) {
		t.Errorf("%s: entrypoint %q, want %q", arch, cf.Config.Entrypoint, entrypoint)
	}
	if !slices.Equal(cf.Config.Cmd, cmd) {
		t.Errorf("%s: cmd %q, want %q", arch, cf.Config.Cmd, cmd)
	}
	if cf.Config.User != user {
		t.Errorf("%s: user %q, want %q", arch, cf.Config.User, user)
	}
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// bashSpeaksTCP runs the image's bash, as the chart runs it in the preStop
// hook, and checks that its /dev/tcp reaches a server on loopback.
func bashSpeaksTCP(t *testing.T, root string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	got := make(chan string, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			got <- err.Error()
			return
		}
		defer c.Close()
		line, _ := bufio.NewReader(c).ReadString('\n')
		got <- line
	}()
	script := fmt.Sprintf(`exec 3<>/dev/tcp/127.0.0.1/%d && printf 'POST /healthcheck/fail HTTP/1.1\r\n' >&3`, l.Addr().(*net.TCPAddr).Port)
	runOK(t, inImage(t, root, 65534, 65534, "/bin/bash", "-c", script))
	select {
	case line := <-got:
		if line != "POST /healthcheck/fail HTTP/1.1\r\n" {
			t.Errorf("the server read %q", line)
		}
	case <-time.After(5 * time.Second):
		t.Error("bash's /dev/tcp never connected")
	}
}

// TestFortioImage builds the load generator of make bench (amd64, about
// twenty seconds) and runs it from its image as the chart's user.
func TestFortioImage(t *testing.T) {
	root, p := rootAndPins(t)
	results := buildInto(t, t.TempDir(), config{root: root, components: true, only: []string{"fortio"}, platforms: []string{"linux/amd64"}})
	version, _ := p.Version("FORTIO_VERSION")
	res := results[0]
	wantRef(t, res, "fortio/fortio:"+strings.TrimPrefix(version, "v"), "linux/amd64")
	wantConfig(t, "amd64", configOf(t, res.Images["amd64"]), []string{"/usr/bin/fortio"}, []string{"server", "-config-dir", "/etc/fortio"}, "65534:65534")
	dir, _ := unpack(t, res.Images["amd64"])
	out := runOK(t, inImage(t, dir, 65534, 65534, "/usr/bin/fortio", "version"))
	if strings.TrimSpace(out) != strings.TrimPrefix(version, "v") {
		t.Errorf("fortio version: %q, want %s", out, version)
	}
	t.Logf("fortio in its image: %s", firstLine(out))
}
