package userservice_test

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	userv1 "github.com/envoy-example/envoy-example/protos/user/v1"
	"github.com/envoy-example/envoy-example/services/integration/testmesh"
	"github.com/envoy-example/envoy-example/services/internal/app"
	"github.com/envoy-example/envoy-example/services/user/userservice"
)

func startUser(t *testing.T, scale int) (*testmesh.Service, userv1.UserServiceClient) {
	t.Helper()
	s := testmesh.StartOne(t, "user", testmesh.Options{}, func(ctx context.Context, p *app.Process) error {
		return userservice.Run(ctx, p, scale)
	})
	return s, userv1.NewUserServiceClient(s.Dial(t))
}

func TestUserService(t *testing.T) {
	s, c := startUser(t, 1)
	ctx := context.Background()

	list, err := c.ListUsers(ctx, &userv1.ListUsersRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, u := range list.GetUsers() {
		names = append(names, u.GetName())
	}
	if strings.Join(names, ",") != "User One,User Two,User Three" {
		t.Errorf("ListUsers = %q, want the three seeded users in id order", names)
	}

	u, err := c.GetUser(ctx, &userv1.GetUserRequest{Id: 3})
	if err != nil || u.GetName() != "User Three" || u.GetAddress() != "Down by the river" {
		t.Errorf("GetUser(3) = %v, %v", u, err)
	}
	_, err = c.GetUser(ctx, &userv1.GetUserRequest{Id: 0})
	testmesh.WantStatus(t, "GetUser(0)", err, codes.InvalidArgument, "id must be a positive integer, got 0")
	_, err = c.GetUser(ctx, &userv1.GetUserRequest{Id: 99})
	testmesh.WantStatus(t, "GetUser(99)", err, codes.NotFound, "user 99 not found")

	created, err := c.CreateUser(ctx, &userv1.CreateUserRequest{Name: "User Four", Address: "Up the hill"})
	if err != nil || created.GetId() != 4 {
		t.Fatalf("CreateUser = %v, %v; want id 4", created, err)
	}
	_, err = c.CreateUser(ctx, &userv1.CreateUserRequest{Name: "", Address: "x"})
	testmesh.WantStatus(t, "CreateUser without a name", err, codes.InvalidArgument, "name must not be empty")
	_, err = c.CreateUser(ctx, &userv1.CreateUserRequest{Name: "Five", Address: strings.Repeat("a", 201)})
	testmesh.WantStatus(t, "CreateUser with a long address", err, codes.InvalidArgument, "address is 201 characters long")
	_, err = c.CreateUser(ctx, &userv1.CreateUserRequest{Name: "Bad\x00Name", Address: "x"})
	testmesh.WantStatus(t, "CreateUser with a NUL", err, codes.InvalidArgument, "control characters")

	updated, err := c.UpdateUser(ctx, &userv1.UpdateUserRequest{User: &userv1.User{Id: 4, Name: "User Four", Address: "Down the hill"}})
	if err != nil || updated.GetAddress() != "Down the hill" {
		t.Errorf("UpdateUser = %v, %v", updated, err)
	}
	if got, _ := c.GetUser(ctx, &userv1.GetUserRequest{Id: 4}); got.GetAddress() != "Down the hill" {
		t.Errorf("after UpdateUser, GetUser(4) = %v", got)
	}
	_, err = c.UpdateUser(ctx, &userv1.UpdateUserRequest{})
	testmesh.WantStatus(t, "UpdateUser without a user", err, codes.InvalidArgument, "user is missing")
	_, err = c.UpdateUser(ctx, &userv1.UpdateUserRequest{User: &userv1.User{Id: 77, Name: "N", Address: "A"}})
	testmesh.WantStatus(t, "UpdateUser(77)", err, codes.NotFound, "user 77 not found")
	_, err = c.UpdateUser(ctx, &userv1.UpdateUserRequest{User: &userv1.User{Id: -1, Name: "N", Address: "A"}})
	testmesh.WantStatus(t, "UpdateUser(-1)", err, codes.InvalidArgument, "user.id must be a positive integer")

	if _, err := c.DeleteUser(ctx, &userv1.DeleteUserRequest{Id: 4}); err != nil {
		t.Errorf("DeleteUser(4) = %v", err)
	}
	_, err = c.DeleteUser(ctx, &userv1.DeleteUserRequest{Id: 4})
	testmesh.WantStatus(t, "DeleteUser(4) twice", err, codes.NotFound, "user 4 not found")
	_, err = c.GetUser(ctx, &userv1.GetUserRequest{Id: 4})
	testmesh.WantStatus(t, "GetUser(4) after delete", err, codes.NotFound, "user 4 not found")

	// What happened shows in the go-grpc-prometheus server metrics.
	mfs := s.Metrics(t)
	if n := testmesh.Sum(mfs, "grpc_server_handled_total", map[string]string{"grpc_method": "GetUser", "grpc_code": "NotFound"}); n != 2 {
		t.Errorf("grpc_server_handled_total{GetUser,NotFound} = %v, want 2", n)
	}

	// Standard health: SERVING overall and by service name.
	health := healthpb.NewHealthClient(s.Dial(t))
	for _, name := range []string{"", "user.v1.UserService"} {
		resp, err := health.Check(ctx, &healthpb.HealthCheckRequest{Service: name})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("health of %q = %v, %v; want SERVING", name, resp.GetStatus(), err)
		}
	}
}

func TestUserSeedScale(t *testing.T) {
	_, c := startUser(t, 10)
	list, err := c.ListUsers(context.Background(), &userv1.ListUsersRequest{})
	if err != nil || len(list.GetUsers()) != 30 {
		t.Fatalf("ListUsers at scale 10 = %d users, %v; want 30", len(list.GetUsers()), err)
	}
	if u := list.GetUsers()[29]; u.GetId() != 30 || u.GetName() != "User Three #10" {
		t.Errorf("last user at scale 10 = %v", u)
	}
}
