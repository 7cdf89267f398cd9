package grpcserver

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	userv1 "github.com/envoy-example/envoy-example/protos/user/v1"
	"github.com/envoy-example/envoy-example/services/integration/logtest"
	"github.com/envoy-example/envoy-example/services/internal/faults"
	"github.com/envoy-example/envoy-example/services/internal/logging"
)

// panickyUsers panics in GetUser, as a bug would.
type panickyUsers struct {
	userv1.UnimplementedUserServiceServer
}

func (panickyUsers) GetUser(context.Context, *userv1.GetUserRequest) (*userv1.User, error) {
	panic("a bug in the handler")
}

func serve(t *testing.T) (*Server, *grpc.ClientConn, *logtest.Logs, *prometheus.Registry) {
	t.Helper()
	return serveInjecting(t, faults.Settings{})
}

// serveInjecting is serve with faults injected into the service's calls.
func serveInjecting(t *testing.T, injected faults.Settings) (*Server, *grpc.ClientConn, *logtest.Logs, *prometheus.Registry) {
	t.Helper()
	logs := &logtest.Logs{}
	reg := prometheus.NewRegistry()
	s, err := New(logging.New(logs, slog.LevelDebug, "test"), reg, injected)
	if err != nil {
		t.Fatal(err)
	}
	userv1.RegisterUserServiceServer(s, panickyUsers{})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown = %v", err)
		}
	})
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return s, conn, logs, reg
}

// A panic is the caller's Internal "internal error", with the stack in the
// log only; the server keeps serving.
func TestPanicBecomesInternal(t *testing.T) {
	_, conn, logs, reg := serve(t)
	c := userv1.NewUserServiceClient(conn)
	_, err := c.GetUser(context.Background(), &userv1.GetUserRequest{Id: 1})
	if st := status.Convert(err); st.Code() != codes.Internal || st.Message() != "internal error" {
		t.Fatalf("GetUser = %v; want Internal \"internal error\" and nothing more", err)
	}
	lines := logs.Find(t, "panic while handling a call", map[string]string{"method": "/user.v1.UserService/GetUser"})
	if len(lines) != 1 || !strings.Contains(lines[0]["stack"].(string), "panickyUsers") {
		t.Errorf("want one log line with the stack:\n%s", logs)
	}
	if n := len(logs.Find(t, "grpc call", map[string]string{"status": "Internal", "level": "ERROR"})); n != 1 {
		t.Errorf("want one ERROR call line with status Internal:\n%s", logs)
	}
	// Unimplemented methods answer Unimplemented, and the server lives on.
	_, err = c.ListUsers(context.Background(), &userv1.ListUsersRequest{})
	if status.Code(err) != codes.Unimplemented {
		t.Errorf("ListUsers = %v; want Unimplemented", err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	internal := 0.0
	for _, mf := range mfs {
		if mf.GetName() != "grpc_server_handled_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "grpc_code" && l.GetValue() == "Internal" {
					internal += m.GetCounter().GetValue()
				}
			}
		}
	}
	if internal != 1 {
		t.Errorf("grpc_server_handled_total{grpc_code=Internal} = %v, want 1", internal)
	}
}

// Reflection lists the application service beside health and reflection,
// so grpcurl works against any of the services.
func TestReflectionListsServices(t *testing.T) {
	_, conn, _, _ := serve(t)
	stream, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	_ = stream.CloseSend()
	got := map[string]bool{}
	for _, s := range resp.GetListServicesResponse().GetService() {
		got[s.GetName()] = true
	}
	for _, want := range []string{"user.v1.UserService", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection"} {
		if !got[want] {
			t.Errorf("reflection lists %v, missing %s", got, want)
		}
	}
}

// Health answers SERVING for the server and each registered service, and
// NotFound for a name it does not serve.
func TestHealth(t *testing.T) {
	_, conn, _, _ := serve(t)
	h := healthpb.NewHealthClient(conn)
	for _, name := range []string{"", "user.v1.UserService"} {
		resp, err := h.Check(context.Background(), &healthpb.HealthCheckRequest{Service: name})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("Check(%q) = %v, %v", name, resp.GetStatus(), err)
		}
	}
	_, err := h.Check(context.Background(), &healthpb.HealthCheckRequest{Service: "order.v1.OrderService"})
	if status.Code(err) != codes.NotFound {
		t.Errorf("Check of a service not served = %v; want NotFound", err)
	}
}

// Injected faults: every service call fails with UNAVAILABLE at fail rate 1,
// counted by the server's own metrics, while health checks still pass; a
// fraction fails at a lower rate; the extra latency delays every call.
func TestInjectedFaults(t *testing.T) {
	t.Run("fail-rate-1", func(t *testing.T) {
		_, conn, _, reg := serveInjecting(t, faults.Settings{FailRate: 1})
		c := userv1.NewUserServiceClient(conn)
		for i := 0; i < 20; i++ {
			_, err := c.GetUser(context.Background(), &userv1.GetUserRequest{Id: 1})
			if st := status.Convert(err); st.Code() != codes.Unavailable || !strings.Contains(st.Message(), "--fail-rate") {
				t.Fatalf("GetUser = %v; want Unavailable naming --fail-rate", err)
			}
		}
		resp, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{Service: "user.v1.UserService"})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("health check = %v, %v; want SERVING: faults spare health checks", resp, err)
		}
		if n := handled(t, reg, "Unavailable"); n != 20 {
			t.Errorf("grpc_server_handled_total{grpc_code=Unavailable} = %v, want 20", n)
		}
	})
	t.Run("fail-rate-0.3", func(t *testing.T) {
		_, conn, _, _ := serveInjecting(t, faults.Settings{FailRate: 0.3})
		c := userv1.NewUserServiceClient(conn)
		failed := 0
		const calls = 1000
		for i := 0; i < calls; i++ {
			// Unimplemented when served: ListUsers has no handler.
			if _, err := c.ListUsers(context.Background(), &userv1.ListUsersRequest{}); status.Code(err) == codes.Unavailable {
				failed++
			}
		}
		// 0.3 ± 5 standard deviations of a binomial of 1000 draws (0.072).
		if failed < 228 || failed > 372 {
			t.Errorf("%d of %d calls failed at --fail-rate 0.3", failed, calls)
		}
	})
	t.Run("extra-latency", func(t *testing.T) {
		_, conn, _, _ := serveInjecting(t, faults.Settings{ExtraLatency: 300 * time.Millisecond})
		start := time.Now()
		_, err := userv1.NewUserServiceClient(conn).ListUsers(context.Background(), &userv1.ListUsersRequest{})
		if took := time.Since(start); status.Code(err) != codes.Unimplemented || took < 300*time.Millisecond {
			t.Errorf("ListUsers = %v after %s; want Unimplemented after at least 300ms", err, took)
		}
		// A caller's deadline shorter than the latency ends the wait.
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		if _, err := userv1.NewUserServiceClient(conn).ListUsers(ctx, &userv1.ListUsersRequest{}); status.Code(err) != codes.DeadlineExceeded {
			t.Errorf("ListUsers with a 50ms deadline = %v; want DeadlineExceeded", err)
		}
	})
}

// handled sums grpc_server_handled_total for one gRPC code.
func handled(t *testing.T, reg *prometheus.Registry, code string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != "grpc_server_handled_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "grpc_code" && l.GetValue() == code {
					sum += m.GetCounter().GetValue()
				}
			}
		}
	}
	return sum
}

// SetAvailable(false) turns every service NOT_SERVING and true turns it
// back; after NotServing (SIGTERM) nothing turns it SERVING again.
func TestSetAvailable(t *testing.T) {
	s, conn, _, _ := serve(t)
	h := healthpb.NewHealthClient(conn)
	check := func(when string, want healthpb.HealthCheckResponse_ServingStatus) {
		t.Helper()
		// Serve sets SERVING in its goroutine: give it a moment.
		deadline := time.Now().Add(2 * time.Second)
		for {
			var got []healthpb.HealthCheckResponse_ServingStatus
			for _, name := range []string{"", "user.v1.UserService"} {
				r, err := h.Check(context.Background(), &healthpb.HealthCheckRequest{Service: name})
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, r.GetStatus())
			}
			if got[0] == want && got[1] == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: health %v for the server and the service, want %v", when, got, want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	check("serving", healthpb.HealthCheckResponse_SERVING)
	s.SetAvailable(false)
	check("unavailable", healthpb.HealthCheckResponse_NOT_SERVING)
	s.SetAvailable(true)
	check("available again", healthpb.HealthCheckResponse_SERVING)
	s.NotServing()
	s.SetAvailable(true)
	check("going away", healthpb.HealthCheckResponse_NOT_SERVING)
}
