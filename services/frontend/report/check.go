package report

import "fmt"

// Seed data that a demo answers with until someone changes it: three
// users, three orders in all (services/internal/seed).
const (
	SeedUsers  = 3
	SeedOrders = 3
)

// Check checks that the seed data came through every hop: the three seed
// users, each with a name (user answered), three orders in all (order
// answered), each order with items and each item with its name (order
// resolved it through item). The chart's smoke checker and the e2e both
// judge a report with it.
func Check(rep Report) error {
	if len(rep) != SeedUsers {
		return fmt.Errorf("the report has %d users, want the %d seed users", len(rep), SeedUsers)
	}
	for _, u := range rep {
		if u.User.Name == "" {
			return fmt.Errorf("user %d has no name", u.User.ID)
		}
		for _, o := range u.Orders {
			if len(o.Items) == 0 {
				return fmt.Errorf("order %d of %s has no items", o.ID, u.User.Name)
			}
			for _, it := range o.Items {
				if it.Name == "" {
					return fmt.Errorf("order %d: item %d has no name (not resolved by item)", o.ID, it.ID)
				}
			}
		}
	}
	if n := rep.Orders(); n != SeedOrders {
		return fmt.Errorf("the report has %d orders, want the %d seed orders", n, SeedOrders)
	}
	return nil
}

// Orders counts the orders of every user.
func (r Report) Orders() int {
	n := 0
	for _, u := range r {
		n += len(u.Orders)
	}
	return n
}

// ShortestItemName is the length in bytes of the shortest item name in
// the report (0 when it has no item): a report missing any one name is at
// least that much shorter than the full one.
func (r Report) ShortestItemName() int {
	shortest := 0
	for _, u := range r {
		for _, o := range u.Orders {
			for _, it := range o.Items {
				if shortest == 0 || len(it.Name) < shortest {
					shortest = len(it.Name)
				}
			}
		}
	}
	return shortest
}
