// Package userservice is the user service: user.v1.UserService over an
// in-memory store seeded with the demo's users.
package userservice

import (
	"context"
	"maps"
	"slices"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	userv1 "github.com/envoy-example/envoy-example/protos/user/v1"
	"github.com/envoy-example/envoy-example/services/internal/app"
	"github.com/envoy-example/envoy-example/services/internal/seed"
	"github.com/envoy-example/envoy-example/services/internal/validate"
)

// Service implements userv1.UserServiceServer. Stored users are never
// modified in place (an update stores a new message), so a handler can
// return one while another call replaces it.
type Service struct {
	userv1.UnimplementedUserServiceServer

	mu     sync.RWMutex
	users  map[int64]*userv1.User
	nextID int64
}

// New returns a Service holding users.
func New(users []*userv1.User) *Service {
	s := &Service{users: make(map[int64]*userv1.User, len(users)), nextID: 1}
	for _, u := range users {
		s.users[u.GetId()] = u
		s.nextID = max(s.nextID, u.GetId()+1)
	}
	return s
}

// Run serves the user service with the seed data of seedScale on p until
// ctx ends.
func Run(ctx context.Context, p *app.Process, seedScale int) error {
	srv, err := p.NewGRPCServer()
	if err != nil {
		return err
	}
	userv1.RegisterUserServiceServer(srv, New(seed.Users(seedScale)))
	return p.ServeGRPC(ctx, srv)
}

func notFound(id int64) error {
	return status.Errorf(codes.NotFound, "user %d not found", id)
}

// ListUsers returns every user, ordered by id.
func (s *Service) ListUsers(context.Context, *userv1.ListUsersRequest) (*userv1.ListUsersResponse, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ids := slices.Sorted(maps.Keys(s.users))
	out := make([]*userv1.User, len(ids))
	for i, id := range ids {
		out[i] = s.users[id]
	}
	return &userv1.ListUsersResponse{Users: out}, nil
}

func (s *Service) GetUser(_ context.Context, req *userv1.GetUserRequest) (*userv1.User, error) {
	if err := validate.ID("id", req.GetId()); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	u, ok := s.users[req.GetId()]
	if !ok {
		return nil, notFound(req.GetId())
	}
	return u, nil
}

func checkUser(name, address string) error {
	if err := validate.Text("name", name, validate.MaxNameLen); err != nil {
		return err
	}
	return validate.Text("address", address, validate.MaxAddressLen)
}

func (s *Service) CreateUser(_ context.Context, req *userv1.CreateUserRequest) (*userv1.User, error) {
	if err := checkUser(req.GetName(), req.GetAddress()); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u := &userv1.User{Id: s.nextID, Name: req.GetName(), Address: req.GetAddress()}
	s.users[u.Id] = u
	s.nextID++
	return u, nil
}

func (s *Service) UpdateUser(_ context.Context, req *userv1.UpdateUserRequest) (*userv1.User, error) {
	in := req.GetUser()
	if in == nil {
		return nil, validate.Invalid("user is missing")
	}
	if err := validate.ID("user.id", in.GetId()); err != nil {
		return nil, err
	}
	if err := checkUser(in.GetName(), in.GetAddress()); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[in.GetId()]; !ok {
		return nil, notFound(in.GetId())
	}
	u := &userv1.User{Id: in.GetId(), Name: in.GetName(), Address: in.GetAddress()}
	s.users[u.Id] = u
	return u, nil
}

func (s *Service) DeleteUser(_ context.Context, req *userv1.DeleteUserRequest) (*userv1.DeleteUserResponse, error) {
	if err := validate.ID("id", req.GetId()); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[req.GetId()]; !ok {
		return nil, notFound(req.GetId())
	}
	delete(s.users, req.GetId())
	return &userv1.DeleteUserResponse{}, nil
}
