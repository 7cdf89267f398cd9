package components

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// command runs name with args in dir and returns its standard output,
// or an error carrying its standard error.
func command(ctx context.Context, dir, name string, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	// dir is a module of its own, outside the root's go.work.
	cmd.Env = append(os.Environ(), "GOWORK=off")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// goListDir is the directory of module in dir's build list.
func goListDir(ctx context.Context, dir, module string) (string, error) {
	out, err := command(ctx, dir, "go", "list", "-mod=readonly", "-m", "-f", "{{.Dir}}", module)
	if err != nil {
		return "", err
	}
	if d := strings.TrimSpace(out); d != "" {
		return d, nil
	}
	// In the build list but not downloaded yet.
	if _, err := command(ctx, dir, "go", "mod", "download", module); err != nil {
		return "", err
	}
	out, err = command(ctx, dir, "go", "list", "-mod=readonly", "-m", "-f", "{{.Dir}}", module)
	if d := strings.TrimSpace(out); err == nil && d != "" {
		return d, nil
	}
	return "", fmt.Errorf("go list -m %s: no directory after download: %v", module, err)
}
