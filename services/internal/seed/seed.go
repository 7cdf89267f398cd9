// Package seed generates the demo's in-memory data. At scale 1 it is the
// original example's data: three users, five items, three orders. At scale
// N the same block is repeated N times with ids shifted, so that user, order
// and item, each started with the same --seed-scale, agree on every id
// without talking to each other; tests use it to grow the data.
//
// Block b (0 ≤ b < N) holds users 3b+1..3b+3, items 5b+1..5b+5 and orders
// 3b+1..3b+3: order 3b+1 is user 3b+1's with items 5b+1 and 5b+2, order 3b+2
// is user 3b+1's with items 5b+3 and 5b+4, order 3b+3 is user 3b+2's with
// item 5b+5. The third user of a block has no orders.
package seed

import (
	"fmt"

	itemv1 "github.com/envoy-example/envoy-example/protos/item/v1"
	orderv1 "github.com/envoy-example/envoy-example/protos/order/v1"
	userv1 "github.com/envoy-example/envoy-example/protos/user/v1"
)

var users = [3]struct{ name, address string }{
	{"User One", "1234 5th Street"},
	{"User Two", "6th Ave"},
	{"User Three", "Down by the river"},
}

var items = [5]struct{ name, description string }{
	{"first item", "The first item of the catalogue"},
	{"second item", "A second item, much like the first"},
	{"item three", "The third item, for variety"},
	{"item four", "Item number four"},
	{"fifth item", "The fifth and last item"},
}

// suffix tells the copies of block b apart: "" for the original block,
// " #2" for the second and so on.
func suffix(b int) string {
	if b == 0 {
		return ""
	}
	return fmt.Sprintf(" #%d", b+1)
}

// Users returns the users of scale n, ordered by id.
func Users(n int) []*userv1.User {
	out := make([]*userv1.User, 0, 3*n)
	for b := range n {
		for i, u := range users {
			out = append(out, &userv1.User{Id: int64(3*b + i + 1), Name: u.name + suffix(b), Address: u.address})
		}
	}
	return out
}

// Items returns the items of scale n, ordered by id.
func Items(n int) []*itemv1.Item {
	out := make([]*itemv1.Item, 0, 5*n)
	for b := range n {
		for i, it := range items {
			out = append(out, &itemv1.Item{Id: int64(5*b + i + 1), Name: it.name + suffix(b), Description: it.description})
		}
	}
	return out
}

// Orders returns the orders of scale n, ordered by id.
func Orders(n int) []*orderv1.Order {
	out := make([]*orderv1.Order, 0, 3*n)
	for b := range n {
		u, it := int64(3*b), int64(5*b)
		out = append(out,
			&orderv1.Order{Id: u + 1, UserId: u + 1, ItemIds: []int64{it + 1, it + 2}},
			&orderv1.Order{Id: u + 2, UserId: u + 1, ItemIds: []int64{it + 3, it + 4}},
			&orderv1.Order{Id: u + 3, UserId: u + 2, ItemIds: []int64{it + 5}},
		)
	}
	return out
}
