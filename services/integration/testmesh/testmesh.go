// Package testmesh starts the four services in this process, wired to each
// other directly over loopback TCP (no Envoy), for tests and benchmarks.
// Each service runs exactly as its command does (the same Run function,
// real listeners, real gRPC and HTTP); only the ports (chosen by the kernel)
// and where the logs go differ.
package testmesh

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/envoy-example/envoy-example/services/frontend/frontendservice"
	"github.com/envoy-example/envoy-example/services/integration/logtest"
	"github.com/envoy-example/envoy-example/services/internal/app"
	"github.com/envoy-example/envoy-example/services/internal/logging"
	"github.com/envoy-example/envoy-example/services/item/itemservice"
	"github.com/envoy-example/envoy-example/services/order/orderservice"
	"github.com/envoy-example/envoy-example/services/user/userservice"
)

// Options shape a mesh; the zero value is the defaults of the commands.
type Options struct {
	// SeedScale is --seed-scale of user, order and item (0: 1).
	SeedScale int
	// ItemSeedScale, when set, overrides SeedScale for item alone, to make
	// order and item disagree.
	ItemSeedScale int
	// RequestTimeout is the frontend's --request-timeout (0: 5s).
	RequestTimeout time.Duration
	// ShutdownTimeout is every service's --shutdown-timeout (0: 5s).
	ShutdownTimeout time.Duration
	// LogLevel is the level of the logs kept (default info); benchmarks
	// raise it to keep the logs out of the measurement.
	LogLevel slog.Level
}

// Service is one running service.
type Service struct {
	Name string
	// Addr is its own server, OpsURL its ops server ("http://host:port").
	Addr, OpsURL string
	// Logs holds every line it logged.
	Logs *logtest.Logs

	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	err    error
}

// Mesh is the four services, wired.
type Mesh struct {
	Frontend, User, Order, Item *Service
	// URL is the frontend's base URL, "http://127.0.0.1:port".
	URL    string
	Client *http.Client
}

// Start starts the four services and waits until each is ready; they stop
// when the test ends.
func Start(tb testing.TB, o Options) *Mesh {
	tb.Helper()
	if o.SeedScale == 0 {
		o.SeedScale = 1
	}
	if o.ItemSeedScale == 0 {
		o.ItemSeedScale = o.SeedScale
	}
	if o.RequestTimeout == 0 {
		o.RequestTimeout = 5 * time.Second
	}
	if o.ShutdownTimeout == 0 {
		o.ShutdownTimeout = 5 * time.Second
	}
	m := &Mesh{Client: &http.Client{Timeout: 30 * time.Second}}
	start := func(name string, run func(context.Context, *app.Process) error) *Service {
		s, err := startService(name, o, run)
		if err != nil {
			tb.Fatalf("starting %s: %v", name, err)
		}
		tb.Cleanup(func() {
			if err := s.Stop(); err != nil {
				tb.Errorf("%s exited with an error: %v", name, err)
			}
		})
		return s
	}
	m.User = start("user", func(ctx context.Context, p *app.Process) error {
		return userservice.Run(ctx, p, o.SeedScale)
	})
	m.Item = start("item", func(ctx context.Context, p *app.Process) error {
		return itemservice.Run(ctx, p, o.ItemSeedScale)
	})
	m.Order = start("order", func(ctx context.Context, p *app.Process) error {
		return orderservice.Run(ctx, p, o.SeedScale, m.Item.Addr)
	})
	m.Frontend = start("frontend", func(ctx context.Context, p *app.Process) error {
		return frontendservice.Run(ctx, p, frontendservice.Config{
			UserAddr: m.User.Addr, OrderAddr: m.Order.Addr, RequestTimeout: o.RequestTimeout,
		})
	})
	m.URL = "http://" + m.Frontend.Addr
	for _, s := range []*Service{m.User, m.Item, m.Order, m.Frontend} {
		if err := waitReady(m.Client, s); err != nil {
			tb.Fatal(err)
		}
	}
	tb.Cleanup(m.Client.CloseIdleConnections)
	return m
}

// StartOne starts one service with run, as its command would, on loopback
// ports; it stops when the test ends.
func StartOne(tb testing.TB, name string, o Options, run func(context.Context, *app.Process) error) *Service {
	tb.Helper()
	if o.ShutdownTimeout == 0 {
		o.ShutdownTimeout = 5 * time.Second
	}
	s, err := startService(name, o, run)
	if err != nil {
		tb.Fatalf("starting %s: %v", name, err)
	}
	tb.Cleanup(func() {
		if err := s.Stop(); err != nil {
			tb.Errorf("%s exited with an error: %v", name, err)
		}
	})
	if err := waitReady(http.DefaultClient, s); err != nil {
		tb.Fatal(err)
	}
	return s
}

// Dial returns a plain gRPC client connection to s, closed when the test
// ends.
func (s *Service) Dial(tb testing.TB) *grpc.ClientConn {
	tb.Helper()
	conn, err := grpc.NewClient(s.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close() })
	return conn
}

func startService(name string, o Options, run func(context.Context, *app.Process) error) (*Service, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	opsLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		lis.Close()
		return nil, err
	}
	logs := &logtest.Logs{}
	p := app.NewProcess(name, logging.New(logs, o.LogLevel, name), lis, opsLis, o.ShutdownTimeout)
	ctx, cancel := context.WithCancel(context.Background())
	s := &Service{
		Name: name, Addr: lis.Addr().String(), OpsURL: "http://" + opsLis.Addr().String(),
		Logs: logs, cancel: cancel, done: make(chan error, 1),
	}
	go func() { s.done <- run(ctx, p) }()
	return s, nil
}

func waitReady(c *http.Client, s *Service) error {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-s.done:
			return fmt.Errorf("%s exited before it was ready: %v\nlogs:\n%s", s.Name, err, s.Logs)
		default:
		}
		resp, err := c.Get(s.OpsURL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready after 10s; logs:\n%s", s.Name, s.Logs)
}

// Stop stops the service as SIGTERM would and waits for it to exit; it
// returns what its Run returned. Stopping twice is harmless.
func (s *Service) Stop() error {
	s.once.Do(func() {
		s.cancel()
		select {
		case s.err = <-s.done:
		case <-time.After(30 * time.Second):
			s.err = errors.New("did not stop within 30s")
		}
	})
	return s.err
}

// Metrics scrapes the service's /metrics.
func (s *Service) Metrics(tb testing.TB) map[string]*dto.MetricFamily {
	tb.Helper()
	resp, err := http.Get(s.OpsURL + "/metrics")
	if err != nil {
		tb.Fatalf("scraping %s: %v", s.Name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("scraping %s: %s", s.Name, resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		tb.Fatalf("parsing the metrics of %s: %v", s.Name, err)
	}
	return mfs
}

// Sum adds up every series of the counter family name in mfs whose labels
// include match (0 when the family is absent).
func Sum(mfs map[string]*dto.MetricFamily, name string, match map[string]string) float64 {
	var total float64
	mf, ok := mfs[name]
	if !ok {
		return 0
	}
series:
	for _, m := range mf.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		for k, v := range match {
			if labels[k] != v {
				continue series
			}
		}
		total += m.GetCounter().GetValue()
	}
	return total
}

// Get sends GET path (with the query) to the frontend with the headers and
// returns the response with its body read.
func (m *Mesh) Get(tb testing.TB, path string, header http.Header) (*http.Response, []byte) {
	tb.Helper()
	return m.Do(tb, http.MethodGet, path, header)
}

// Do is Get with another method.
func (m *Mesh) Do(tb testing.TB, method, path string, header http.Header) (*http.Response, []byte) {
	tb.Helper()
	req, err := http.NewRequest(method, m.URL+path, nil)
	if err != nil {
		tb.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := m.Client.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("%s %s: reading the body: %v", method, path, err)
	}
	return resp, body
}
