package itemservice_test

import (
	"context"
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"

	itemv1 "github.com/envoy-example/envoy-example/protos/item/v1"
	"github.com/envoy-example/envoy-example/services/integration/testmesh"
	"github.com/envoy-example/envoy-example/services/internal/app"
	"github.com/envoy-example/envoy-example/services/internal/validate"
	"github.com/envoy-example/envoy-example/services/item/itemservice"
)

func TestItemService(t *testing.T) {
	s := testmesh.StartOne(t, "item", testmesh.Options{}, func(ctx context.Context, p *app.Process) error {
		return itemservice.Run(ctx, p, 1)
	})
	c := itemv1.NewItemServiceClient(s.Dial(t))
	ctx := context.Background()

	list, err := c.ListItems(ctx, &itemv1.ListItemsRequest{})
	if err != nil || len(list.GetItems()) != 5 {
		t.Fatalf("ListItems = %v, %v; want 5 items", list, err)
	}
	it, err := c.GetItem(ctx, &itemv1.GetItemRequest{Id: 5})
	if err != nil || it.GetName() != "fifth item" || it.GetDescription() == "" {
		t.Errorf("GetItem(5) = %v, %v", it, err)
	}
	_, err = c.GetItem(ctx, &itemv1.GetItemRequest{Id: 6})
	testmesh.WantStatus(t, "GetItem(6)", err, codes.NotFound, "item 6 not found")
	_, err = c.GetItem(ctx, &itemv1.GetItemRequest{Id: -2})
	testmesh.WantStatus(t, "GetItem(-2)", err, codes.InvalidArgument, "id must be a positive integer")

	batch, err := c.BatchGetItems(ctx, &itemv1.BatchGetItemsRequest{Ids: []int64{4, 1, 4}})
	var got []string
	for _, it := range batch.GetItems() {
		got = append(got, fmt.Sprintf("%d:%s", it.GetId(), it.GetName()))
	}
	if err != nil || fmt.Sprint(got) != "[4:item four 1:first item 4:item four]" {
		t.Errorf("BatchGetItems(4,1,4) = %v, %v; want the items in the order asked", got, err)
	}
	if empty, err := c.BatchGetItems(ctx, &itemv1.BatchGetItemsRequest{}); err != nil || len(empty.GetItems()) != 0 {
		t.Errorf("BatchGetItems() = %v, %v; want no items", empty, err)
	}
	_, err = c.BatchGetItems(ctx, &itemv1.BatchGetItemsRequest{Ids: []int64{1, 9, 2}})
	testmesh.WantStatus(t, "BatchGetItems with an unknown id", err, codes.NotFound, "item 9 not found")
	_, err = c.BatchGetItems(ctx, &itemv1.BatchGetItemsRequest{Ids: []int64{1, 0}})
	testmesh.WantStatus(t, "BatchGetItems with id 0", err, codes.InvalidArgument, "ids[1] must be a positive integer")
	_, err = c.BatchGetItems(ctx, &itemv1.BatchGetItemsRequest{Ids: make([]int64, validate.MaxIDs+1)})
	testmesh.WantStatus(t, "BatchGetItems with too many ids", err, codes.InvalidArgument, "at most 10000 ids")
}
