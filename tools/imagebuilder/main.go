// Command imagebuilder builds the project's container images without a
// Docker engine: static Go binaries on an empty base, reproducible (the
// same commit gives the same digests), for linux/amd64 and linux/arm64 in
// one index. With --components it builds instead the images of the
// components the chart runs (Envoy, statsd_exporter, Jaeger, Prometheus)
// and those a local cluster needs (pause, CoreDNS), under the exact
// references the chart and the kubelet use, for clusters that cannot pull.
//
//	go run ./tools/imagebuilder [flags]
//
// Outputs, under --out (default out/): oci/ (an OCI layout holding every
// index, named by reference) and images/<name>-<arch>.tar (docker-archive
// tarballs for `kind load image-archive`, `minikube image load` and
// `ctr -n k8s.io images import`).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/envoy-example/envoy-example/internal/repo"
	"github.com/envoy-example/envoy-example/tools/imagebuilder/internal/apps"
	"github.com/envoy-example/envoy-example/tools/imagebuilder/internal/build"
	"github.com/envoy-example/envoy-example/tools/imagebuilder/internal/components"
	"github.com/envoy-example/envoy-example/tools/imagebuilder/internal/output"
	"github.com/envoy-example/envoy-example/tools/imagebuilder/internal/pins"
	"github.com/envoy-example/envoy-example/tools/imagebuilder/internal/recipe"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("imagebuilder", flag.ContinueOnError)
	fs.SetOutput(stderr)
	root := fs.String("root", "", "repository root (default: the nearest directory, from the working directory up, with versions.mk and go.mod)")
	out := fs.String("out", "", "output directory (default <root>/out)")
	cache := fs.String("cache", "", "directory that keeps downloads between builds (default <root>/out/cache)")
	comps := fs.Bool("components", false, "build the component images (envoy, statsd-exporter, jaeger, prometheus, pause, coredns, fortio) instead of ours")
	only := fs.String("only", "", "comma-separated image names to build (default: all of the kind chosen)")
	platforms := fs.String("platforms", "", "comma-separated platforms, e.g. linux/amd64,linux/arm64 (default: each image's own)")
	push := fs.String("push", "", "registry to push every index to, e.g. localhost:5000 (credentials from the Docker config)")
	load := fs.String("load", "", "load the images into a running cluster: kind or minikube")
	cluster := fs.String("cluster", "", "kind cluster name or minikube profile for --load (default: the tool's default)")
	loadArch := fs.String("load-arch", runtime.GOARCH, "architecture of the cluster's nodes, for --load")
	list := fs.Bool("list", false, "list the images and their references, build nothing")
	revision := fs.String("revision", "", "commit named by our images' revision label (default: git's HEAD, with -dirty for a modified tree)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: imagebuilder [--components] [flags]\n\nBuilds reproducible images without Docker; see the package doc.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "imagebuilder: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if _, err := buildAll(ctx, config{
		root: *root, out: *out, cache: *cache, components: *comps, only: splitList(*only), platforms: splitList(*platforms),
		push: *push, load: *load, cluster: *cluster, loadArch: *loadArch, list: *list, revision: *revision,
	}, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "imagebuilder: %v\n", err)
		return 1
	}
	return 0
}

type config struct {
	root, out, cache    string
	components          bool
	only, platforms     []string
	push, load, cluster string
	loadArch, revision  string
	list                bool
}

// buildAll builds the images c selects and returns what was built, also
// when a later image failed.
func buildAll(ctx context.Context, c config, stdout, stderr io.Writer) ([]build.Result, error) {
	start := time.Now()
	if c.root == "" {
		r, err := repo.Root()
		if err != nil {
			return nil, fmt.Errorf("%w: run from the repository or pass --root", err)
		}
		c.root = r
	}
	if c.out == "" {
		c.out = filepath.Join(c.root, "out")
	}
	arches, err := Arches(c.platforms)
	if err != nil {
		return nil, err
	}
	p, err := pins.Load(c.root)
	if err != nil {
		return nil, err
	}
	// Our images carry the commit's time; the component images, built
	// from pinned releases, a time that does not change with our commits,
	// so that their digests change only when what goes into them does.
	epoch, err := pins.Epoch(c.root)
	if c.components {
		epoch, err = pins.ContentEpoch()
	}
	if err != nil {
		return nil, err
	}
	if c.cache == "" {
		c.cache = filepath.Join(c.root, "out", "cache")
	}
	env := recipe.Env{Root: c.root, Epoch: epoch, Cache: c.cache}
	var all []recipe.Recipe
	if c.components {
		env.Work = filepath.Join(c.out, "build", "components")
		all, err = components.Recipes(env, p)
		if err != nil {
			return nil, err
		}
	} else {
		env.Work = filepath.Join(c.out, "build", "apps")
		var missing []string
		if c.revision == "" {
			c.revision = pins.Revision(c.root)
		}
		all, missing = apps.Recipes(env, p, c.revision)
		if len(missing) > 0 {
			fmt.Fprintf(stderr, "imagebuilder: not built (no main package yet): %s\n", strings.Join(missing, ", "))
		}
	}
	selected, err := recipe.Select(all, c.only)
	if err != nil {
		return nil, err
	}
	if c.list {
		for _, r := range selected {
			a := r.Arches
			if len(arches) > 0 {
				a = arches
			}
			fmt.Fprintf(stdout, "%-16s %-48s %s\n", r.Name, r.Ref, strings.Join(a, ","))
		}
		return nil, nil
	}
	if len(selected) == 0 {
		return nil, fmt.Errorf("nothing to build")
	}
	opts := build.Options{
		Arches: arches, Epoch: epoch,
		Layout:   filepath.Join(c.out, "oci"),
		Archives: filepath.Join(c.out, "images"),
		Push:     c.push,
		LoadArch: c.loadArch,
	}
	if c.load != "" {
		// Checked before building, so that a missing CLI or cluster is
		// reported in a second rather than after the builds.
		if opts.Loader, err = output.NewLoader(ctx, c.load, c.cluster); err != nil {
			return nil, err
		}
	}
	results, err := build.Run(ctx, selected, opts, stdout)
	if len(results) > 0 {
		if _, perr := output.PruneLayout(opts.Layout); perr != nil && err == nil {
			err = perr
		}
	}
	if len(results) > 0 {
		fmt.Fprintln(stdout)
		if serr := build.Summary(stdout, results); serr != nil && err == nil {
			err = serr
		}
		fmt.Fprintf(stdout, "\n%d image(s) in %.1fs; OCI layout %s, tarballs %s\n", len(results), time.Since(start).Seconds(), opts.Layout, opts.Archives)
	}
	return results, err
}

// Arches turns --platforms (linux/amd64,linux/arm64) into architectures.
func Arches(platforms []string) ([]string, error) {
	var out []string
	for _, p := range platforms {
		os, arch, ok := strings.Cut(p, "/")
		if !ok || os != "linux" || (arch != "amd64" && arch != "arm64") {
			return nil, fmt.Errorf("--platforms %s: only linux/amd64 and linux/arm64 are built", p)
		}
		out = append(out, arch)
	}
	return out, nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
