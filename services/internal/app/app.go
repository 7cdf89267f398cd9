// Package app is the life of one service process: its two listeners (the
// service's own server and the ops server), its metrics registry, its
// clients to peers, and the order of things on SIGTERM: readiness and gRPC
// health turn not-serving first, the calls in flight finish (bounded by
// --shutdown-timeout), then the process exits 0.
package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	grpcprom "github.com/grpc-ecosystem/go-grpc-prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/envoy-example/envoy-example/services/internal/config"
	"github.com/envoy-example/envoy-example/services/internal/faults"
	"github.com/envoy-example/envoy-example/services/internal/grpcserver"
	"github.com/envoy-example/envoy-example/services/internal/logging"
	"github.com/envoy-example/envoy-example/services/internal/opsserver"
	"github.com/envoy-example/envoy-example/services/internal/propagation"
)

// Process is one running service.
type Process struct {
	Name   string
	Logger *slog.Logger
	// Listener is the service's own server; OpsListener serves /metrics,
	// /healthz and /readyz.
	Listener, OpsListener net.Listener
	ShutdownTimeout       time.Duration
	// DrainDelay: after SIGTERM, how long the service keeps taking calls
	// while it reports not ready (callers' health checks take it out
	// meanwhile), before it drains.
	DrainDelay time.Duration
	// Registry holds every metric the ops server exposes.
	Registry  *prometheus.Registry
	Readiness opsserver.Readiness
	// Faults the app injects into its own calls (--fail-rate,
	// --extra-latency); the zero value injects none.
	Faults faults.Settings

	clientMetricsOnce sync.Once
	clientMetrics     *grpcprom.ClientMetrics
	clientMetricsErr  error
}

// NewProcess returns a Process on listeners that are already bound.
func NewProcess(name string, logger *slog.Logger, lis, opsLis net.Listener, shutdownTimeout time.Duration) *Process {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return &Process{
		Name: name, Logger: logger,
		Listener: lis, OpsListener: opsLis,
		ShutdownTimeout: shutdownTimeout,
		Registry:        reg,
	}
}

// ParseFlags parses the command line and environment into fs and runs the
// checks. ok is false when the process should exit with code at once: 0
// after --help, 2 on a bad setting (the reason is printed on fs's output).
func ParseFlags(fs *config.FlagSet, args []string, getenv func(string) string, checks ...func() error) (code int, ok bool) {
	if err := fs.Parse(args, getenv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, false
		}
		return 2, false
	}
	for _, check := range checks {
		if err := check(); err != nil {
			fmt.Fprintf(fs.Output(), "%s: %v\n", fs.Name(), err)
			return 2, false
		}
	}
	return 0, true
}

// Listen binds the listeners that c names and returns the Process, logging
// JSON to logOut.
func Listen(name string, c *config.Common, logOut io.Writer) (*Process, error) {
	logger := logging.New(logOut, c.LogLevel, name)
	lis, err := net.Listen("tcp", c.Listen)
	if err != nil {
		return nil, fmt.Errorf("--listen: %w", err)
	}
	opsLis, err := net.Listen("tcp", c.OpsListen)
	if err != nil {
		lis.Close()
		return nil, fmt.Errorf("--ops-listen: %w", err)
	}
	p := NewProcess(name, logger, lis, opsLis, c.ShutdownTimeout)
	p.DrainDelay = c.DrainDelay
	p.Faults = c.Faults
	if p.Faults.Enabled() {
		logger.Warn("injecting faults on purpose", "fail_rate", p.Faults.FailRate, "extra_latency", p.Faults.ExtraLatency.String())
	}
	return p, nil
}

// Run is what every command does once its flags are parsed: it binds the
// listeners, serves until SIGTERM (or Ctrl-C) has drained the process, and
// returns the exit code.
func Run(name string, c *config.Common, stderr io.Writer, serve func(context.Context, *Process) error) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	p, err := Listen(name, c, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
	return p.Exit(serve(ctx, p))
}

// Exit logs how the process ended and returns its exit code.
func (p *Process) Exit(err error) int {
	if err != nil {
		p.Logger.Error("exiting on error", "error", err.Error())
		return 1
	}
	p.Logger.Info("stopped")
	return 0
}

// Dial returns a client connection to the peer service named peer at addr
// (in a pod, the Envoy egress listener). Calls on it carry the trace
// headers of the request being served and are counted in the
// grpc_client_* metrics. It connects lazily: a peer that is down fails the
// calls with Unavailable, not the start of this process.
func (p *Process) Dial(peer, addr string) (*grpc.ClientConn, error) {
	p.clientMetricsOnce.Do(func() {
		p.clientMetrics = grpcprom.NewClientMetrics()
		p.clientMetrics.EnableClientHandlingTimeHistogram()
		p.clientMetricsErr = p.Registry.Register(p.clientMetrics)
	})
	if p.clientMetricsErr != nil {
		return nil, fmt.Errorf("registering the gRPC client metrics: %w", p.clientMetricsErr)
	}
	conn, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithChainUnaryInterceptor(
			propagation.UnaryClientInterceptor(),
			p.clientMetrics.UnaryClientInterceptor(),
		),
	)
	if err != nil {
		return nil, fmt.Errorf("%s service at %q: %w", peer, addr, err)
	}
	return conn, nil
}

// NewGRPCServer returns a gRPC server whose metrics land in p's registry.
func (p *Process) NewGRPCServer() (*grpcserver.Server, error) {
	return grpcserver.New(p.Logger, p.Registry, p.Faults)
}

// ServeGRPC serves s on p.Listener until ctx ends, then drains it.
func (p *Process) ServeGRPC(ctx context.Context, s *grpcserver.Server) error {
	return p.serve(ctx, "grpc", func() error { return s.Serve(p.Listener) }, s.NotServing, s.Shutdown)
}

// ServeHTTP serves h on p.Listener until ctx ends, then drains it.
func (p *Process) ServeHTTP(ctx context.Context, h http.Handler) error {
	srv := &http.Server{
		Handler:           p.Faults.Middleware(h),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(p.Logger.Handler(), slog.LevelWarn),
	}
	shutdown := func(ctx context.Context) error {
		if err := srv.Shutdown(ctx); err != nil {
			srv.Close()
			return fmt.Errorf("shutdown timed out: requests still in flight were cut: %w", err)
		}
		return nil
	}
	return p.serve(ctx, "http", func() error {
		if err := srv.Serve(p.Listener); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}, nil, shutdown)
}

// serve runs the ops server and the service's server until ctx ends or
// one of them fails, then drains. notServing, when set, tells the server's
// own health service that it is going away (gRPC health).
func (p *Process) serve(ctx context.Context, protocol string, serve func() error, notServing func(), shutdown func(context.Context) error) error {
	opsSrv := &http.Server{
		Handler:           opsserver.Handler(p.Registry, &p.Readiness),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(p.Logger.Handler(), slog.LevelWarn),
	}
	failed := make(chan error, 2)
	go func() {
		if err := opsSrv.Serve(p.OpsListener); !errors.Is(err, http.ErrServerClosed) {
			failed <- fmt.Errorf("ops server: %w", err)
		}
	}()
	served := make(chan struct{})
	go func() {
		defer close(served)
		if err := serve(); err != nil {
			failed <- fmt.Errorf("%s server: %w", protocol, err)
		}
	}()
	p.Readiness.Set(opsserver.Serving)
	p.Logger.Info("serving", "protocol", protocol, "addr", p.Listener.Addr().String(), "ops_addr", p.OpsListener.Addr().String())

	var runErr error
	select {
	case <-ctx.Done():
		// Not ready from now on, but still serving: callers' Envoys see
		// the failing health check and stop sending here before the
		// server stops taking calls. A server failure cuts the wait short.
		// gRPC health first, /readyz second: once /readyz says draining,
		// both do.
		if notServing != nil {
			notServing()
		}
		p.Readiness.Set(opsserver.Draining)
		if p.DrainDelay > 0 {
			p.Logger.Info("not ready, still serving", "reason", "signal", "drain_delay", p.DrainDelay.String())
			select {
			case <-time.After(p.DrainDelay):
			case runErr = <-failed:
			}
		}
		p.Logger.Info("draining", "reason", "signal", "timeout", p.ShutdownTimeout.String())
	case runErr = <-failed:
		p.Logger.Error("draining", "reason", "server failed", "error", runErr.Error())
	}
	p.Readiness.Set(opsserver.Draining)
	drainCtx, cancel := context.WithTimeout(context.Background(), p.ShutdownTimeout)
	defer cancel()
	start := time.Now()
	if err := shutdown(drainCtx); err != nil {
		p.Logger.Warn("drained with calls cut", "error", err.Error(), logging.KeyDuration, logging.Millis(time.Since(start)))
	} else {
		p.Logger.Info("drained", logging.KeyDuration, logging.Millis(time.Since(start)))
	}
	<-served
	// The ops server goes last: probes and scrapes see the drain.
	opsCtx, opsCancel := context.WithTimeout(context.Background(), time.Second)
	defer opsCancel()
	if err := opsSrv.Shutdown(opsCtx); err != nil {
		opsSrv.Close()
	}
	return runErr
}
