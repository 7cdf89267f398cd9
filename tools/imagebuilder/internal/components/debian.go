package components

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
)

// Triplet is Debian's multiarch directory name for a GOARCH.
func Triplet(arch string) string {
	return map[string]string{"amd64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu"}[arch]
}

// Debs are Debian packages of one architecture, unpacked.
type Debs struct {
	Arch string
	// Roots holds each package's unpacked tree, by package name.
	Roots map[string]string
	// Versions holds each package's version ("host" when taken from the
	// machine itself).
	Versions map[string]string
}

// FetchDebs fetches the packages for arch from the machine's own Debian
// release with apt-get, into a private state directory under cache (the
// machine's apt configuration and dpkg database are left alone), and
// unpacks each. A package already in the cache at the version the release
// serves now is not downloaded again. Offline, the packages fetched by an
// earlier build serve. Without apt-get, the host's own files serve for the
// host's architecture.
//
// A package of architecture "all" (the same files on every architecture,
// such as PHP code) is named with the suffix ":all": php-google-protobuf:all.
// Roots and Versions are keyed by the bare name.
func FetchDebs(ctx context.Context, cache, arch string, pkgs ...string) (*Debs, error) {
	if Triplet(arch) == "" {
		return nil, fmt.Errorf("no Debian packages for %s", arch)
	}
	d := &Debs{Arch: arch, Roots: map[string]string{}, Versions: map[string]string{}}
	if _, err := exec.LookPath("apt-get"); err != nil {
		if arch != runtime.GOARCH {
			return nil, fmt.Errorf("linux/%s: apt-get is not available to fetch Debian's %s", arch, strings.Join(pkgs, ", "))
		}
		for _, p := range pkgs {
			p = strings.TrimSuffix(p, ":all")
			d.Roots[p], d.Versions[p] = "/", "host"
		}
		return d, nil
	}
	apt := filepath.Join(cache, "apt")
	for _, dir := range []string{filepath.Join(apt, "lists", "partial"), filepath.Join(apt, "cache", "archives", "partial")} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
	}
	opts := []string{
		"-o", "Dir::State::Lists=" + filepath.Join(apt, "lists"),
		"-o", "Dir::Cache=" + filepath.Join(apt, "cache"),
		"-o", "APT::Architectures::=amd64", "-o", "APT::Architectures::=arm64",
		"-o", "Debug::NoLocking=1", "-qq",
	}
	dirOf := func(p string) string { return filepath.Join(cache, "debs", arch, p) }
	fetchErr := fetchDebs(ctx, opts, apt, arch, pkgs, dirOf)
	for _, p := range pkgs {
		p = strings.TrimSuffix(p, ":all")
		dir := dirOf(p)
		got := debFiles(dir, p, arch)
		if len(got) != 1 {
			if fetchErr != nil {
				return nil, fmt.Errorf("%s:%s: %w", p, arch, fetchErr)
			}
			return nil, fmt.Errorf("%s:%s: expected one package in %s, found %v", p, arch, dir, got)
		}
		root := filepath.Join(dir, "root")
		if err := os.RemoveAll(root); err != nil {
			return nil, err
		}
		if _, err := command(ctx, dir, "dpkg-deb", "-x", got[0], root); err != nil {
			return nil, err
		}
		d.Roots[p], d.Versions[p] = root, debVersion(got[0])
	}
	return d, nil
}

// LibDirs are the multiarch library directories of every package, where
// the dynamic loader looks without an ld.so.cache.
func (d *Debs) LibDirs() []string {
	var dirs []string
	for _, p := range d.names() {
		for _, sub := range []string{"lib/" + Triplet(d.Arch), "usr/lib/" + Triplet(d.Arch)} {
			dir := filepath.Join(d.Roots[p], sub)
			if _, err := os.Stat(dir); err == nil {
				dirs = append(dirs, dir)
			}
		}
	}
	return dirs
}

// File returns the path of /bin/bash (say) in pkg's tree, trying the
// merged-/usr spelling too.
func (d *Debs) File(pkg, path string) (string, error) {
	root, ok := d.Roots[pkg]
	if !ok {
		return "", fmt.Errorf("package %s was not fetched", pkg)
	}
	for _, p := range []string{path, "/usr" + path} {
		if _, err := os.Stat(filepath.Join(root, p)); err == nil {
			return filepath.Join(root, p), nil
		}
	}
	return "", fmt.Errorf("%s has no %s", pkg, path)
}

// Describe lists the packages and versions, for an image's description.
func (d *Debs) Describe() string {
	var parts []string
	for _, p := range d.names() {
		parts = append(parts, p+" "+d.Versions[p])
	}
	return strings.Join(parts, ", ")
}

func (d *Debs) names() []string {
	names := make([]string, 0, len(d.Roots))
	for p := range d.Roots {
		names = append(names, p)
	}
	sort.Strings(names)
	return names
}

// fetchDebs refreshes the package lists (once per process), asks apt which
// file of each package the release serves now (one apt-get call for all of
// them, --print-uris), and downloads in one more call those not yet in
// their directory dirOf(pkg), where each replaces any other version.
func fetchDebs(ctx context.Context, opts []string, apt, arch string, pkgs []string, dirOf func(string) string) error {
	aptUpdated.Lock()
	if !aptUpdated.done[apt] {
		if _, err := command(ctx, apt, "apt-get", append(opts, "update")...); err != nil {
			aptUpdated.Unlock()
			return err
		}
		aptUpdated.done[apt] = true
	}
	aptUpdated.Unlock()
	fresh, err := os.MkdirTemp(apt, "download-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(fresh)
	var names []string
	for _, p := range pkgs {
		if bare, ok := strings.CutSuffix(p, ":all"); ok {
			// apt knows a package of architecture "all" by its bare name.
			names = append(names, bare)
		} else {
			names = append(names, p+":"+arch)
		}
	}
	// Lines of 'URI' file size hash; nothing is downloaded (and fresh is
	// empty, so every package is listed).
	out, err := command(ctx, fresh, "apt-get", append(opts, append([]string{"download", "--print-uris"}, names...)...)...)
	if err != nil {
		return err
	}
	var need []string
	for i, p := range pkgs {
		p = strings.TrimSuffix(p, ":all")
		file := ""
		for _, line := range strings.Split(out, "\n") {
			if f := strings.Fields(line); len(f) >= 2 && isDebOf(f[1], p, arch) {
				file = f[1]
			}
		}
		if file == "" {
			return fmt.Errorf("apt-get download --print-uris lists no %s for %s", p, arch)
		}
		if _, err := os.Stat(filepath.Join(dirOf(p), file)); err != nil {
			need = append(need, names[i])
		}
	}
	if len(need) == 0 {
		return nil
	}
	if _, err := command(ctx, fresh, "apt-get", append(opts, append([]string{"download"}, need...)...)...); err != nil {
		return err
	}
	for _, p := range pkgs {
		p = strings.TrimSuffix(p, ":all")
		got := debFiles(fresh, p, arch)
		if len(got) == 0 {
			continue
		}
		dir := dirOf(p)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		// Only one version stays, so that the build finds exactly one.
		old, _ := filepath.Glob(filepath.Join(dir, p+"_*.deb"))
		for _, f := range old {
			os.Remove(f)
		}
		if err := os.Rename(got[0], filepath.Join(dir, filepath.Base(got[0]))); err != nil {
			return err
		}
	}
	return nil
}

// isDebOf reports whether file is a package file of pkg for arch.
func isDebOf(file, pkg, arch string) bool {
	parts := strings.Split(strings.TrimSuffix(file, ".deb"), "_")
	return len(parts) == 3 && parts[0] == pkg && (parts[2] == arch || parts[2] == "all")
}

// debFiles are the package files of pkg for arch in dir: pkg_<version>_<arch>.deb,
// or pkg_<version>_all.deb for a package that is the same on every
// architecture (PHP code).
func debFiles(dir, pkg, arch string) []string {
	got, _ := filepath.Glob(filepath.Join(dir, pkg+"_*_"+arch+".deb"))
	all, _ := filepath.Glob(filepath.Join(dir, pkg+"_*_all.deb"))
	return append(got, all...)
}

// aptUpdated remembers the apt state directories refreshed by this
// process: one `apt-get update` serves both architectures.
var aptUpdated = struct {
	sync.Mutex
	done map[string]bool
}{done: map[string]bool{}}

// debVersion is the package version in a .deb file name (libc6_2.36-9+deb12u14_arm64.deb).
func debVersion(file string) string {
	parts := strings.Split(strings.TrimSuffix(filepath.Base(file), ".deb"), "_")
	if len(parts) == 3 {
		return parts[1]
	}
	return ""
}
