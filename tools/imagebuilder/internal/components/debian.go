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
// unpacks each. Offline, the packages fetched by an earlier build serve.
// Without apt-get, the host's own files serve for the host's architecture.
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
	for _, p := range pkgs {
		dir := filepath.Join(cache, "debs", arch, p)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		pattern := filepath.Join(dir, p+"_*_"+arch+".deb")
		if err := fetchDeb(ctx, opts, apt, dir, p, arch); err != nil {
			if cached, _ := filepath.Glob(pattern); len(cached) != 1 {
				return nil, fmt.Errorf("%s:%s: %w", p, arch, err)
			}
		}
		got, _ := filepath.Glob(pattern)
		if len(got) != 1 {
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

// fetchDeb refreshes the package lists (once per process) and replaces the
// package file in dir with the version the Debian release serves now.
func fetchDeb(ctx context.Context, opts []string, apt, dir, pkg, arch string) error {
	aptUpdated.Lock()
	if !aptUpdated.done[apt] {
		if _, err := command(ctx, apt, "apt-get", append(opts, "update")...); err != nil {
			aptUpdated.Unlock()
			return err
		}
		aptUpdated.done[apt] = true
	}
	aptUpdated.Unlock()
	fresh := filepath.Join(dir, "new")
	if err := os.RemoveAll(fresh); err != nil {
		return err
	}
	if err := os.MkdirAll(fresh, 0o755); err != nil {
		return err
	}
	defer os.RemoveAll(fresh)
	if _, err := command(ctx, fresh, "apt-get", append(opts, "download", pkg+":"+arch)...); err != nil {
		return err
	}
	got, _ := filepath.Glob(filepath.Join(fresh, pkg+"_*_"+arch+".deb"))
	if len(got) != 1 {
		return fmt.Errorf("apt-get download %s:%s gave %v", pkg, arch, got)
	}
	// Only one version stays, so that the build finds exactly one.
	old, _ := filepath.Glob(filepath.Join(dir, pkg+"_*.deb"))
	for _, f := range old {
		os.Remove(f)
	}
	return os.Rename(got[0], filepath.Join(dir, filepath.Base(got[0])))
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
