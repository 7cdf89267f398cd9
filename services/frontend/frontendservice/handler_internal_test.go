package frontendservice

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	orderv1 "github.com/envoy-example/envoy-example/protos/order/v1"
	userv1 "github.com/envoy-example/envoy-example/protos/user/v1"
)

func TestParseQuery(t *testing.T) {
	for raw, want := range map[string]int64{"": 0, "user=5": 5, "user=123": 123} {
		if got, err := parseQuery(raw); err != nil || got != want {
			t.Errorf("parseQuery(%q) = %d, %v; want %d", raw, got, err, want)
		}
	}
	for _, raw := range []string{"user=", "user=x", "user=1&user=1", "u=1", "user=%", "user=-1", "user=1&x"} {
		if _, err := parseQuery(raw); err == nil || err.code != http.StatusBadRequest || err.reason == "" {
			t.Errorf("parseQuery(%q) = %v; want 400 with a reason", raw, err)
		}
	}
}

func TestPeerErrorNamesThePeer(t *testing.T) {
	cases := []struct {
		err  error
		code int
		says string
	}{
		{status.Error(codes.InvalidArgument, "id must be positive"), 400, "id must be positive"},
		{status.Error(codes.NotFound, "user 9 not found"), 404, "user 9 not found"},
		{status.Error(codes.Unavailable, "connection refused"), 503, "order service unavailable: connection refused"},
		{status.Error(codes.DeadlineExceeded, "context deadline exceeded"), 504, "order service did not answer within the request timeout (2s)"},
		{status.Error(codes.Internal, "boom"), 502, "order service failed: Internal: boom"},
		{status.Error(codes.FailedPrecondition, "disagree"), 502, "order service failed"},
		{errors.New("not a status"), 502, "order service failed"},
	}
	for _, c := range cases {
		got := peerError("order", c.err, 2*time.Second)
		if got.code != c.code || !strings.Contains(got.reason, c.says) {
			t.Errorf("peerError(%v) = %d %q; want %d saying %q", c.err, got.code, got.reason, c.code, c.says)
		}
	}
}

// Users come out by id whatever order they arrive in; orders of users not
// listed are left out; users without orders get an empty list.
func TestBuild(t *testing.T) {
	users := []*userv1.User{{Id: 3, Name: "c"}, {Id: 1, Name: "a"}}
	orders := []*orderv1.OrderDetail{{Id: 10, UserId: 1}, {Id: 11, UserId: 2}, {Id: 12, UserId: 1}}
	rep := build(users, orders)
	if len(rep) != 2 || rep[0].User.ID != 1 || rep[1].User.ID != 3 {
		t.Fatalf("build = %+v", rep)
	}
	if len(rep[0].Orders) != 2 || rep[0].Orders[0].ID != 10 || rep[0].Orders[1].ID != 12 {
		t.Errorf("user 1's orders = %+v", rep[0].Orders)
	}
	if rep[1].Orders == nil || len(rep[1].Orders) != 0 {
		t.Errorf("user 3's orders = %#v, want an empty, non-nil list", rep[1].Orders)
	}
	if rep[0].Orders[0].Items == nil {
		t.Error("an order without items has nil Items; want []")
	}
}
