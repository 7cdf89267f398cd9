// Package orderservice is the order service: order.v1.OrderService over an
// in-memory store seeded with the demo's orders. It resolves the items of
// orders by calling the item service, once per call whatever the number of
// orders (BatchGetItems).
package orderservice

import (
	"context"
	"maps"
	"slices"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	itemv1 "github.com/envoy-example/envoy-example/protos/item/v1"
	orderv1 "github.com/envoy-example/envoy-example/protos/order/v1"
	"github.com/envoy-example/envoy-example/services/internal/app"
	"github.com/envoy-example/envoy-example/services/internal/seed"
	"github.com/envoy-example/envoy-example/services/internal/validate"
)

// MaxItemsPerOrder bounds the items of one order.
const MaxItemsPerOrder = 100

// Service implements orderv1.OrderServiceServer. Stored orders are never
// modified in place.
type Service struct {
	orderv1.UnimplementedOrderServiceServer

	items itemv1.ItemServiceClient

	mu     sync.RWMutex
	orders map[int64]*orderv1.Order
	nextID int64
}

// New returns a Service holding orders, resolving items through items.
func New(orders []*orderv1.Order, items itemv1.ItemServiceClient) *Service {
	s := &Service{items: items, orders: make(map[int64]*orderv1.Order, len(orders)), nextID: 1}
	for _, o := range orders {
		s.orders[o.GetId()] = o
		s.nextID = max(s.nextID, o.GetId()+1)
	}
	return s
}

// Run serves the order service with the seed data of seedScale on p until
// ctx ends, calling the item service at itemAddr.
func Run(ctx context.Context, p *app.Process, seedScale int, itemAddr string) error {
	conn, err := p.Dial("item", itemAddr)
	if err != nil {
		return err
	}
	defer conn.Close()
	srv, err := p.NewGRPCServer()
	if err != nil {
		return err
	}
	orderv1.RegisterOrderServiceServer(srv, New(seed.Orders(seedScale), itemv1.NewItemServiceClient(conn)))
	return p.ServeGRPC(ctx, srv)
}

func notFound(id int64) error {
	return status.Errorf(codes.NotFound, "order %d not found", id)
}

// list returns the stored orders of userID (0: of everyone), by id.
func (s *Service) list(userID int64) []*orderv1.Order {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*orderv1.Order, 0, len(s.orders))
	for _, id := range slices.Sorted(maps.Keys(s.orders)) {
		if o := s.orders[id]; userID == 0 || o.GetUserId() == userID {
			out = append(out, o)
		}
	}
	return out
}

func (s *Service) get(id int64) (*orderv1.Order, error) {
	if err := validate.ID("id", id); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	o, ok := s.orders[id]
	if !ok {
		return nil, notFound(id)
	}
	return o, nil
}

func (s *Service) ListOrders(_ context.Context, req *orderv1.ListOrdersRequest) (*orderv1.ListOrdersResponse, error) {
	if err := validate.OptionalID("user_id", req.GetUserId()); err != nil {
		return nil, err
	}
	return &orderv1.ListOrdersResponse{Orders: s.list(req.GetUserId())}, nil
}

func (s *Service) GetOrder(_ context.Context, req *orderv1.GetOrderRequest) (*orderv1.Order, error) {
	return s.get(req.GetId())
}

func (s *Service) GetOrderDetail(ctx context.Context, req *orderv1.GetOrderRequest) (*orderv1.OrderDetail, error) {
	o, err := s.get(req.GetId())
	if err != nil {
		return nil, err
	}
	details, err := s.resolve(ctx, []*orderv1.Order{o})
	if err != nil {
		return nil, err
	}
	return details[0], nil
}

func (s *Service) ListOrderDetails(ctx context.Context, req *orderv1.ListOrdersRequest) (*orderv1.ListOrderDetailsResponse, error) {
	if err := validate.OptionalID("user_id", req.GetUserId()); err != nil {
		return nil, err
	}
	details, err := s.resolve(ctx, s.list(req.GetUserId()))
	if err != nil {
		return nil, err
	}
	return &orderv1.ListOrderDetailsResponse{Orders: details}, nil
}

// resolve returns orders with their items, asking the item service once
// for every distinct item id.
func (s *Service) resolve(ctx context.Context, orders []*orderv1.Order) ([]*orderv1.OrderDetail, error) {
	seen := map[int64]bool{}
	var ids []int64
	for _, o := range orders {
		for _, id := range o.GetItemIds() {
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	byID, err := s.lookupItems(ctx, ids, false)
	if err != nil {
		return nil, err
	}
	out := make([]*orderv1.OrderDetail, len(orders))
	for i, o := range orders {
		d := &orderv1.OrderDetail{Id: o.GetId(), UserId: o.GetUserId(), Items: make([]*itemv1.Item, len(o.GetItemIds()))}
		for j, id := range o.GetItemIds() {
			d.Items[j] = byID[id]
		}
		out[i] = d
	}
	return out, nil
}

// lookupItems asks the item service for the distinct ids in one call.
// creating says whether the ids come from the caller (an unknown one is
// the caller's NotFound) or from stored orders (an unknown one means order
// and item disagree: FailedPrecondition).
func (s *Service) lookupItems(ctx context.Context, ids []int64, creating bool) (map[int64]*itemv1.Item, error) {
	byID := make(map[int64]*itemv1.Item, len(ids))
	if len(ids) == 0 {
		return byID, nil
	}
	if len(ids) > validate.MaxIDs {
		return nil, status.Errorf(codes.ResourceExhausted, "%d distinct items to resolve, more than one lookup takes (%d)", len(ids), validate.MaxIDs)
	}
	resp, err := s.items.BatchGetItems(ctx, &itemv1.BatchGetItemsRequest{Ids: ids})
	if err != nil {
		return nil, itemError(err, creating)
	}
	if len(resp.GetItems()) != len(ids) {
		return nil, status.Errorf(codes.Internal, "item service answered %d items for %d ids", len(resp.GetItems()), len(ids))
	}
	for i, it := range resp.GetItems() {
		if it.GetId() != ids[i] {
			return nil, status.Errorf(codes.Internal, "item service answered item %d where item %d was asked", it.GetId(), ids[i])
		}
		byID[it.GetId()] = it
	}
	return byID, nil
}

// itemError turns a failed call to the item service into this service's
// answer, naming the item service so that the frontend's error says which
// hop failed.
func itemError(err error, creating bool) error {
	st := status.Convert(err)
	switch st.Code() {
	case codes.Unavailable:
		return status.Errorf(codes.Unavailable, "item service unavailable: %s", st.Message())
	case codes.DeadlineExceeded:
		return status.Errorf(codes.DeadlineExceeded, "item service: %s", st.Message())
	case codes.Canceled:
		return status.Errorf(codes.Canceled, "item service: %s", st.Message())
	case codes.NotFound:
		if creating {
			return status.Error(codes.NotFound, st.Message())
		}
		return status.Errorf(codes.FailedPrecondition, "item service: %s, but a stored order names it (do order and item run with the same --seed-scale?)", st.Message())
	}
	return status.Errorf(codes.Internal, "item service failed: %s: %s", st.Code(), st.Message())
}

// checkOrder validates an order's fields and that its items exist.
func (s *Service) checkOrder(ctx context.Context, userID int64, itemIDs []int64, field string) error {
	if err := validate.ID(field+"user_id", userID); err != nil {
		return err
	}
	if len(itemIDs) > MaxItemsPerOrder {
		return validate.Invalid("%sitem_ids has %d ids, an order takes at most %d", field, len(itemIDs), MaxItemsPerOrder)
	}
	if err := validate.IDs(field+"item_ids", itemIDs, 1); err != nil {
		return err
	}
	distinct := slices.Compact(slices.Sorted(slices.Values(itemIDs)))
	_, err := s.lookupItems(ctx, distinct, true)
	return err
}

func (s *Service) CreateOrder(ctx context.Context, req *orderv1.CreateOrderRequest) (*orderv1.Order, error) {
	if err := s.checkOrder(ctx, req.GetUserId(), req.GetItemIds(), ""); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o := &orderv1.Order{Id: s.nextID, UserId: req.GetUserId(), ItemIds: slices.Clone(req.GetItemIds())}
	s.orders[o.Id] = o
	s.nextID++
	return o, nil
}

func (s *Service) UpdateOrder(ctx context.Context, req *orderv1.UpdateOrderRequest) (*orderv1.Order, error) {
	in := req.GetOrder()
	if in == nil {
		return nil, validate.Invalid("order is missing")
	}
	if _, err := s.get(in.GetId()); err != nil {
		if status.Code(err) == codes.InvalidArgument {
			return nil, validate.Invalid("order.%s", status.Convert(err).Message())
		}
		return nil, err
	}
	if err := s.checkOrder(ctx, in.GetUserId(), in.GetItemIds(), "order."); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.orders[in.GetId()]; !ok {
		// Deleted while its items were being checked.
		return nil, notFound(in.GetId())
	}
	o := &orderv1.Order{Id: in.GetId(), UserId: in.GetUserId(), ItemIds: slices.Clone(in.GetItemIds())}
	s.orders[o.Id] = o
	return o, nil
}

func (s *Service) DeleteOrder(_ context.Context, req *orderv1.DeleteOrderRequest) (*orderv1.DeleteOrderResponse, error) {
	if err := validate.ID("id", req.GetId()); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.orders[req.GetId()]; !ok {
		return nil, notFound(req.GetId())
	}
	delete(s.orders, req.GetId())
	return &orderv1.DeleteOrderResponse{}, nil
}
