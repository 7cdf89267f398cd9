package main

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/envoy-example/envoy-example/internal/repo"
	"github.com/envoy-example/envoy-example/internal/testenv"
	"github.com/envoy-example/envoy-example/tools/imagebuilder/internal/build"
	"github.com/envoy-example/envoy-example/tools/imagebuilder/internal/pins"
)

// This file holds the helpers the image tests share: reading what the
// builder wrote, unpacking an image's filesystem, and running a program
// from it as the container runtime would (chroot, the image's user).

// rootAndPins returns the repository root and its pins.
func rootAndPins(t *testing.T) (string, *pins.Pins) {
	t.Helper()
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	p, err := pins.Load(root)
	if err != nil {
		t.Fatal(err)
	}
	return root, p
}

// buildInto runs the builder as `imagebuilder args…` with --out out.
func buildInto(t *testing.T, out string, c config) []build.Result {
	t.Helper()
	c.out = out
	var stdout, stderr bytes.Buffer
	start := time.Now()
	results, err := buildAll(t.Context(), c, &stdout, &stderr)
	t.Logf("build took %.1fs:\n%s%s", time.Since(start).Seconds(), stdout.String(), stderr.String())
	if err != nil {
		t.Fatal(err)
	}
	return results
}

// platforms lists an index's platforms as os/arch.
func platforms(t *testing.T, idx v1.ImageIndex) []string {
	t.Helper()
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range m.Manifests {
		out = append(out, d.Platform.OS+"/"+d.Platform.Architecture)
	}
	return out
}

// config reads an image's config file.
func configOf(t *testing.T, img v1.Image) *v1.ConfigFile {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	return cf
}

// fileSum is the sha256 of a file, to compare two builds' outputs byte for byte.
func fileSum(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// archiveTags reads the RepoTags a docker-archive tarball declares, and
// loads its image back as a runtime importing it would.
func archiveTags(t *testing.T, path string) ([]string, v1.Image) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	var manifest []struct{ RepoTags []string }
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Name == "manifest.json" {
			if err := json.NewDecoder(tr).Decode(&manifest); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(manifest) != 1 {
		t.Fatalf("%s: %d images in manifest.json", path, len(manifest))
	}
	img, err := tarball.ImageFromPath(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return manifest[0].RepoTags, img
}

// unpack writes img's flattened filesystem under a new directory and
// returns it, with the tar headers by path (for modes, owners, xattrs).
func unpack(t *testing.T, img v1.Image) (string, map[string]*tar.Header) {
	t.Helper()
	dir := t.TempDir()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	headers := map[string]*tar.Header{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		name := "/" + strings.TrimSuffix(h.Name, "/")
		headers[name] = h
		p := filepath.Join(dir, name)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
		case tar.TypeSymlink:
			if err := os.Symlink(h.Linkname, p); err != nil {
				t.Fatal(err)
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, b, os.FileMode(h.Mode).Perm()); err != nil {
				t.Fatal(err)
			}
		default:
			t.Fatalf("%s: unexpected tar type %c", name, h.Typeflag)
		}
	}
	// Modes last, so that a read-only directory does not stop the unpacking.
	for name, h := range headers {
		if h.Typeflag == tar.TypeDir {
			mode := os.FileMode(h.Mode).Perm()
			if h.Mode&0o1000 != 0 {
				mode |= os.ModeSticky
			}
			if err := os.Chmod(filepath.Join(dir, name), mode); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir, headers
}

// inImage returns a command that runs args[0] (a path inside the image)
// as the container runtime would: with root as its root directory and as
// uid:gid. That needs root; without it the program runs from the unpacked
// tree as the current user, which serves for static binaries only.
func inImage(t *testing.T, root string, uid, gid int, args ...string) *exec.Cmd {
	t.Helper()
	if os.Geteuid() != 0 {
		cmd := exec.Command(filepath.Join(root, args[0]), args[1:]...)
		return cmd
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Chroot:     root,
		Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)},
	}
	return cmd
}

// needRoot stops a check that only means something under chroot: it
// skips without root, and fails under CI=true (internal/testenv).
func needRoot(t *testing.T, why string) {
	t.Helper()
	testenv.Root(t, why+" (chroot into the image)")
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitHTTP polls url until it answers 200 or the deadline passes, and
// returns the body.
func waitHTTP(url string, within time.Duration, exited <-chan error) (string, error) {
	deadline := time.Now().Add(within)
	client := &http.Client{Timeout: time.Second}
	var last error
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return "", fmt.Errorf("the program exited before answering: %v", err)
		default:
		}
		resp, err := client.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return string(b), nil
			}
			err = fmt.Errorf("%s: %s", url, resp.Status)
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	return "", fmt.Errorf("no 200 from %s within %s: %v", url, within, last)
}

// elfClosure checks, without running it, that the program at path inside
// the unpacked image finds its loader and every library it needs inside
// the image (in the directories the Debian loader searches by default).
func elfClosure(t *testing.T, root, path, triplet string) {
	t.Helper()
	f, err := elf.Open(filepath.Join(root, path))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	interp := interpreter(t, f)
	if interp == "" {
		t.Fatalf("%s has no interpreter", path)
	}
	if _, err := os.Stat(filepath.Join(root, interp)); err != nil {
		t.Errorf("%s: loader %s missing from the image", path, interp)
	}
	queue, err := f.ImportedLibraries()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{filepath.Base(interp): true}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		if seen[name] {
			continue
		}
		seen[name] = true
		found := ""
		for _, dir := range []string{"/lib/" + triplet, "/usr/lib/" + triplet, "/lib", "/usr/lib"} {
			if _, err := os.Stat(filepath.Join(root, dir, name)); err == nil {
				found = filepath.Join(root, dir, name)
				break
			}
		}
		if found == "" {
			t.Errorf("%s needs %s, which the image lacks", path, name)
			continue
		}
		lf, err := elf.Open(found)
		if err != nil {
			t.Fatal(err)
		}
		more, err := lf.ImportedLibraries()
		lf.Close()
		if err != nil {
			t.Fatal(err)
		}
		queue = append(queue, more...)
	}
}

// runOK runs cmd and returns its combined output, failing on a non-zero exit.
func runOK(t *testing.T, cmd *exec.Cmd) string {
	t.Helper()
	out, err := cmd.CombinedOutput()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("%v: %v\n%s", cmd.Args, err, out)
		}
		t.Fatalf("%v: %v", cmd.Args, err)
	}
	return string(out)
}

// interpreter is an ELF file's PT_INTERP, empty for a static binary.
func interpreter(t *testing.T, f *elf.File) string {
	t.Helper()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			b := make([]byte, p.Filesz)
			if _, err := p.ReadAt(b, 0); err != nil {
				t.Fatal(err)
			}
			return strings.TrimRight(string(b), "\x00")
		}
	}
	return ""
}
