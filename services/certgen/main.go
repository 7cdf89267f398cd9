// Command certgen keeps the chart's mTLS certificates (internal/certgen):
// the chart runs `certgen issue` as a pre-install and pre-upgrade hook Job,
// and `certgen delete` as a post-delete one, with a ServiceAccount whose
// Role names the Secrets it may read, update and delete (it may create
// Secrets, and list none). It talks to
// the API server with the pod's ServiceAccount token (in-cluster config).
//
// It prints one line per Secret: kept, created or renewed, its serial and
// validity, so that `kubectl logs job/<release>-certgen` says what changed.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/envoy-example/envoy-example/internal/certgen"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "certgen:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	cmd, err := certgen.ParseArgs(args)
	if err != nil {
		return err
	}
	cfg, err := rest.InClusterConfig()
	if err != nil {
		return fmt.Errorf("in-cluster config (certgen runs in a pod): %w", err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	// The hook Job has its own deadline; this bounds a hung API call.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if cmd.Name == "delete" {
		deleted, err := certgen.Delete(ctx, cs, cmd.Config.Namespace, cmd.Config.CASecret)
		switch {
		case err != nil:
		case deleted:
			fmt.Println("deleted", cmd.Config.CASecret, "(its leaf Secrets go with it: the garbage collector deletes what it owns)")
		default:
			fmt.Println("no Secret", cmd.Config.CASecret, "to delete")
		}
		return err
	}
	results, err := certgen.Issue(ctx, cs, cmd.Config)
	for _, r := range results {
		fmt.Println(r)
	}
	return err
}
