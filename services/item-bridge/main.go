// Command item-bridge serves item.v1.ItemService over gRPC for the item
// service's PHP application: every call becomes one FastCGI request to
// PHP-FPM in the same pod (package bridge). With
// services.item.implementation=php the chart runs it as the item app, on
// the port the Go item service would use.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/envoy-example/envoy-example/services/internal/app"
	"github.com/envoy-example/envoy-example/services/internal/config"
	"github.com/envoy-example/envoy-example/services/item-bridge/bridge"
)

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stderr))
}

func run(args []string, getenv func(string) string, stderr io.Writer) int {
	fs := config.New("item-bridge", "item-bridge serves item.v1.ItemService over gRPC by passing each call to the item service's PHP application under PHP-FPM, as a FastCGI request.", stderr)
	common := config.AddCommon(fs)
	seedScale := config.AddSeedScale(fs)
	c := bridge.Config{}
	fs.StringVar(&c.FPMAddr, "php-fpm-addr", bridge.DefaultFPMAddr, "host:port of PHP-FPM's FastCGI listener")
	fs.StringVar(&c.Script, "php-script", bridge.DefaultScript, "the PHP application's front script, as a path in PHP-FPM's filesystem (SCRIPT_FILENAME)")
	fs.DurationVar(&c.Timeout, "php-timeout", bridge.DefaultTimeout, "longest wait for PHP-FPM's answer to one call (a sooner deadline of the caller wins); then DEADLINE_EXCEEDED")
	fs.DurationVar(&c.ProbeInterval, "php-probe-interval", bridge.DefaultProbeInterval, "how often PHP-FPM is probed; gRPC health and /readyz say not serving while it does not answer")
	checks := []func() error{
		common.Check,
		func() error { return config.CheckSeedScale(*seedScale) },
		func() error { return config.CheckPeerAddr("php-fpm-addr", c.FPMAddr) },
		func() error { return positive("php-timeout", c.Timeout) },
		func() error { return positive("php-probe-interval", c.ProbeInterval) },
	}
	if code, ok := app.ParseFlags(fs, args, getenv, checks...); !ok {
		return code
	}
	c.SeedScale = *seedScale
	return app.Run("item-bridge", common, stderr, func(ctx context.Context, p *app.Process) error {
		return bridge.Run(ctx, p, c)
	})
}

func positive(name string, d time.Duration) error {
	if d.Seconds() <= 0 {
		return fmt.Errorf("--%s must be positive, got %v", name, d)
	}
	return nil
}
