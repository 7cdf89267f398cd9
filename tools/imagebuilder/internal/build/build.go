// Package build runs recipes for their architectures and sends each image to
// the outputs asked for, reporting one line per image as it is done and a
// summary table at the end.
package build

import (
	"context"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/envoy-example/envoy-example/tools/imagebuilder/internal/image"
	"github.com/envoy-example/envoy-example/tools/imagebuilder/internal/output"
	"github.com/envoy-example/envoy-example/tools/imagebuilder/internal/recipe"
)

// Options say which architectures to build and where images go.
type Options struct {
	// Arches overrides each recipe's own architectures when not empty.
	Arches []string
	// Epoch is the creation time written in every image config.
	Epoch time.Time
	// Layout is the OCI layout directory ("" writes none).
	Layout string
	// Archives is the directory of the docker-archive tarballs ("" writes none).
	Archives string
	// Push is a registry (host[:port][/path]) to push every index to.
	Push string
	// Loader, when set, loads the tarball of its architecture into a cluster.
	Loader *output.Loader
	// LoadArch is the architecture Loader loads (the cluster's nodes').
	LoadArch string
}

// Result is one built reference.
type Result struct {
	Name   string
	Ref    string
	Index  v1.ImageIndex
	Digest v1.Hash
	// Images, Sizes and Tarballs are keyed by architecture.
	Images   map[string]v1.Image
	Sizes    map[string]int64
	Tarballs map[string]string
	Pushed   string
	Took     time.Duration
}

// Run builds every recipe, one at a time (a Go build already uses every
// core), and writes the outputs of each before starting the next.
func Run(ctx context.Context, recipes []recipe.Recipe, opts Options, progress io.Writer) ([]Result, error) {
	var results []Result
	for _, r := range recipes {
		res, err := One(ctx, r, opts, progress)
		if err != nil {
			return results, fmt.Errorf("%s: %w", r.Name, err)
		}
		results = append(results, res)
	}
	return results, nil
}

// One builds a single recipe and writes its outputs.
func One(ctx context.Context, r recipe.Recipe, opts Options, progress io.Writer) (Result, error) {
	start := time.Now()
	arches := r.Arches
	if len(opts.Arches) > 0 {
		arches = opts.Arches
	}
	res := Result{Name: r.Name, Ref: r.Ref, Images: map[string]v1.Image{}, Sizes: map[string]int64{}, Tarballs: map[string]string{}}
	for _, arch := range arches {
		t0 := time.Now()
		layers, cfg, err := r.Make(ctx, arch)
		if err != nil {
			return res, err
		}
		img, err := image.Build(arch, layers, cfg, opts.Epoch)
		if err != nil {
			return res, err
		}
		d, err := img.Digest()
		if err != nil {
			return res, err
		}
		size, err := image.Size(img)
		if err != nil {
			return res, err
		}
		res.Images[arch], res.Sizes[arch] = img, size
		if opts.Archives != "" {
			path := filepath.Join(opts.Archives, r.Name+"-"+arch+".tar")
			if err := output.DockerArchive(path, r.Ref, img); err != nil {
				return res, err
			}
			res.Tarballs[arch] = path
		}
		fmt.Fprintf(progress, "%-16s linux/%-6s %9s  %s  %.1fs\n", r.Name, arch, HumanSize(size), d, time.Since(t0).Seconds())
	}
	idx, err := image.Index(res.Images)
	if err != nil {
		return res, err
	}
	res.Index = idx
	if res.Digest, err = idx.Digest(); err != nil {
		return res, err
	}
	if opts.Layout != "" {
		if err := output.Layout(opts.Layout, r.Ref, idx); err != nil {
			return res, err
		}
	}
	if opts.Push != "" {
		dst, err := output.Push(ctx, opts.Push, r.Ref, idx)
		if err != nil {
			return res, err
		}
		res.Pushed = dst.String()
		fmt.Fprintf(progress, "%-16s pushed %s@%s\n", r.Name, dst, res.Digest)
	}
	if opts.Loader != nil {
		tb, ok := res.Tarballs[opts.LoadArch]
		if !ok {
			return res, fmt.Errorf("--load: no linux/%s image of %s to load (built %s)", opts.LoadArch, r.Name, strings.Join(arches, ","))
		}
		if err := opts.Loader.Load(ctx, tb); err != nil {
			return res, err
		}
		fmt.Fprintf(progress, "%-16s loaded into %s (%s)\n", r.Name, opts.Loader.Tool, opts.Loader.Cluster)
	}
	res.Took = time.Since(start)
	return res, nil
}

// Summary writes a table of results: reference, platforms, index digest,
// sizes, and where the tarballs are.
func Summary(w io.Writer, results []Result) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "IMAGE\tPLATFORMS\tSIZE\tINDEX DIGEST\tTIME")
	for _, r := range results {
		var plats, sizes []string
		for _, a := range slices.Sorted(maps.Keys(r.Sizes)) {
			plats = append(plats, "linux/"+a)
			sizes = append(sizes, HumanSize(r.Sizes[a]))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.1fs\n", r.Ref, strings.Join(plats, ","), strings.Join(sizes, ","), r.Digest, r.Took.Seconds())
	}
	return tw.Flush()
}

// HumanSize prints n bytes in the unit that keeps it short (1.5 MB).
func HumanSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f kB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
