package components

import (
	"context"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/envoy-example/envoy-example/tools/imagebuilder/internal/image"
	"github.com/envoy-example/envoy-example/tools/imagebuilder/internal/layer"
	"github.com/envoy-example/envoy-example/tools/imagebuilder/internal/recipe"
)

// fortioRecipe mirrors fortio/fortio (the release's Dockerfile): the load
// generator make bench runs as a pod. /usr/bin/fortio as the entrypoint,
// `server -config-dir /etc/fortio` as the default command, working
// directory /var/lib/fortio. Its web UI is embedded in the binary. The tag
// is the module version without its v (fortio/fortio:1.68.2), as upstream
// tags it. Unlike upstream (root) it runs as nobody, so it fits the
// restricted Pod Security Standard; /var/lib/fortio is writable by nobody.
func fortioRecipe(env recipe.Env, module string) recipe.Recipe {
	version := strings.TrimPrefix(module, "v")
	g := goProgram{
		Dir: "fortio", Module: "fortio.org/fortio",
		Packages: []string{"fortio.org/fortio"},
	}
	return recipe.Recipe{
		Name: "fortio", Ref: "fortio/fortio:" + version, Arches: []string{"amd64", "arm64"},
		Make: func(ctx context.Context, arch string) ([]v1.Layer, image.Config, error) {
			bins, err := g.build(ctx, env, module, arch)
			if err != nil {
				return nil, image.Config{}, err
			}
			return simple(env, []recipe.User{recipe.Nobody}, []layer.Entry{
				{Path: "/usr/bin/fortio", Mode: 0o755, Data: bins["fortio"]},
				{Path: "/etc/fortio", Mode: 0o755, Dir: true},
				{Path: "/var/lib/fortio", Mode: 0o755, Dir: true, UID: recipe.Nobody.ID, GID: recipe.Nobody.ID},
			}, image.Config{
				Entrypoint:   []string{"/usr/bin/fortio"},
				Cmd:          []string{"server", "-config-dir", "/etc/fortio"},
				User:         recipe.UserSpec(recipe.Nobody),
				WorkingDir:   "/var/lib/fortio",
				ExposedPorts: []string{"8078/tcp", "8079/tcp", "8080/tcp", "8081/tcp"},
				Volumes:      []string{"/etc/fortio", "/var/lib/fortio"},
				Labels:       labels("https://github.com/fortio/fortio", version, module, "fortio", g, ""),
			})
		},
	}
}
