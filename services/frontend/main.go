// Command frontend serves the demo's HTTP/1.1 JSON API: `GET /` answers the
// order report, gathered from the user and order services.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/envoy-example/envoy-example/services/frontend/frontendservice"
	"github.com/envoy-example/envoy-example/services/internal/app"
	"github.com/envoy-example/envoy-example/services/internal/config"
)

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stderr))
}

func run(args []string, getenv func(string) string, stderr io.Writer) int {
	fs := config.New("frontend", "frontend serves the order report as JSON over HTTP/1.1 (GET /, GET /?user=<id>),\ngathered from user.v1.UserService and order.v1.OrderService.", stderr)
	common := config.AddCommon(fs)
	var cfg frontendservice.Config
	fs.StringVar(&cfg.UserAddr, "user-addr", config.DefaultPeerAddr, "host:port of the user service (in a pod, the Envoy egress listener)")
	fs.StringVar(&cfg.OrderAddr, "order-addr", config.DefaultPeerAddr, "host:port of the order service (in a pod, the Envoy egress listener)")
	fs.DurationVar(&cfg.RequestTimeout, "request-timeout", 5*time.Second, "deadline of each request, inherited by every call made for it")
	if code, ok := app.ParseFlags(fs, args, getenv, common.Check,
		func() error { return config.CheckPeerAddr("user-addr", cfg.UserAddr) },
		func() error { return config.CheckPeerAddr("order-addr", cfg.OrderAddr) },
		func() error {
			if cfg.RequestTimeout <= 0 {
				return fmt.Errorf("--request-timeout must be positive, got %s", cfg.RequestTimeout)
			}
			return nil
		},
	); !ok {
		return code
	}
	return app.Run("frontend", common, stderr, func(ctx context.Context, p *app.Process) error {
		return frontendservice.Run(ctx, p, cfg)
	})
}
