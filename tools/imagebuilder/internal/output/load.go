package output

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// Loader puts docker-archive tarballs into a local cluster's container
// runtime through the cluster tool's own CLI.
type Loader struct {
	// Tool is "kind" or "minikube".
	Tool string
	// Cluster is the kind cluster name or the minikube profile.
	Cluster string
}

// NewLoader checks that the tool is known, its CLI is on PATH and its
// cluster is running, and says what to do when one of these is missing.
func NewLoader(ctx context.Context, tool, cluster string) (*Loader, error) {
	if cluster == "" {
		cluster = map[string]string{"kind": "kind", "minikube": "minikube"}[tool]
	}
	switch tool {
	case "kind", "minikube":
	default:
		return nil, fmt.Errorf("--load %q: use kind or minikube (or import out/images/*.tar with `ctr -n k8s.io images import`)", tool)
	}
	if _, err := exec.LookPath(tool); err != nil {
		return nil, fmt.Errorf("--load %s: the %s CLI is not on PATH; install it, or load the tarballs in out/images yourself", tool, tool)
	}
	l := &Loader{Tool: tool, Cluster: cluster}
	switch tool {
	case "kind":
		out, err := run(ctx, "kind", "get", "clusters")
		if err != nil {
			return nil, fmt.Errorf("--load kind: `kind get clusters` failed: %w", err)
		}
		if !HasKindCluster(out, cluster) {
			return nil, fmt.Errorf("--load kind: no kind cluster named %q is running (`kind create cluster --name %s` creates one; --cluster picks another)", cluster, cluster)
		}
	case "minikube":
		if _, err := run(ctx, "minikube", "status", "--profile", cluster); err != nil {
			return nil, fmt.Errorf("--load minikube: minikube profile %q is not running (`minikube start --profile %s` starts it): %w", cluster, cluster, err)
		}
	}
	return l, nil
}

// Load imports one docker-archive tarball.
func (l *Loader) Load(ctx context.Context, tarball string) error {
	var err error
	switch l.Tool {
	case "kind":
		_, err = run(ctx, "kind", "load", "image-archive", tarball, "--name", l.Cluster)
	case "minikube":
		_, err = run(ctx, "minikube", "image", "load", tarball, "--profile", l.Cluster)
	}
	if err != nil {
		return fmt.Errorf("%s load %s: %w", l.Tool, tarball, err)
	}
	return nil
}

// HasKindCluster reports whether `kind get clusters` output lists name.
// kind prints one cluster per line, or "No kind clusters found." on stderr.
func HasKindCluster(out, name string) bool {
	for _, line := range strings.Split(out, "\n") {
		if strings.TrimSpace(line) == name {
			return true
		}
	}
	return false
}

func run(ctx context.Context, name string, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = strings.TrimSpace(stdout.String())
		}
		return stdout.String(), errors.Join(err, errors.New(msg))
	}
	return stdout.String(), nil
}
