// Command item serves item.v1.ItemService over gRPC from an in-memory
// catalogue seeded with the demo's items.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

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
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	p, err := app.Listen("item", common, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "item: %v\n", err)
		return 1
	}
	return p.Exit(itemservice.Run(ctx, p, *seedScale))
}
