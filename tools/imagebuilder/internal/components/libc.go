package components

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
)

// Triplet is Debian's multiarch directory name for a GOARCH.
func Triplet(arch string) string {
	return map[string]string{"amd64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu"}[arch]
}

// LibDirs returns directories holding Debian's glibc for arch, the
// libraries the official Envoy binary is linked against. They come from
// the libc6 package of the machine's own Debian release, fetched with
// apt-get into a private state directory under cache (the machine's apt
// configuration and dpkg database are left alone). Without apt-get, the
// host's own libraries serve for the host's architecture.
func LibDirs(ctx context.Context, cache, arch string) (*Libc, error) {
	triplet := Triplet(arch)
	if triplet == "" {
		return nil, fmt.Errorf("no glibc for %s", arch)
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		if arch != runtime.GOARCH {
			return nil, fmt.Errorf("glibc for linux/%s: apt-get is not available to fetch Debian's libc6:%s", arch, arch)
		}
		return &Libc{Dirs: []string{"/lib/" + triplet, "/usr/lib/" + triplet}, Version: "host"}, nil
	}
	apt := filepath.Join(cache, "apt")
	debs := filepath.Join(cache, "debs", arch)
	for _, d := range []string{filepath.Join(apt, "lists", "partial"), filepath.Join(apt, "cache", "archives", "partial"), debs} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	opts := []string{
		"-o", "Dir::State::Lists=" + filepath.Join(apt, "lists"),
		"-o", "Dir::Cache=" + filepath.Join(apt, "cache"),
		"-o", "APT::Architectures::=amd64", "-o", "APT::Architectures::=arm64",
		"-o", "Debug::NoLocking=1", "-qq",
	}
	if err := fetchLibc6(ctx, opts, apt, debs, arch); err != nil {
		// Offline, the package fetched by an earlier build serves.
		if cached, _ := filepath.Glob(filepath.Join(debs, "libc6_*_"+arch+".deb")); len(cached) != 1 {
			return nil, fmt.Errorf("glibc for linux/%s: %w", arch, err)
		}
	}
	got, _ := filepath.Glob(filepath.Join(debs, "libc6_*_"+arch+".deb"))
	if len(got) != 1 {
		return nil, fmt.Errorf("glibc for linux/%s: expected one libc6 package in %s, found %v", arch, debs, got)
	}
	root := filepath.Join(debs, "root")
	if err := os.RemoveAll(root); err != nil {
		return nil, err
	}
	if _, err := command(ctx, debs, "dpkg-deb", "-x", got[0], root); err != nil {
		return nil, err
	}
	var dirs []string
	for _, d := range []string{"lib/" + triplet, "usr/lib/" + triplet} {
		if _, err := os.Stat(filepath.Join(root, d)); err == nil {
			dirs = append(dirs, filepath.Join(root, d))
		}
	}
	if len(dirs) == 0 {
		return nil, fmt.Errorf("%s holds no %s libraries", got[0], triplet)
	}
	return &Libc{Dirs: dirs, Version: debVersion(got[0])}, nil
}

// fetchLibc6 refreshes the package lists (once per process) and replaces
// the libc6 package in debs with the one the Debian release serves now.
func fetchLibc6(ctx context.Context, opts []string, apt, debs, arch string) error {
	aptUpdated.Lock()
	if !aptUpdated.done[apt] {
		if _, err := command(ctx, apt, "apt-get", append(opts, "update")...); err != nil {
			aptUpdated.Unlock()
			return err
		}
		aptUpdated.done[apt] = true
	}
	aptUpdated.Unlock()
	fresh := filepath.Join(debs, "new")
	if err := os.RemoveAll(fresh); err != nil {
		return err
	}
	if err := os.MkdirAll(fresh, 0o755); err != nil {
		return err
	}
	defer os.RemoveAll(fresh)
	if _, err := command(ctx, fresh, "apt-get", append(opts, "download", "libc6:"+arch)...); err != nil {
		return err
	}
	got, _ := filepath.Glob(filepath.Join(fresh, "libc6_*_"+arch+".deb"))
	if len(got) != 1 {
		return fmt.Errorf("apt-get download libc6:%s gave %v", arch, got)
	}
	// Only one version stays, so that the build finds exactly one.
	old, _ := filepath.Glob(filepath.Join(debs, "libc6_*.deb"))
	for _, f := range old {
		os.Remove(f)
	}
	return os.Rename(got[0], filepath.Join(debs, filepath.Base(got[0])))
}

// Libc is where one architecture's glibc was unpacked, and which version.
type Libc struct {
	Dirs []string
	// Version is the Debian package version (2.36-9+deb12u14), or "host".
	Version string
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
