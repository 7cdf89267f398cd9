package apps

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/envoy-example/envoy-example/tools/imagebuilder/internal/components"
	"github.com/envoy-example/envoy-example/tools/imagebuilder/internal/elfdeps"
	"github.com/envoy-example/envoy-example/tools/imagebuilder/internal/image"
	"github.com/envoy-example/envoy-example/tools/imagebuilder/internal/layer"
	"github.com/envoy-example/envoy-example/tools/imagebuilder/internal/recipe"
)

// The item service's PHP application (services/item-php) under PHP-FPM:
// the image the chart's php-fpm container runs when
// services.item.implementation is php. The bridge in front of it is an
// image of its own (item-bridge, one of All), so each container of the pod
// runs one program from one image.
//
// Everything but our PHP code comes from Debian's packages for the
// architecture (fetched with apt-get into a private state under the
// cache, as the Envoy image's C library is): PHP-FPM 8.2, the two
// extensions the application loads, PHP's protobuf runtime, the C
// libraries PHP-FPM links, the UTC zone of tzdata (Debian's PHP reads its
// zones from the system's zoneinfo; php.ini sets UTC), and bash for the
// chart's preStop hook with plain containers.
const (
	ItemPHPName = "item-php"
	// ItemPHPApp is the application's directory in the repository and
	// ItemPHPProtos its generated classes.
	ItemPHPApp    = "services/item-php"
	ItemPHPProtos = "protos/php"
)

// Paths inside the image; the chart and the pool config name them.
const (
	PHPFPMBinary = "/usr/sbin/php-fpm8.2"
	// PHPAppDir holds index.php and lib/, and the generated classes in
	// protos/ (the pool config's include_path).
	PHPAppDir  = "/srv/item-php"
	PHPConfDir = "/etc/item-php"
	// phpExtensionDir is Debian PHP 8.2's compiled-in extension_dir.
	phpExtensionDir = "/usr/lib/php/20220829"
	// phpShare is where Debian puts PHP libraries (the protobuf runtime).
	phpShare = "/usr/share/php"
)

// PHPFPMArgs is the image's entrypoint: PHP-FPM in the foreground with our
// php.ini and pool config alone (PHP_INI_SCAN_DIR is empty in the image's
// environment, so Debian's conf.d is not read).
var PHPFPMArgs = []string{PHPFPMBinary, "--nodaemonize", "--force-stderr",
	"--php-ini", PHPConfDir + "/php.ini", "--fpm-config", PHPConfDir + "/php-fpm.conf"}

// itemPHPDebs are the Debian packages the image takes files from: PHP-FPM,
// the extensions (php8.2-common: ctype; php8.2-opcache), the protobuf
// runtime, bash, and every library package PHP-FPM and bash link
// (elfdeps.Resolve fails naming a library none of them holds).
var itemPHPDebs = []string{
	"php8.2-fpm", "php8.2-common", "php8.2-opcache", "php-google-protobuf:all", "tzdata:all", "bash",
	"libc6", "libtinfo6", "libacl1", "libapparmor1", "libargon2-1", "libcap2", "libgcc-s1",
	"libgcrypt20", "libgpg-error0", "libicu72", "liblz4-1", "liblzma5", "libpcre2-8-0",
	"libsodium23", "libssl3", "libstdc++6", "libsystemd0", "libxml2", "zlib1g", "libzstd1",
}

// phpExtensions are the shared extensions php.ini loads.
var phpExtensions = []string{"ctype.so", "opcache.so"}

// ItemPHPPresent reports whether the PHP application is in the tree.
func ItemPHPPresent(root string) bool {
	_, err := os.Stat(filepath.Join(root, ItemPHPApp, "index.php"))
	return err == nil
}

func itemPHPRecipe(env recipe.Env, ref string, labels map[string]string) recipe.Recipe {
	return recipe.Recipe{
		Name:   ItemPHPName,
		Ref:    ref,
		Arches: Arches,
		Make: func(ctx context.Context, arch string) ([]v1.Layer, image.Config, error) {
			layers, debs, err := itemPHPLayers(ctx, env, arch)
			if err != nil {
				return nil, image.Config{}, fmt.Errorf("%s: %w", ItemPHPName, err)
			}
			l := map[string]string{"org.opencontainers.image.description": "the item service's PHP application under PHP-FPM; Debian " + debs.Describe()}
			for k, v := range labels {
				l[k] = v
			}
			return layers, image.Config{
				Entrypoint: PHPFPMArgs,
				User:       recipe.UserSpec(recipe.Nonroot),
				Env:        []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "PHP_INI_SCAN_DIR="},
				WorkingDir: PHPAppDir,
				Labels:     l,
			}, nil
		},
	}
}

// itemPHPLayers makes the three layers, least often changed first: the
// base (users, /tmp, C libraries, bash), Debian's PHP, and our PHP code.
func itemPHPLayers(ctx context.Context, env recipe.Env, arch string) ([]v1.Layer, *components.Debs, error) {
	debs, err := components.FetchDebs(ctx, env.Cache, arch, itemPHPDebs...)
	if err != nil {
		return nil, nil, err
	}
	fpm, err := debs.File("php8.2-fpm", PHPFPMBinary)
	if err != nil {
		return nil, nil, err
	}
	bash, err := debs.File("bash", "/bin/bash")
	if err != nil {
		return nil, nil, err
	}
	if got, err := elfdeps.Machine(fpm); err != nil || got != arch {
		return nil, nil, fmt.Errorf("php8.2-fpm for %s holds a %s binary (%v)", arch, got, err)
	}

	base := layer.New(env.Epoch)
	if err := recipe.Base(base, recipe.Nonroot); err != nil {
		return nil, nil, err
	}
	for _, prog := range []string{fpm, bash} {
		d, err := elfdeps.Resolve(prog, debs.LibDirs())
		if err != nil {
			return nil, nil, err
		}
		if err := components.AddLibs(base, d, arch); err != nil {
			return nil, nil, err
		}
	}
	if err := addFile(base, bash, "/bin/bash", 0o755); err != nil {
		return nil, nil, err
	}
	if err := base.Add(layer.Entry{Path: "/bin/sh", Link: "bash"}); err != nil {
		return nil, nil, err
	}

	php := layer.New(env.Epoch)
	if err := addFile(php, fpm, PHPFPMBinary, 0o755); err != nil {
		return nil, nil, err
	}
	for _, ext := range phpExtensions {
		pkg := map[string]string{"ctype.so": "php8.2-common", "opcache.so": "php8.2-opcache"}[ext]
		src, err := debs.File(pkg, phpExtensionDir+"/"+ext)
		if err != nil {
			return nil, nil, err
		}
		if err := addFile(php, src, phpExtensionDir+"/"+ext, 0o644); err != nil {
			return nil, nil, err
		}
	}
	// The runtime's classes: Google\Protobuf\... and its own GPBMetadata.
	pb, ok := debs.Roots["php-google-protobuf"]
	if !ok {
		return nil, nil, fmt.Errorf("php-google-protobuf was not fetched")
	}
	for _, dir := range []string{"Google", "GPBMetadata"} {
		if err := addTree(php, filepath.Join(pb, phpShare, dir), phpShare+"/"+dir, nil); err != nil {
			return nil, nil, err
		}
	}

	// Only UTC of tzdata's zones: the one php.ini names.
	utc, err := debs.File("tzdata", "/usr/share/zoneinfo/Etc/UTC")
	if err != nil {
		return nil, nil, err
	}
	for _, dst := range []string{"/usr/share/zoneinfo/Etc/UTC", "/usr/share/zoneinfo/UTC"} {
		if err := addFile(php, utc, dst, 0o644); err != nil {
			return nil, nil, err
		}
	}

	app := layer.New(env.Epoch)
	phpOnly := func(p string) bool { return strings.HasSuffix(p, ".php") }
	if err := addTree(app, filepath.Join(env.Root, ItemPHPApp), PHPAppDir, phpOnly); err != nil {
		return nil, nil, err
	}
	if err := addTree(app, filepath.Join(env.Root, ItemPHPProtos), PHPAppDir+"/protos", phpOnly); err != nil {
		return nil, nil, err
	}
	for _, f := range []string{"php.ini", "php-fpm.conf"} {
		if err := addFile(app, filepath.Join(env.Root, ItemPHPApp, f), PHPConfDir+"/"+f, 0o644); err != nil {
			return nil, nil, err
		}
	}

	var out []v1.Layer
	for _, l := range []*layer.Layer{base, php, app} {
		il, err := l.Image()
		if err != nil {
			return nil, nil, err
		}
		out = append(out, il)
	}
	return out, debs, nil
}

// addFile adds the file at src as dst, root-owned, with mode.
func addFile(l *layer.Layer, src, dst string, mode int64) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return l.File(dst, mode, data)
}

// addTree adds the regular files under src (those keep says yes to, when
// keep is set) below dst, root-owned and read-only for everyone else:
// 0644, whatever their mode on disk, so that a checkout's umask does not
// change the image.
func addTree(l *layer.Layer, src, dst string, keep func(string) bool) error {
	var files []string
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && (keep == nil || keep(p)) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("no files under %s", src)
	}
	sort.Strings(files)
	for _, f := range files {
		rel, err := filepath.Rel(src, f)
		if err != nil {
			return err
		}
		if err := addFile(l, f, path.Join(dst, filepath.ToSlash(rel)), 0o644); err != nil {
			return err
		}
	}
	return nil
}
