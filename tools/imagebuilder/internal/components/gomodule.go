package components

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/mod/modfile"

	"github.com/envoy-example/envoy-example/tools/imagebuilder/internal/gobuild"
	"github.com/envoy-example/envoy-example/tools/imagebuilder/internal/recipe"
)

// ModulesDir holds one small Go module per component built from source
// (statsd_exporter, prometheus, jaeger, coredns, fortio): its go.mod requires the
// pinned release as a tool, with the replace directives the release needs,
// and its go.sum pins every dependency. `make component-modules` writes
// them from versions.mk.
const ModulesDir = "tools/imagebuilder/components"

// goProgram is a component built from a pinned Go module.
type goProgram struct {
	// Dir is the component's module directory under ModulesDir.
	Dir string
	// Module is the upstream module and Pin the versions.mk variable that
	// holds its version.
	Module, Pin string
	// Packages are the main packages to build.
	Packages []string
	// LDFlags stamp the version the way the upstream release build does.
	LDFlags []string
}

// CheckPin fails when the component module requires another version of
// the upstream module than versions.mk pins, so the two cannot drift apart.
func CheckPin(root, dir, module, want string) error {
	path := filepath.Join(root, ModulesDir, dir, "go.mod")
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	f, err := modfile.ParseLax(path, b, nil)
	if err != nil {
		return err
	}
	for _, r := range f.Require {
		if r.Mod.Path == module {
			if r.Mod.Version != want {
				return fmt.Errorf("%s requires %s %s but versions.mk pins %s: run `make component-modules`", path, module, r.Mod.Version, want)
			}
			return nil
		}
	}
	return fmt.Errorf("%s does not require %s: run `make component-modules`", path, module)
}

// build compiles every package of g for arch into env.Work/bin/<arch>/ and
// returns the binaries by package base name.
func (g goProgram) build(ctx context.Context, env recipe.Env, version, arch string) (map[string][]byte, error) {
	if err := CheckPin(env.Root, g.Dir, g.Module, version); err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for _, pkg := range g.Packages {
		name := filepath.Base(pkg)
		bin := filepath.Join(env.Work, "bin", arch, name)
		err := gobuild.Run(ctx, gobuild.Build{
			Dir: filepath.Join(env.Root, ModulesDir, g.Dir), Package: pkg, Arch: arch, Out: bin, LDFlags: g.LDFlags,
		})
		if err != nil {
			return nil, err
		}
		if out[name], err = os.ReadFile(bin); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// moduleFile reads a file of the upstream module as the component module
// resolves it (for example Prometheus's example configuration).
func moduleFile(ctx context.Context, env recipe.Env, g goProgram, rel string) ([]byte, error) {
	dir, err := goListDir(ctx, filepath.Join(env.Root, ModulesDir, g.Dir), g.Module)
	if err != nil {
		return nil, err
	}
	return os.ReadFile(filepath.Join(dir, rel))
}
