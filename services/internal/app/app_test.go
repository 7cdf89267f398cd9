package app

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	userv1 "github.com/envoy-example/envoy-example/protos/user/v1"
	"github.com/envoy-example/envoy-example/services/integration/logtest"
	"github.com/envoy-example/envoy-example/services/internal/logging"
)

// blockingUsers answers GetUser only once released, to hold a call in
// flight while the process drains.
type blockingUsers struct {
	userv1.UnimplementedUserServiceServer
	entered chan struct{}
	release chan struct{}
}

func (b *blockingUsers) GetUser(ctx context.Context, req *userv1.GetUserRequest) (*userv1.User, error) {
	close(b.entered)
	select {
	case <-b.release:
		return &userv1.User{Id: req.GetId(), Name: "held"}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func newTestProcess(t *testing.T, shutdownTimeout time.Duration) (*Process, *logtest.Logs) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	opsLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logs := &logtest.Logs{}
	return NewProcess("test", logging.New(logs, slog.LevelDebug, "test"), lis, opsLis, shutdownTimeout), logs
}

func readyz(t *testing.T, p *Process) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + p.OpsListener.Addr().String() + "/readyz")
	if err != nil {
		t.Fatalf("/readyz: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// waitReadyz polls /readyz until it answers code.
func waitReadyz(t *testing.T, p *Process, code int) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, body := readyz(t, p)
		if got == code {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz = %d %q, want %d", got, body, code)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// On SIGTERM (ctx ending), gRPC health and /readyz turn not-serving first,
// the call in flight still completes, then Run returns without error.
func TestGRPCDrainFinishesCallsInFlight(t *testing.T) {
	p, logs := newTestProcess(t, 10*time.Second)
	srv, err := p.NewGRPCServer()
	if err != nil {
		t.Fatal(err)
	}
	users := &blockingUsers{entered: make(chan struct{}), release: make(chan struct{})}
	userv1.RegisterUserServiceServer(srv, users)
	ctx, sigterm := context.WithCancel(context.Background())
	defer sigterm()
	ran := make(chan error, 1)
	go func() { ran <- p.ServeGRPC(ctx, srv) }()
	waitReadyz(t, p, http.StatusOK)

	conn, err := grpc.NewClient(p.Listener.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	watch, err := healthpb.NewHealthClient(conn).Watch(context.Background(), &healthpb.HealthCheckRequest{Service: userv1.UserService_ServiceDesc.ServiceName})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := watch.Recv(); err != nil || st.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health of user.v1.UserService = %v, %v; want SERVING", st.GetStatus(), err)
	}

	type result struct {
		u   *userv1.User
		err error
	}
	call := make(chan result, 1)
	go func() {
		u, err := userv1.NewUserServiceClient(conn).GetUser(context.Background(), &userv1.GetUserRequest{Id: 7})
		call <- result{u, err}
	}()
	<-users.entered

	sigterm()
	if st, err := watch.Recv(); err != nil || st.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("health after SIGTERM = %v, %v; want NOT_SERVING", st.GetStatus(), err)
	}
	if body := waitReadyz(t, p, http.StatusServiceUnavailable); !strings.Contains(body, "draining") {
		t.Errorf("/readyz while draining = %q, want it to say draining", body)
	}
	select {
	case err := <-ran:
		t.Fatalf("Run returned (%v) with a call in flight", err)
	case <-time.After(200 * time.Millisecond):
	}

	close(users.release)
	r := <-call
	if r.err != nil || r.u.GetName() != "held" {
		t.Fatalf("the call in flight = %v, %v; want it to complete\n%s", r.u, r.err, logs)
	}
	select {
	case err := <-ran:
		if err != nil {
			t.Fatalf("Run = %v, want nil after a clean drain", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after the last call finished")
	}
	if len(logs.Find(t, "drained", nil)) != 1 {
		t.Errorf("no \"drained\" log line:\n%s", logs)
	}
}

// A call that outlives --shutdown-timeout is cut, the drain says so, and
// Run still returns (the process exits 0: it did what SIGTERM asked).
func TestGRPCDrainCutsCallsAfterTimeout(t *testing.T) {
	p, logs := newTestProcess(t, 300*time.Millisecond)
	srv, err := p.NewGRPCServer()
	if err != nil {
		t.Fatal(err)
	}
	users := &blockingUsers{entered: make(chan struct{}), release: make(chan struct{})}
	userv1.RegisterUserServiceServer(srv, users)
	ctx, sigterm := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- p.ServeGRPC(ctx, srv) }()
	waitReadyz(t, p, http.StatusOK)
	conn, err := grpc.NewClient(p.Listener.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	call := make(chan error, 1)
	go func() {
		_, err := userv1.NewUserServiceClient(conn).GetUser(context.Background(), &userv1.GetUserRequest{Id: 7})
		call <- err
	}()
	<-users.entered
	start := time.Now()
	sigterm()
	select {
	case err := <-ran:
		if err != nil {
			t.Fatalf("Run = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after the shutdown timeout")
	}
	if took := time.Since(start); took < 300*time.Millisecond {
		t.Errorf("drain took %s, less than the shutdown timeout, with a call in flight", took)
	}
	if err := <-call; err == nil {
		t.Error("the call outliving the shutdown timeout succeeded; want it cut")
	}
	cut := logs.Find(t, "drained with calls cut", nil)
	if len(cut) != 1 || !strings.Contains(cut[0]["error"].(string), "1 call(s) still in flight") {
		t.Errorf("want one warning that 1 call was cut:\n%s", logs)
	}
}

// The HTTP server drains the same way: not ready first, the request in
// flight completes.
func TestHTTPDrainFinishesRequestsInFlight(t *testing.T) {
	p, _ := newTestProcess(t, 10*time.Second)
	entered, release := make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		_, _ = w.Write([]byte("done"))
	})
	ctx, sigterm := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- p.ServeHTTP(ctx, h) }()
	waitReadyz(t, p, http.StatusOK)
	type result struct {
		body string
		err  error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + p.Listener.Addr().String() + "/")
		if err != nil {
			got <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		got <- result{string(b), err}
	}()
	<-entered
	sigterm()
	waitReadyz(t, p, http.StatusServiceUnavailable)
	close(release)
	if r := <-got; r.err != nil || r.body != "done" {
		t.Fatalf("the request in flight = %q, %v; want it to complete", r.body, r.err)
	}
	select {
	case err := <-ran:
		if err != nil {
			t.Fatalf("Run = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after the request finished")
	}
}

// A server that cannot serve ends Run with an error naming it, so the
// process exits 1.
func TestServeFailureIsAnError(t *testing.T) {
	p, _ := newTestProcess(t, time.Second)
	p.Listener.Close()
	err := p.ServeHTTP(context.Background(), http.NotFoundHandler())
	if err == nil || !strings.Contains(err.Error(), "http server") {
		t.Fatalf("ServeHTTP on a closed listener = %v, want an http server error", err)
	}
	if code := p.Exit(err); code != 1 {
		t.Errorf("Exit(%v) = %d, want 1", err, code)
	}
}

// With a drain delay, SIGTERM makes the service report not ready at once
// (gRPC health and /readyz) while it still answers new calls, even on a new
// connection, for the whole delay; then it drains and Run returns.
func TestDrainDelayKeepsServingWhileNotReady(t *testing.T) {
	p, logs := newTestProcess(t, 10*time.Second)
	const delay = 600 * time.Millisecond
	p.DrainDelay = delay
	srv, err := p.NewGRPCServer()
	if err != nil {
		t.Fatal(err)
	}
	users := &blockingUsers{entered: make(chan struct{}), release: make(chan struct{})}
	close(users.release) // every call answers at once
	userv1.RegisterUserServiceServer(srv, users)
	ctx, sigterm := context.WithCancel(context.Background())
	defer sigterm()
	ran := make(chan error, 1)
	go func() { ran <- p.ServeGRPC(ctx, srv) }()
	waitReadyz(t, p, http.StatusOK)

	start := time.Now()
	sigterm()
	waitReadyz(t, p, http.StatusServiceUnavailable)
	conn, err := grpc.NewClient(p.Listener.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	st, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{Service: userv1.UserService_ServiceDesc.ServiceName})
	if err != nil || st.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("health during the drain delay = %v, %v; want NOT_SERVING", st.GetStatus(), err)
	}
	if u, err := userv1.NewUserServiceClient(conn).GetUser(context.Background(), &userv1.GetUserRequest{Id: 3}); err != nil || u.GetName() != "held" {
		t.Fatalf("a new call during the drain delay = %v, %v; want it answered", u, err)
	}
	select {
	case err := <-ran:
		t.Fatalf("Run returned (%v) %s after SIGTERM, before the drain delay of %s", err, time.Since(start), delay)
	case <-time.After(delay / 3):
	}
	select {
	case err := <-ran:
		if err != nil {
			t.Fatalf("Run = %v, want nil", err)
		}
		if took := time.Since(start); took < delay {
			t.Fatalf("Run returned after %s, before the drain delay of %s", took, delay)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after the drain delay")
	}
	if len(logs.Find(t, "not ready, still serving", nil)) != 1 {
		t.Errorf("no \"not ready, still serving\" log line:\n%s", logs)
	}
}
