// Package apps holds the recipes of our own images: the four services, the
// item service's gRPC-to-FastCGI bridge, the smoke checker that `helm
// test` runs and the mTLS certificate generator of the chart's hook Jobs, each one static Go binary on an empty base; and the item
// service's PHP application under Debian's PHP-FPM (itemphp.go). All run
// as a non-root user.
package apps

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/envoy-example/envoy-example/tools/imagebuilder/internal/gobuild"
	"github.com/envoy-example/envoy-example/tools/imagebuilder/internal/image"
	"github.com/envoy-example/envoy-example/tools/imagebuilder/internal/layer"
	"github.com/envoy-example/envoy-example/tools/imagebuilder/internal/pins"
	"github.com/envoy-example/envoy-example/tools/imagebuilder/internal/recipe"
)

// App is one of our programs.
type App struct {
	// Name is the image name under envoy-example/ and the binary's name.
	Name string
	// Package is the main package, relative to the repository root.
	Package string
}

// All are our images, in the order they are built and listed.
var All = []App{
	{"frontend", "./services/frontend"},
	{"user", "./services/user"},
	{"order", "./services/order"},
	{"item", "./services/item"},
	{"item-bridge", "./services/item-bridge"},
	{"smoke", "./services/smoke"},
	{"certgen", "./services/certgen"},
}

// Arches are the architectures of our images: amd64 for CI and most
// clusters, arm64 for kind and minikube on Apple silicon.
var Arches = []string{"amd64", "arm64"}

// BinDir is where the binary sits in the image; it is on the image's PATH
// too, so a container spec may name the program either way.
const BinDir = "/usr/local/bin"

// Ref is the reference the chart uses for app: envoy-example/<name>:<appVersion>.
func Ref(name, appVersion string) string {
	return "envoy-example/" + name + ":" + appVersion
}

// Present reports whether app's main package exists under root; the
// services and the smoke checker are written alongside the builder.
func Present(root string, app App) bool {
	matches, _ := filepath.Glob(filepath.Join(root, app.Package, "*.go"))
	return len(matches) > 0
}

// Recipes returns the recipes of the apps present under env.Root (and the
// names of those missing); revision is the commit their labels name.
func Recipes(env recipe.Env, p *pins.Pins, revision string) (rs []recipe.Recipe, missing []string) {
	labels := func(name string) map[string]string {
		return map[string]string{
			image.LabelSource:   p.SourceURL(),
			image.LabelRevision: revision,
			image.LabelVersion:  p.AppVersion,
			image.LabelTitle:    name,
		}
	}
	for _, app := range All {
		if !Present(env.Root, app) {
			missing = append(missing, app.Name)
			continue
		}
		app := app
		rs = append(rs, recipe.Recipe{
			Name:   app.Name,
			Ref:    Ref(app.Name, p.AppVersion),
			Arches: Arches,
			Make: func(ctx context.Context, arch string) ([]v1.Layer, image.Config, error) {
				return Make(ctx, env, app, arch, labels(app.Name))
			},
		})
	}
	if ItemPHPPresent(env.Root) {
		rs = append(rs, itemPHPRecipe(env, Ref(ItemPHPName, p.AppVersion), labels(ItemPHPName)))
	} else {
		missing = append(missing, ItemPHPName)
	}
	return rs, missing
}

// Make builds app for arch and returns its two layers (the base, shared by
// all our images, then the binary) and its config.
func Make(ctx context.Context, env recipe.Env, app App, arch string, labels map[string]string) ([]v1.Layer, image.Config, error) {
	bin := filepath.Join(env.Work, "bin", arch, app.Name)
	err := gobuild.Run(ctx, gobuild.Build{Dir: env.Root, Package: app.Package, Arch: arch, Out: bin})
	if err != nil {
		return nil, image.Config{}, err
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		return nil, image.Config{}, err
	}
	base := layer.New(env.Epoch)
	if err := recipe.Base(base, recipe.Nonroot); err != nil {
		return nil, image.Config{}, err
	}
	app1 := layer.New(env.Epoch)
	if err := app1.File(BinDir+"/"+app.Name, 0o755, data); err != nil {
		return nil, image.Config{}, err
	}
	var layers []v1.Layer
	for _, l := range []*layer.Layer{base, app1} {
		il, err := l.Image()
		if err != nil {
			return nil, image.Config{}, fmt.Errorf("%s: %w", app.Name, err)
		}
		layers = append(layers, il)
	}
	cfg := image.Config{
		Entrypoint: []string{BinDir + "/" + app.Name},
		User:       recipe.UserSpec(recipe.Nonroot),
		Env:        []string{"PATH=" + BinDir},
		WorkingDir: "/",
		Labels:     labels,
	}
	return layers, cfg, nil
}
