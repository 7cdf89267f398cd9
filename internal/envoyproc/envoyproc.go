// Package envoyproc finds, checks, validates and runs a real Envoy binary
// as a process: the official build at the version pinned in versions.mk.
// Tests use it to put the bootstraps the chart renders through the real
// thing (package envoytest gives them the pinned binary).
//
//	bin, err := envoyproc.FindPinned(ctx)        // .bin/envoy from `make tools`
//	err = envoyproc.Validate(ctx, bin, "envoy.yaml", "--service-node", "test")
//	p, err := envoyproc.Start(ctx, bin, envoyproc.Options{ConfigPath: "envoy.yaml"})
//	defer p.Stop()
package envoyproc

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/envoy-example/envoy-example/internal/repo"
)

// BinEnv names the environment variable that overrides where the binary is.
const BinEnv = "ENVOY_BIN"

// Find returns the path of the Envoy binary: $ENVOY_BIN when set, else
// .bin/envoy at the repository root (what `make tools` installs), else
// envoy on PATH. The error says how to get one.
func Find() (string, error) {
	if p := os.Getenv(BinEnv); p != "" {
		if err := executable(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w", BinEnv, p, err)
		}
		return p, nil
	}
	if root, err := repo.Root(); err == nil {
		p := filepath.Join(root, ".bin", "envoy")
		if executable(p) == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath("envoy"); err == nil {
		return p, nil
	}
	return "", errors.New("no Envoy binary: run `make tools` (installs the official build into .bin/envoy) or set " + BinEnv)
}

func executable(p string) error {
	st, err := os.Stat(p)
	if err != nil {
		return err
	}
	if st.IsDir() || st.Mode()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file", p)
	}
	return nil
}

// versionRE picks the release out of `envoy --version`:
// "envoy  version: 9e55.../1.40.0/Clean/RELEASE/BoringSSL".
var versionRE = regexp.MustCompile(`version: [0-9a-f]+/([0-9]+\.[0-9]+\.[0-9]+[^/]*)/`)

// Version runs `bin --version` and returns the release, e.g. "1.40.0".
func Version(ctx context.Context, bin string) (string, error) {
	out, err := exec.CommandContext(ctx, bin, "--version").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s --version: %w\n%s", bin, err, out)
	}
	return ParseVersion(string(out))
}

// ParseVersion returns the release in the output of `envoy --version`.
func ParseVersion(out string) (string, error) {
	m := versionRE.FindStringSubmatch(out)
	if m == nil {
		return "", fmt.Errorf("no Envoy version in %q", strings.TrimSpace(out))
	}
	return m[1], nil
}

// PinnedVersion returns ENVOY_VERSION from versions.mk at the repository
// root: the release the chart's image and the tests use.
func PinnedVersion() (string, error) { return repo.Pin("ENVOY_VERSION") }

// FindPinned finds the binary and checks it is the pinned release.
func FindPinned(ctx context.Context) (string, error) {
	bin, err := Find()
	if err != nil {
		return "", err
	}
	want, err := PinnedVersion()
	if err != nil {
		return "", err
	}
	got, err := Version(ctx, bin)
	if err != nil {
		return "", err
	}
	if got != want {
		return "", fmt.Errorf("%s is Envoy %s, versions.mk pins %s: run `make tools`", bin, got, want)
	}
	return bin, nil
}

// Validate runs `bin --mode validate -c configPath args...`: Envoy parses
// the bootstrap and builds every listener and cluster without serving.
// args are the command-line options the config is meant to run with
// (node identity, for instance). The error carries Envoy's own message.
func Validate(ctx context.Context, bin, configPath string, args ...string) error {
	cmdArgs := append([]string{"--mode", "validate", "-c", configPath}, args...)
	out, err := exec.CommandContext(ctx, bin, cmdArgs...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("envoy --mode validate %s: %w\n%s", configPath, err, problems(out))
	}
	return nil
}

// problems keeps the lines of Envoy's output that explain a failure: the
// ones not at info or debug level (the rest lists every extension).
func problems(out []byte) string {
	var keep []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if strings.Contains(line, "][info][") || strings.Contains(line, "][debug][") {
			continue
		}
		keep = append(keep, line)
	}
	if len(keep) == 0 {
		return string(out)
	}
	return strings.Join(keep, "\n")
}
