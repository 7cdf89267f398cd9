// Package grpcserver builds the gRPC server of user, order and item with
// what every one of them needs: the standard grpc.health.v1 service,
// server reflection (so grpcurl works through the sidecar), go-grpc-
// prometheus metrics with handling-time histograms, trace header
// propagation, one log line per call, panic recovery, and a graceful drain
// for SIGTERM.
package grpcserver

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	grpcprom "github.com/grpc-ecosystem/go-grpc-prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

	"github.com/envoy-example/envoy-example/services/internal/faults"
	"github.com/envoy-example/envoy-example/services/internal/logging"
	"github.com/envoy-example/envoy-example/services/internal/propagation"
)

// Server is a grpc.Server with health, reflection, metrics and drain.
type Server struct {
	grpc     *grpc.Server
	health   *health.Server
	metrics  *grpcprom.ServerMetrics
	logger   *slog.Logger
	names    []string
	inFlight atomic.Int64
	// servingMu orders Serve's SERVING after a NotServing that came first
	// (a SIGTERM right at start): once going away, never serving again.
	servingMu sync.Mutex
	goingAway bool
	// served: Serve has been called. unavailable: what the services need
	// does not answer (SetAvailable).
	served, unavailable bool
	// draining ends (endStreams) when the streams should end.
	draining   context.Context
	endStreams context.CancelFunc
}

// New returns a Server whose metrics are registered on reg, injecting
// injected into the service's calls (faults.Settings{} injects nothing).
func New(logger *slog.Logger, reg prometheus.Registerer, injected faults.Settings) (*Server, error) {
	s := &Server{
		health:  health.NewServer(),
		metrics: grpcprom.NewServerMetrics(),
		logger:  logger,
	}
	s.draining, s.endStreams = context.WithCancel(context.Background())
	s.metrics.EnableHandlingTimeHistogram()
	if err := reg.Register(s.metrics); err != nil {
		return nil, fmt.Errorf("registering the gRPC server metrics: %w", err)
	}
	// Outermost first: the headers are in the context before the log line
	// is written, and the log line and the metrics see the status that
	// recovery turned a panic into.
	s.grpc = grpc.NewServer(
		grpc.ChainUnaryInterceptor(
			propagation.UnaryServerInterceptor(),
			s.logUnary,
			s.metrics.UnaryServerInterceptor(),
			s.countInFlight,
			// Inside the metrics and the log: an injected failure is
			// counted and logged as the app's own answer.
			injected.UnaryServerInterceptor(),
			recoverUnary(logger),
		),
		grpc.ChainStreamInterceptor(
			propagation.StreamServerInterceptor(),
			s.logStream,
			s.metrics.StreamServerInterceptor(),
			s.endOnDrain,
			recoverStream(logger),
		),
	)
	healthpb.RegisterHealthServer(s.grpc, s.health)
	reflection.Register(s.grpc)
	// Not serving until Serve: a health check must not pass before the
	// listener is up.
	s.health.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	return s, nil
}

// RegisterService registers an application service (grpc.ServiceRegistrar);
// the health service reports it by name too.
func (s *Server) RegisterService(desc *grpc.ServiceDesc, impl any) {
	s.grpc.RegisterService(desc, impl)
	s.names = append(s.names, desc.ServiceName)
	s.health.SetServingStatus(desc.ServiceName, healthpb.HealthCheckResponse_NOT_SERVING)
}

// Serve marks every service SERVING and serves lis until Shutdown.
func (s *Server) Serve(lis net.Listener) error {
	s.metrics.InitializeMetrics(s.grpc)
	s.servingMu.Lock()
	s.served = true
	s.setStatusLocked()
	s.servingMu.Unlock()
	return s.grpc.Serve(lis)
}

// SetAvailable says whether what the services depend on answers (the
// item bridge's PHP-FPM); while it does not, every service is NOT_SERVING
// though the server takes calls. It never turns a server that is going away
// SERVING again. A server is available until told otherwise.
func (s *Server) SetAvailable(ok bool) {
	s.servingMu.Lock()
	defer s.servingMu.Unlock()
	s.unavailable = !ok
	s.setStatusLocked()
}

// setStatusLocked sets every service's status from served, unavailable and
// goingAway; servingMu is held.
func (s *Server) setStatusLocked() {
	st := healthpb.HealthCheckResponse_NOT_SERVING
	if s.served && !s.unavailable && !s.goingAway {
		st = healthpb.HealthCheckResponse_SERVING
	}
	s.health.SetServingStatus("", st)
	for _, n := range s.names {
		s.health.SetServingStatus(n, st)
	}
}

// NotServing marks every service NOT_SERVING while the server still takes
// calls: the drain delay after SIGTERM, during which callers' health checks
// take this instance out before Shutdown refuses new calls.
func (s *Server) NotServing() {
	s.servingMu.Lock()
	defer s.servingMu.Unlock()
	s.goingAway = true
	s.setStatusLocked()
}

// settle is how long Shutdown lets the health watchers send NOT_SERVING
// before it ends their streams.
const settle = 100 * time.Millisecond

// Shutdown drains the server: every service turns NOT_SERVING, new calls
// are refused (GracefulStop's GOAWAY), and the calls in flight finish.
// Streams that never end by themselves (health Watch) are ended once the
// watchers have been told NOT_SERVING. When ctx ends first, whatever is
// still running is cut, and the error says how many unary calls were.
func (s *Server) Shutdown(ctx context.Context) error {
	s.health.Shutdown()
	done := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		close(done)
	}()
	settled := time.NewTimer(settle)
	defer settled.Stop()
	for {
		select {
		case <-done:
			s.endStreams()
			return nil
		case <-settled.C:
			s.endStreams()
		case <-ctx.Done():
			n := s.inFlight.Load()
			s.grpc.Stop()
			<-done
			if n == 0 {
				return nil
			}
			return fmt.Errorf("shutdown timed out: %d call(s) still in flight were cut", n)
		}
	}
}

// endOnDrain gives each stream a context that ends when the server drains,
// so that streams waiting on their context (health Watch) end cleanly
// rather than holding GracefulStop until the shutdown timeout.
func (s *Server) endOnDrain(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	ctx, cancel := context.WithCancel(ss.Context())
	defer cancel()
	stop := context.AfterFunc(s.draining, cancel)
	defer stop()
	return handler(srv, &drainStream{ServerStream: ss, ctx: ctx})
}

type drainStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *drainStream) Context() context.Context { return s.ctx }

func (s *Server) countInFlight(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	return handler(ctx, req)
}

// quiet says whether calls to method are logged at debug level only: health
// checks and reflection come every few seconds from Envoy and the kubelet.
func quiet(method string) bool {
	return strings.HasPrefix(method, "/grpc.health.v1.") || strings.HasPrefix(method, "/grpc.reflection.")
}

// levelFor is the log level of a call that ended with code.
func levelFor(method string, code codes.Code) slog.Level {
	switch code {
	case codes.Internal, codes.Unknown, codes.DataLoss:
		return slog.LevelError
	case codes.Unavailable, codes.DeadlineExceeded, codes.FailedPrecondition:
		return slog.LevelWarn
	}
	if quiet(method) {
		return slog.LevelDebug
	}
	return slog.LevelInfo
}

func (s *Server) logUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	start := time.Now()
	var extra []slog.Attr
	// The deadline the caller set, as it arrived: shows that the frontend's
	// request deadline reaches every hop.
	if d, ok := ctx.Deadline(); ok {
		extra = append(extra, slog.Float64("deadline_ms", logging.Millis(time.Until(d))))
	}
	resp, err := handler(ctx, req)
	s.logCall(ctx, info.FullMethod, err, time.Since(start), extra)
	return resp, err
}

func (s *Server) logStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	start := time.Now()
	err := handler(srv, ss)
	s.logCall(ss.Context(), info.FullMethod, err, time.Since(start), nil)
	return err
}

func (s *Server) logCall(ctx context.Context, method string, err error, took time.Duration, extra []slog.Attr) {
	st := status.Convert(err)
	if err != nil {
		extra = append(extra, slog.String("error", st.Message()))
	}
	h := propagation.FromContext(ctx)
	logging.Request(ctx, s.logger, levelFor(method, st.Code()), "grpc call", h.RequestID(), h.TraceID(), method, st.Code().String(), took, extra...)
}

// recovered turns a panic into an Internal status for the caller, with the
// stack in the log only.
func recovered(logger *slog.Logger, method string, p any) error {
	logger.Error("panic while handling a call", "method", method, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
	return status.Error(codes.Internal, "internal error")
}

func recoverUnary(logger *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if p := recover(); p != nil {
				resp, err = nil, recovered(logger, info.FullMethod, p)
			}
		}()
		return handler(ctx, req)
	}
}

func recoverStream(logger *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = recovered(logger, info.FullMethod, p)
			}
		}()
		return handler(srv, ss)
	}
}
