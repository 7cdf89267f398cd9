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

// ItemText is the bytes of text (names and descriptions) that item's
// answer puts in the report. order resolves every item of a report in one
// batch call to item, so a report without item's answer is at least that
// much shorter than the full one.
func (r Report) ItemText() int {
	n := 0
	for _, u := range r {
		for _, o := range u.Orders {
			for _, it := range o.Items {
				n += len(it.Name) + len(it.Description)
			}
		}
	}
	return n
}
