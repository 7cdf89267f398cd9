package certgen

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

// Command is one run of services/certgen, from its command line:
//
//	certgen issue --namespace default --ca-secret demo-mtls-ca --lifetime 24h --rotation "" \
//	  --leaf demo-user-mtls=spiffe://cluster.local/ns/default/sa/demo-user ... --label k=v ...
//	certgen delete --namespace default --ca-secret demo-mtls-ca
//
// The parsing lives here, not in package main, so that the chart's tests
// read the rendered Job's arguments exactly as the program does.
type Command struct {
	Name   string // issue or delete
	Config Config // issue; delete reads Namespace and CASecret
}

// ParseArgs parses the arguments after the program name.
func ParseArgs(args []string) (Command, error) {
	if len(args) == 0 || (args[0] != "issue" && args[0] != "delete") {
		return Command{}, errors.New("usage: certgen issue|delete [flags]")
	}
	cmd := Command{Name: args[0], Config: Config{Labels: map[string]string{}}}
	fs := flag.NewFlagSet("certgen "+cmd.Name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&cmd.Config.Namespace, "namespace", "", "namespace of the Secrets")
	fs.StringVar(&cmd.Config.CASecret, "ca-secret", "", "the CA's Secret (delete: its leaves go with it)")
	if cmd.Name == "issue" {
		fs.DurationVar(&cmd.Config.Lifetime, "lifetime", 24*time.Hour, "lifetime of each leaf certificate")
		fs.StringVar(&cmd.Config.Rotation, "rotation", "", "rotation token: a new one renews every leaf")
		fs.Func("leaf", "<secret>=<SPIFFE ID>, once per workload", func(v string) error {
			secret, id, ok := strings.Cut(v, "=")
			if !ok || secret == "" || id == "" {
				return fmt.Errorf("%q is not <secret>=<SPIFFE ID>", v)
			}
			cmd.Config.Leaves = append(cmd.Config.Leaves, Leaf{Secret: secret, SPIFFEID: id})
			return nil
		})
		fs.Func("label", "<key>=<value> on every Secret made", func(v string) error {
			k, val, ok := strings.Cut(v, "=")
			if !ok || k == "" {
				return fmt.Errorf("%q is not <key>=<value>", v)
			}
			cmd.Config.Labels[k] = val
			return nil
		})
	}
	if err := fs.Parse(args[1:]); err != nil {
		return Command{}, err
	}
	if fs.NArg() > 0 {
		return Command{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if cmd.Config.Namespace == "" {
		return Command{}, errors.New("--namespace is required")
	}
	if cmd.Name == "issue" {
		if err := cmd.Config.validate(); err != nil {
			return Command{}, err
		}
	} else if cmd.Config.CASecret == "" {
		return Command{}, errors.New("--ca-secret is required: certgen deletes the CA Secret, and its leaves go with it")
	}
	return cmd, nil
}
