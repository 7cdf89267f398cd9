package output

import (
	"context"
	"strings"
	"testing"
)

func TestHasKindCluster(t *testing.T) {
	if !HasKindCluster("kind\ndemo\n", "demo") {
		t.Error("missed demo")
	}
	if HasKindCluster("kind-demo\n", "demo") || HasKindCluster("", "kind") {
		t.Error("matched a cluster that is not there")
	}
}

// Without the CLI on PATH, --load says so before anything is built.
func TestLoaderNamesTheMissingCLI(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	for _, tool := range []string{"kind", "minikube"} {
		_, err := NewLoader(context.Background(), tool, "")
		if err == nil || !strings.Contains(err.Error(), "the "+tool+" CLI is not on PATH") {
			t.Errorf("%s: %v", tool, err)
		}
	}
	if _, err := NewLoader(context.Background(), "docker", ""); err == nil || !strings.Contains(err.Error(), "use kind or minikube") {
		t.Errorf("docker: %v", err)
	}
}
