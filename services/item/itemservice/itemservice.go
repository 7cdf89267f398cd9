// Package itemservice is the item service: item.v1.ItemService over an
// in-memory catalogue seeded with the demo's items. The catalogue is read
// only, so it needs no lock.
package itemservice

import (
	"context"
	"maps"
	"slices"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	itemv1 "github.com/envoy-example/envoy-example/protos/item/v1"
	"github.com/envoy-example/envoy-example/services/internal/app"
	"github.com/envoy-example/envoy-example/services/internal/seed"
	"github.com/envoy-example/envoy-example/services/internal/validate"
)

// Service implements itemv1.ItemServiceServer.
type Service struct {
	itemv1.UnimplementedItemServiceServer

	items  map[int64]*itemv1.Item
	sorted []*itemv1.Item
}

// New returns a Service holding items.
func New(items []*itemv1.Item) *Service {
	s := &Service{items: make(map[int64]*itemv1.Item, len(items))}
	for _, it := range items {
		s.items[it.GetId()] = it
	}
	for _, id := range slices.Sorted(maps.Keys(s.items)) {
		s.sorted = append(s.sorted, s.items[id])
	}
	return s
}

// Run serves the item service with the seed data of seedScale on p until
// ctx ends.
func Run(ctx context.Context, p *app.Process, seedScale int) error {
	srv, err := p.NewGRPCServer()
	if err != nil {
		return err
	}
	itemv1.RegisterItemServiceServer(srv, New(seed.Items(seedScale)))
	return p.ServeGRPC(ctx, srv)
}

func notFound(id int64) error {
	return status.Errorf(codes.NotFound, "item %d not found", id)
}

func (s *Service) GetItem(_ context.Context, req *itemv1.GetItemRequest) (*itemv1.Item, error) {
	if err := validate.ID("id", req.GetId()); err != nil {
		return nil, err
	}
	it, ok := s.items[req.GetId()]
	if !ok {
		return nil, notFound(req.GetId())
	}
	return it, nil
}

// ListItems returns the whole catalogue, ordered by id.
func (s *Service) ListItems(context.Context, *itemv1.ListItemsRequest) (*itemv1.ListItemsResponse, error) {
	return &itemv1.ListItemsResponse{Items: s.sorted}, nil
}

// BatchGetItems returns the items asked for, in the order asked (an id asked
// twice comes back twice). One unknown id fails the call naming it.
func (s *Service) BatchGetItems(_ context.Context, req *itemv1.BatchGetItemsRequest) (*itemv1.BatchGetItemsResponse, error) {
	if err := validate.IDs("ids", req.GetIds(), 0); err != nil {
		return nil, err
	}
	out := make([]*itemv1.Item, len(req.GetIds()))
	for i, id := range req.GetIds() {
		it, ok := s.items[id]
		if !ok {
			return nil, notFound(id)
		}
		out[i] = it
	}
	return &itemv1.BatchGetItemsResponse{Items: out}, nil
}
