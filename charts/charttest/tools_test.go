package charttest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/envoy-example/envoy-example/charts/render"
	"github.com/envoy-example/envoy-example/internal/repo"
)

// tool finds a binary the tests need: $<NAME>_BIN, else .bin/<name> at the
// repository root, else PATH. A missing tool fails the test.
func tool(t *testing.T, name string) string {
	t.Helper()
	env := strings.ToUpper(name) + "_BIN"
	if p := os.Getenv(env); p != "" {
		return p
	}
	if root, err := repo.Root(); err == nil {
		p := filepath.Join(root, ".bin", name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	t.Fatalf("no %s binary: run `make tools` (it builds %s into .bin/) or set %s", name, name, env)
	return ""
}

// runTool runs a binary and returns its combined output.
func runTool(t *testing.T, bin string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// chartDir is the chart under test.
func chartDir(t *testing.T) string {
	t.Helper()
	dir, err := render.ChartDir()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// renders caches one render per scenario: several tests look at each.
var renders sync.Map // scenario name -> *render.Release

func renderScenario(t *testing.T, s scenario) *render.Release {
	t.Helper()
	if r, ok := renders.Load(s.name); ok {
		return r.(*render.Release)
	}
	opts := s.opts
	opts.ValuesFiles = nil
	for _, f := range s.opts.ValuesFiles {
		if !filepath.IsAbs(f) {
			f = filepath.Join(chartDir(t), f)
		}
		opts.ValuesFiles = append(opts.ValuesFiles, f)
	}
	rel, err := render.Render(opts)
	if err != nil {
		t.Fatalf("scenario %s: %v", s.name, err)
	}
	renders.Store(s.name, rel)
	return rel
}
