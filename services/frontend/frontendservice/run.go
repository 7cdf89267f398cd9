package frontendservice

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	orderv1 "github.com/envoy-example/envoy-example/protos/order/v1"
	userv1 "github.com/envoy-example/envoy-example/protos/user/v1"
	"github.com/envoy-example/envoy-example/services/internal/app"
)

// Config is what the frontend needs beyond every service's settings.
type Config struct {
	// UserAddr and OrderAddr are the peers (in a pod, the Envoy egress
	// listener for both).
	UserAddr, OrderAddr string
	// RequestTimeout is the deadline of each request and of every call made
	// for it.
	RequestTimeout time.Duration
}

// Run serves the frontend on p until ctx ends.
func Run(ctx context.Context, p *app.Process, cfg Config) error {
	userConn, err := p.Dial("user", cfg.UserAddr)
	if err != nil {
		return err
	}
	defer userConn.Close()
	orderConn, err := p.Dial("order", cfg.OrderAddr)
	if err != nil {
		return err
	}
	defer orderConn.Close()

	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "http_requests_total",
		Help: "HTTP requests the frontend answered, by status code and method.",
	}, []string{"code", "method"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "http_request_duration_seconds",
		Help:    "Time the frontend took to answer, by status code and method.",
		Buckets: prometheus.DefBuckets,
	}, []string{"code", "method"})
	if err := p.Registry.Register(requests); err != nil {
		return err
	}
	if err := p.Registry.Register(duration); err != nil {
		return err
	}
	h := NewHandler(userv1.NewUserServiceClient(userConn), orderv1.NewOrderServiceClient(orderConn), cfg.RequestTimeout, p.Logger, &p.Readiness)
	h = promhttp.InstrumentHandlerDuration(duration, promhttp.InstrumentHandlerCounter(requests, h))
	return p.ServeHTTP(ctx, h)
}
