// Command user serves user.v1.UserService over gRPC from an in-memory store
// seeded with the demo's users.
package main

import (
	"context"
	"io"
	"os"

	"github.com/envoy-example/envoy-example/services/internal/app"
	"github.com/envoy-example/envoy-example/services/internal/config"
	"github.com/envoy-example/envoy-example/services/user/userservice"
)

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stderr))
}

func run(args []string, getenv func(string) string, stderr io.Writer) int {
	fs := config.New("user", "user serves user.v1.UserService over gRPC, from an in-memory store seeded with the demo's users.", stderr)
	common := config.AddCommon(fs)
	seedScale := config.AddSeedScale(fs)
	if code, ok := app.ParseFlags(fs, args, getenv, common.Check, func() error { return config.CheckSeedScale(*seedScale) }); !ok {
		return code
	}
	return app.Run("user", common, stderr, func(ctx context.Context, p *app.Process) error {
		return userservice.Run(ctx, p, *seedScale)
	})
}
