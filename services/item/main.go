// Command item serves item.v1.ItemService over gRPC from an in-memory
// catalogue seeded with the demo's items.
package main

import (
	"context"
	"io"
	"os"

	"github.com/envoy-example/envoy-example/services/internal/app"
	"github.com/envoy-example/envoy-example/services/internal/config"
	"github.com/envoy-example/envoy-example/services/item/itemservice"
)

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stderr))
}

func run(args []string, getenv func(string) string, stderr io.Writer) int {
	fs := config.New("item", "item serves item.v1.ItemService over gRPC, from an in-memory catalogue seeded with the demo's items.", stderr)
	common := config.AddCommon(fs)
	seedScale := config.AddSeedScale(fs)
	if code, ok := app.ParseFlags(fs, args, getenv, common.Check, func() error { return config.CheckSeedScale(*seedScale) }); !ok {
		return code
	}
	return app.Run("item", common, stderr, func(ctx context.Context, p *app.Process) error {
		return itemservice.Run(ctx, p, *seedScale)
	})
}
