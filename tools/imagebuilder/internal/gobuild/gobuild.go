// Package gobuild compiles Go main packages into static Linux binaries whose
// bytes depend only on the source, the toolchain and the target platform.
package gobuild

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Build describes one binary.
type Build struct {
	// Dir is the module directory the go command runs in (the main module,
	// or a component's own module under tools/).
	Dir string
	// Package is the import path or ./relative path of the main package.
	Package string
	// Arch is the GOARCH (amd64, arm64).
	Arch string
	// Out is the path of the binary to write.
	Out string
	// LDFlags are added after -s -w (for example -X main.version=…).
	LDFlags []string
	// Tags are build tags.
	Tags []string
}

// Run compiles b. Every setting that changes the output bytes is fixed here
// rather than taken from the caller's environment: no cgo, no paths of this
// machine in the binary (-trimpath), no VCS stamp (it would differ between a
// clean clone and a dirty tree), no symbol table, and the baseline
// instruction set of each architecture.
func Run(ctx context.Context, b Build) error {
	if err := os.MkdirAll(filepath.Dir(b.Out), 0o755); err != nil {
		return err
	}
	ldflags := append([]string{"-s", "-w", "-buildid="}, b.LDFlags...)
	args := []string{"build", "-trimpath", "-buildvcs=false", "-ldflags=" + strings.Join(ldflags, " "), "-o", b.Out}
	if len(b.Tags) > 0 {
		args = append(args, "-tags="+strings.Join(b.Tags, ","))
	}
	args = append(args, b.Package)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = b.Dir
	cmd.Env = Env(os.Environ(), b.Arch)
	var stderr bytes.Buffer
	cmd.Stdout = &stderr
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build %s for linux/%s: %w\n%s", b.Package, b.Arch, err, stderr.String())
	}
	return nil
}

// Env returns base with the variables that decide a static, reproducible
// cross build set, and those that would change the output removed.
func Env(base []string, arch string) []string {
	drop := map[string]bool{
		"CGO_ENABLED": true, "GOOS": true, "GOARCH": true, "GOAMD64": true,
		"GOARM64": true, "GOEXPERIMENT": true, "GOFLAGS": true, "GOWORK": true,
	}
	var env []string
	for _, kv := range base {
		if k, _, ok := strings.Cut(kv, "="); ok && drop[k] {
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch,
		"GOAMD64=v1", "GOARM64=v8.0",
		// Builds read go.sum as committed and never edit go.mod.
		"GOFLAGS=-mod=readonly",
		// Each build is of one module, by its own go.mod: the example's
		// apps from the root, the wing's programs from tools/, a
		// component from its folder; the root's go.work ties the first two
		// for development only.
		"GOWORK=off",
	)
}
