package main

import (
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/envoy-example/envoy-example/tools/imagebuilder/internal/apps"
	"github.com/envoy-example/envoy-example/tools/imagebuilder/internal/build"
	"github.com/envoy-example/envoy-example/tools/imagebuilder/internal/image"
	"github.com/envoy-example/envoy-example/tools/imagebuilder/internal/output"
	"github.com/envoy-example/envoy-example/tools/imagebuilder/internal/pins"
)

// services are the images whose binary serves the ops-port /healthz contract
// (--ops-listen, --listen); smoke is a client and is checked otherwise.
var services = []string{"frontend", "user", "order", "item", "item-bridge"}

// TestOurImages builds our images twice, as `make images` does, and checks
// what the chart and a cluster rely on: references, platforms, config,
// labels, the tarballs and the OCI layout, the same digests both times,
// and that each amd64 binary taken out of its image starts and answers.
func TestOurImages(t *testing.T) {
	root, p := rootAndPins(t)
	for _, app := range apps.All {
		if !apps.Present(root, app) {
			t.Fatalf("%s has no main package: the chart runs an image of it", app.Package)
		}
	}
	// The tree's state is read once, so that both builds see the same
	// revision and time even when someone edits or commits meanwhile in a
	// shared working tree (a fresh clone in CI does not move).
	revision := pins.Revision(root)
	epoch, err := pins.Epoch(root)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOURCE_DATE_EPOCH", fmt.Sprint(epoch.Unix()))
	out1 := t.TempDir()
	first := buildInto(t, out1, config{root: root, revision: revision})
	// The Go programs, and the item service's PHP application.
	if len(first) != len(apps.All)+1 {
		t.Fatalf("built %d images, want %d", len(first), len(apps.All)+1)
	}

	for _, res := range first {
		t.Run(res.Name+"/config", func(t *testing.T) {
			if res.Name == apps.ItemPHPName {
				itemPHPConfig(t, res)
				return
			}
			if want := "envoy-example/" + res.Name + ":" + p.AppVersion; res.Ref != want {
				t.Errorf("reference %s, want %s (from Chart.yaml's appVersion)", res.Ref, want)
			}
			if got := platforms(t, res.Index); !slices.Equal(got, []string{"linux/amd64", "linux/arm64"}) {
				t.Errorf("platforms %v", got)
			}
			for arch, img := range res.Images {
				cf := configOf(t, img)
				if cf.OS != "linux" || cf.Architecture != arch {
					t.Errorf("%s: config platform %s/%s", arch, cf.OS, cf.Architecture)
				}
				if want := []string{"/usr/local/bin/" + res.Name}; !slices.Equal(cf.Config.Entrypoint, want) {
					t.Errorf("%s: entrypoint %q, want %q", arch, cf.Config.Entrypoint, want)
				}
				if cf.Config.User != "65532:65532" {
					t.Errorf("%s: user %q, want 65532:65532", arch, cf.Config.User)
				}
				for k, want := range map[string]string{
					image.LabelSource:   "https://github.com/envoy-example/envoy-example",
					image.LabelRevision: revision,
					image.LabelVersion:  p.AppVersion,
				} {
					if got := cf.Config.Labels[k]; got != want {
						t.Errorf("%s: label %s = %q, want %q", arch, k, got, want)
					}
				}
				// The binary is static: a program with an ELF interpreter
				// would not start on an empty base.
				dir, headers := unpack(t, img)
				bin := filepath.Join(dir, "usr/local/bin", res.Name)
				if _, err := os.Stat(bin); err != nil {
					t.Fatal(err)
				}
				if h := headers["/usr/local/bin/"+res.Name]; h.Uid != 0 || h.Mode&0o777 != 0o755 {
					t.Errorf("%s: binary owned by %d mode %o", arch, h.Uid, h.Mode)
				}
				if h := headers["/tmp"]; h == nil || h.Mode&0o1777 != 0o1777 {
					t.Errorf("%s: no world-writable /tmp", arch)
				}
				assertStatic(t, bin)
			}
		})
		t.Run(res.Name+"/tarballs", func(t *testing.T) {
			for arch, path := range res.Tarballs {
				tags, img := archiveTags(t, path)
				if !slices.Equal(tags, []string{res.Ref}) {
					t.Errorf("%s: RepoTags %v, want [%s]", path, tags, res.Ref)
				}
				// A docker archive keeps the config and layers, not the
				// manifest (an importer writes its own): the config digest
				// (the image ID) is what must match.
				got, _ := img.ConfigName()
				want, _ := res.Images[arch].ConfigName()
				if got != want {
					t.Errorf("%s holds image ID %s, built %s", path, got, want)
				}
			}
		})
	}

	t.Run("layout", func(t *testing.T) {
		b, err := os.ReadFile(filepath.Join(out1, "oci", "index.json"))
		if err != nil {
			t.Fatal(err)
		}
		var index struct {
			Manifests []struct {
				Digest      string
				Annotations map[string]string
			}
		}
		if err := json.Unmarshal(b, &index); err != nil {
			t.Fatal(err)
		}
		byRef := map[string]string{}
		for _, m := range index.Manifests {
			byRef[m.Annotations[image.RefName]] = m.Digest
		}
		for _, res := range first {
			if byRef[res.Ref] != res.Digest.String() {
				t.Errorf("layout has %s at %q, built %s", res.Ref, byRef[res.Ref], res.Digest)
			}
		}
	})

	// Reproducible: a second build of the same tree, into another
	// directory, gives the same digests and byte-identical tarballs.
	t.Run("reproducible", func(t *testing.T) {
		second := buildInto(t, t.TempDir(), config{root: root, revision: revision})
		if len(second) != len(first) {
			t.Fatalf("%d images the second time, %d the first", len(second), len(first))
		}
		for i := range first {
			a, b := first[i], second[i]
			t.Logf("%-10s %s / %s", a.Name, a.Digest, b.Digest)
			if a.Digest != b.Digest {
				t.Errorf("%s: index %s then %s", a.Ref, a.Digest, b.Digest)
			}
			for arch := range a.Tarballs {
				if fileSum(t, a.Tarballs[arch]) != fileSum(t, b.Tarballs[arch]) {
					t.Errorf("%s: tarballs differ", a.Tarballs[arch])
				}
			}
		}
	})

	for _, res := range first {
		if !slices.Contains(services, res.Name) {
			continue
		}
		t.Run(res.Name+"/healthz", func(t *testing.T) { serviceAnswers(t, res) })
	}
	for _, res := range first {
		switch res.Name {
		case "smoke":
			t.Run("smoke/starts", func(t *testing.T) { smokeStarts(t, res) })
		case "certgen":
			t.Run("certgen/starts", func(t *testing.T) { certgenStarts(t, res) })
		case apps.ItemPHPName:
			t.Run(res.Name+"/serves", func(t *testing.T) { itemPHPServes(t, res) })
		}
	}

	// --push: the indexes go to a registry (a real OCI distribution
	// server from go-containerregistry, on loopback) and come back whole.
	t.Run("push", func(t *testing.T) {
		srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
		defer srv.Close()
		host := strings.TrimPrefix(srv.URL, "http://")
		for _, res := range first {
			dst, err := output.Push(t.Context(), host, res.Ref, res.Index, name.Insecure)
			if err != nil {
				t.Fatal(err)
			}
			if want := host + "/envoy-example/" + res.Name + ":" + p.AppVersion; dst.String() != want {
				t.Errorf("pushed to %s, want %s", dst, want)
			}
			idx, err := remote.Index(dst)
			if err != nil {
				t.Fatal(err)
			}
			if d, _ := idx.Digest(); d != res.Digest {
				t.Errorf("%s: registry has %s, built %s", dst, d, res.Digest)
			}
		}
	})
}

// serviceAnswers runs the service's amd64 binary from its image, as the
// image's user, and asks its ops server for /healthz.
func serviceAnswers(t *testing.T, res build.Result) {
	dir, _ := unpack(t, res.Images["amd64"])
	ops, listen := freePort(t), freePort(t)
	cmd := inImage(t, dir, 65532, 65532, "/usr/local/bin/"+res.Name,
		fmt.Sprintf("--ops-listen=127.0.0.1:%d", ops), fmt.Sprintf("--listen=127.0.0.1:%d", listen))
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
		}
	}()
	body, err := waitHTTP(fmt.Sprintf("http://127.0.0.1:%d/healthz", ops), 15*time.Second, exited)
	if err != nil {
		t.Fatalf("%v\n%s", err, logs.String())
	}
	t.Logf("%s /healthz: %q", res.Name, strings.TrimSpace(body))
}

// smokeStarts checks that the smoke checker's binary runs from its image
// as its user: asked for --help, it prints its usage and exits 0 or 2 (the
// flag package's two conventions), rather than failing to start.
func smokeStarts(t *testing.T, res build.Result) {
	dir, _ := unpack(t, res.Images["amd64"])
	out, err := inImage(t, dir, 65532, 65532, "/usr/local/bin/smoke", "--help").CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 2) {
		t.Fatalf("smoke --help: %v\n%s", err, out)
	}
	if len(strings.TrimSpace(string(out))) == 0 {
		t.Error("smoke --help printed nothing")
	}
}

// certgenStarts checks that the certificate generator's binary runs from
// its image as its user and parses the chart's kind of arguments: outside
// a pod it stops, exit 1, at the in-cluster config it needs.
func certgenStarts(t *testing.T, res build.Result) {
	dir, _ := unpack(t, res.Images["amd64"])
	out, err := inImage(t, dir, 65532, 65532, "/usr/local/bin/certgen", "issue", "--namespace=default",
		"--ca-secret=demo-mtls-ca", "--leaf=demo-user-mtls=spiffe://cluster.local/ns/default/sa/demo-user").CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), "in-cluster config") {
		t.Fatalf("certgen issue outside a pod: %v\n%s\nwant exit 1 at the in-cluster config", err, out)
	}
}

// assertStatic fails when the ELF file at path asks for a dynamic loader.
func assertStatic(t *testing.T, path string) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if interp := interpreter(t, f); interp != "" {
		t.Errorf("%s is dynamically linked (loader %s)", path, interp)
	}
}
