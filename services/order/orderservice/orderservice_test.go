package orderservice_test

import (
	"context"
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"

	orderv1 "github.com/envoy-example/envoy-example/protos/order/v1"
	"github.com/envoy-example/envoy-example/services/integration/testmesh"
	"github.com/envoy-example/envoy-example/services/internal/app"
	"github.com/envoy-example/envoy-example/services/item/itemservice"
	"github.com/envoy-example/envoy-example/services/order/orderservice"
)

// startOrder runs order against a real item service, both on loopback.
func startOrder(t *testing.T) (order, item *testmesh.Service, c orderv1.OrderServiceClient) {
	t.Helper()
	item = testmesh.StartOne(t, "item", testmesh.Options{}, func(ctx context.Context, p *app.Process) error {
		return itemservice.Run(ctx, p, 1)
	})
	order = testmesh.StartOne(t, "order", testmesh.Options{}, func(ctx context.Context, p *app.Process) error {
		return orderservice.Run(ctx, p, 1, item.Addr)
	})
	return order, item, orderv1.NewOrderServiceClient(order.Dial(t))
}

func itemNames(d *orderv1.OrderDetail) string {
	var names []string
	for _, it := range d.GetItems() {
		names = append(names, it.GetName())
	}
	return fmt.Sprint(names)
}

func batchCalls(t *testing.T, item *testmesh.Service) float64 {
	return testmesh.Sum(item.Metrics(t), "grpc_server_handled_total", map[string]string{"grpc_method": "BatchGetItems"})
}

func TestOrderService(t *testing.T) {
	_, item, c := startOrder(t)
	ctx := context.Background()

	all, err := c.ListOrders(ctx, &orderv1.ListOrdersRequest{})
	if err != nil || len(all.GetOrders()) != 3 {
		t.Fatalf("ListOrders = %v, %v; want 3", all, err)
	}
	mine, err := c.ListOrders(ctx, &orderv1.ListOrdersRequest{UserId: 1})
	if err != nil || len(mine.GetOrders()) != 2 {
		t.Errorf("ListOrders(user 1) = %v, %v; want 2", mine, err)
	}
	_, err = c.ListOrders(ctx, &orderv1.ListOrdersRequest{UserId: -1})
	testmesh.WantStatus(t, "ListOrders(user -1)", err, codes.InvalidArgument, "user_id must be a positive integer or 0")

	o, err := c.GetOrder(ctx, &orderv1.GetOrderRequest{Id: 3})
	if err != nil || o.GetUserId() != 2 || fmt.Sprint(o.GetItemIds()) != "[5]" {
		t.Errorf("GetOrder(3) = %v, %v", o, err)
	}
	_, err = c.GetOrder(ctx, &orderv1.GetOrderRequest{Id: 30})
	testmesh.WantStatus(t, "GetOrder(30)", err, codes.NotFound, "order 30 not found")
	_, err = c.GetOrderDetail(ctx, &orderv1.GetOrderRequest{})
	testmesh.WantStatus(t, "GetOrderDetail(0)", err, codes.InvalidArgument, "id must be a positive integer")

	d, err := c.GetOrderDetail(ctx, &orderv1.GetOrderRequest{Id: 1})
	if err != nil || itemNames(d) != "[first item second item]" {
		t.Errorf("GetOrderDetail(1) = %v, %v", d, err)
	}

	// Every order's items come from one call to item.
	before := batchCalls(t, item)
	details, err := c.ListOrderDetails(ctx, &orderv1.ListOrdersRequest{})
	if err != nil || len(details.GetOrders()) != 3 {
		t.Fatalf("ListOrderDetails = %v, %v", details, err)
	}
	if got := itemNames(details.GetOrders()[1]) + itemNames(details.GetOrders()[2]); got != "[item three item four][fifth item]" {
		t.Errorf("ListOrderDetails items = %s", got)
	}
	if n := batchCalls(t, item) - before; n != 1 {
		t.Errorf("ListOrderDetails made %v calls to item, want 1", n)
	}

	created, err := c.CreateOrder(ctx, &orderv1.CreateOrderRequest{UserId: 3, ItemIds: []int64{5, 1, 5}})
	if err != nil || created.GetId() != 4 {
		t.Fatalf("CreateOrder = %v, %v; want id 4", created, err)
	}
	if d, err := c.GetOrderDetail(ctx, &orderv1.GetOrderRequest{Id: 4}); err != nil || itemNames(d) != "[fifth item first item fifth item]" {
		t.Errorf("GetOrderDetail(4) = %v, %v", d, err)
	}
	_, err = c.CreateOrder(ctx, &orderv1.CreateOrderRequest{UserId: 3, ItemIds: []int64{1, 99}})
	testmesh.WantStatus(t, "CreateOrder with item 99", err, codes.NotFound, "item 99 not found")
	_, err = c.CreateOrder(ctx, &orderv1.CreateOrderRequest{UserId: 3})
	testmesh.WantStatus(t, "CreateOrder without items", err, codes.InvalidArgument, "item_ids needs at least 1")
	_, err = c.CreateOrder(ctx, &orderv1.CreateOrderRequest{ItemIds: []int64{1}})
	testmesh.WantStatus(t, "CreateOrder without a user", err, codes.InvalidArgument, "user_id must be a positive integer")
	_, err = c.CreateOrder(ctx, &orderv1.CreateOrderRequest{UserId: 1, ItemIds: make([]int64, orderservice.MaxItemsPerOrder+1)})
	testmesh.WantStatus(t, "CreateOrder with too many items", err, codes.InvalidArgument, "at most 100")

	up, err := c.UpdateOrder(ctx, &orderv1.UpdateOrderRequest{Order: &orderv1.Order{Id: 4, UserId: 2, ItemIds: []int64{2}}})
	if err != nil || up.GetUserId() != 2 {
		t.Errorf("UpdateOrder(4) = %v, %v", up, err)
	}
	_, err = c.UpdateOrder(ctx, &orderv1.UpdateOrderRequest{Order: &orderv1.Order{Id: 40, UserId: 2, ItemIds: []int64{2}}})
	testmesh.WantStatus(t, "UpdateOrder(40)", err, codes.NotFound, "order 40 not found")
	_, err = c.UpdateOrder(ctx, &orderv1.UpdateOrderRequest{Order: &orderv1.Order{Id: 0}})
	testmesh.WantStatus(t, "UpdateOrder(0)", err, codes.InvalidArgument, "order.id must be a positive integer")
	_, err = c.UpdateOrder(ctx, &orderv1.UpdateOrderRequest{Order: &orderv1.Order{Id: 4, UserId: 2, ItemIds: []int64{-5}}})
	testmesh.WantStatus(t, "UpdateOrder with item -5", err, codes.InvalidArgument, "order.item_ids[0] must be a positive integer")
	_, err = c.UpdateOrder(ctx, &orderv1.UpdateOrderRequest{})
	testmesh.WantStatus(t, "UpdateOrder without an order", err, codes.InvalidArgument, "order is missing")

	if _, err := c.DeleteOrder(ctx, &orderv1.DeleteOrderRequest{Id: 4}); err != nil {
		t.Errorf("DeleteOrder(4) = %v", err)
	}
	_, err = c.DeleteOrder(ctx, &orderv1.DeleteOrderRequest{Id: 4})
	testmesh.WantStatus(t, "DeleteOrder(4) twice", err, codes.NotFound, "order 4 not found")
}

// With item down, calls that need items fail Unavailable naming item; the
// others still work.
func TestOrderWithItemStopped(t *testing.T) {
	_, item, c := startOrder(t)
	if err := item.Stop(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, err := c.GetOrderDetail(ctx, &orderv1.GetOrderRequest{Id: 1})
	testmesh.WantStatus(t, "GetOrderDetail with item stopped", err, codes.Unavailable, "item service unavailable")
	_, err = c.CreateOrder(ctx, &orderv1.CreateOrderRequest{UserId: 1, ItemIds: []int64{1}})
	testmesh.WantStatus(t, "CreateOrder with item stopped", err, codes.Unavailable, "item service unavailable")
	if _, err := c.GetOrder(ctx, &orderv1.GetOrderRequest{Id: 1}); err != nil {
		t.Errorf("GetOrder needs no item, yet = %v", err)
	}
}
