// Package faults makes a service fail or slow down on purpose
// (--fail-rate, --extra-latency), for what Envoy's fault filter cannot fake:
// the app itself failing or slow behind a healthy Envoy, seen in the app's
// own metrics and logs as well as in Envoy's.
//
// Faults touch the service's own calls only. Health checks and reflection
// are left alone: a faulty app should look like a bad backend to its
// callers' retries and outlier detection, not like a dead pod to the
// health checks (the chart's Envoy faults leave health checks alone too).
package faults

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// MaxExtraLatency bounds --extra-latency: above anything the chart's schema
// lets through (under 1000s), so a value the chart accepts starts the app.
const MaxExtraLatency = 20 * time.Minute

// Settings are the faults of one service. The zero value injects none.
type Settings struct {
	// FailRate is the fraction of calls, 0 to 1, answered with an error
	// (gRPC UNAVAILABLE, HTTP 503) instead of being served.
	FailRate float64
	// ExtraLatency is added before every call is served.
	ExtraLatency time.Duration
}

// Check reports a setting that cannot work, naming its flag.
func (s Settings) Check() error {
	if s.FailRate < 0 || s.FailRate > 1 || s.FailRate != s.FailRate {
		return fmt.Errorf("--fail-rate must be between 0 and 1, got %v", s.FailRate)
	}
	if s.ExtraLatency < 0 || s.ExtraLatency > MaxExtraLatency {
		return fmt.Errorf("--extra-latency must be between 0s and %s, got %s", MaxExtraLatency, s.ExtraLatency)
	}
	return nil
}

// Enabled says whether any fault is set.
func (s Settings) Enabled() bool { return s.FailRate > 0 || s.ExtraLatency > 0 }

// inject waits the extra latency (or until ctx ends) and then draws whether
// this call fails. It returns the error to answer with, or nil to serve.
func (s Settings) inject(ctx context.Context) error {
	if s.ExtraLatency > 0 {
		t := time.NewTimer(s.ExtraLatency)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		}
	}
	if s.FailRate > 0 && rand.Float64() < s.FailRate {
		return status.Errorf(codes.Unavailable, "injected failure (--fail-rate %v)", s.FailRate)
	}
	return nil
}

// UnaryServerInterceptor injects the faults into every unary call but
// health checks and reflection.
func (s Settings) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if !s.Enabled() || infrastructure(info.FullMethod) {
			return handler(ctx, req)
		}
		if err := s.inject(ctx); err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// infrastructure says whether a gRPC method belongs to health checking or
// reflection rather than to the service.
func infrastructure(method string) bool {
	return strings.HasPrefix(method, "/grpc.health.v1.") || strings.HasPrefix(method, "/grpc.reflection.")
}

// Middleware injects the faults into every HTTP request: a failed one is
// answered 503 with the reason.
func (s Settings) Middleware(next http.Handler) http.Handler {
	if !s.Enabled() {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.inject(r.Context()); err != nil {
			http.Error(w, status.Convert(err).Message(), http.StatusServiceUnavailable)
			return
		}
		next.ServeHTTP(w, r)
	})
}
