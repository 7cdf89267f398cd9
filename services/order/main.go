// Command order serves order.v1.OrderService over gRPC from an in-memory
// store seeded with the demo's orders, resolving their items by calling the
// item service.
package main

import (
	"context"
	"io"
	"os"

	"github.com/envoy-example/envoy-example/services/internal/app"
	"github.com/envoy-example/envoy-example/services/internal/config"
	"github.com/envoy-example/envoy-example/services/order/orderservice"
)

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stderr))
}

func run(args []string, getenv func(string) string, stderr io.Writer) int {
	fs := config.New("order", "order serves order.v1.OrderService over gRPC, from an in-memory store seeded with the demo's orders;\nit resolves their items by calling item.v1.ItemService.", stderr)
	common := config.AddCommon(fs)
	seedScale := config.AddSeedScale(fs)
	itemAddr := fs.String("item-addr", config.DefaultPeerAddr, "host:port of the item service (in a pod, the Envoy egress listener)")
	if code, ok := app.ParseFlags(fs, args, getenv, common.Check,
		func() error { return config.CheckSeedScale(*seedScale) },
		func() error { return config.CheckPeerAddr("item-addr", *itemAddr) },
	); !ok {
		return code
	}
	return app.Run("order", common, stderr, func(ctx context.Context, p *app.Process) error {
		return orderservice.Run(ctx, p, *seedScale, *itemAddr)
	})
}
