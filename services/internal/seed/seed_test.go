package seed

import "testing"

func TestScaleOneIsTheOriginalData(t *testing.T) {
	us := Users(1)
	want := []string{"User One|1234 5th Street", "User Two|6th Ave", "User Three|Down by the river"}
	if len(us) != 3 {
		t.Fatalf("Users(1) has %d users, want 3", len(us))
	}
	for i, u := range us {
		if got := u.GetName() + "|" + u.GetAddress(); got != want[i] || u.GetId() != int64(i+1) {
			t.Errorf("user %d = %d %q, want %d %q", i, u.GetId(), got, i+1, want[i])
		}
	}
	names := []string{"first item", "second item", "item three", "item four", "fifth item"}
	for i, it := range Items(1) {
		if it.GetName() != names[i] || it.GetDescription() == "" || it.GetId() != int64(i+1) {
			t.Errorf("item %d = %v", i, it)
		}
	}
	os := Orders(1)
	if len(os) != 3 || os[0].GetUserId() != 1 || os[1].GetUserId() != 1 || os[2].GetUserId() != 2 {
		t.Fatalf("Orders(1) = %v: want two orders of user 1 and one of user 2", os)
	}
	if len(os[0].GetItemIds())+len(os[1].GetItemIds()) != 4 || len(os[2].GetItemIds()) != 1 {
		t.Errorf("Orders(1) = %v: want two items in each of user 1's orders and one in user 2's", os)
	}
}

// Every id an order names exists at the same scale, and ids are unique:
// the three services agree whatever the scale.
func TestScalesAgree(t *testing.T) {
	for _, n := range []int{1, 2, 10} {
		userIDs, itemIDs := map[int64]bool{}, map[int64]bool{}
		for _, u := range Users(n) {
			if userIDs[u.GetId()] {
				t.Fatalf("scale %d: user id %d twice", n, u.GetId())
			}
			userIDs[u.GetId()] = true
		}
		for _, it := range Items(n) {
			itemIDs[it.GetId()] = true
		}
		if len(userIDs) != 3*n || len(itemIDs) != 5*n {
			t.Fatalf("scale %d: %d users and %d items, want %d and %d", n, len(userIDs), len(itemIDs), 3*n, 5*n)
		}
		for _, o := range Orders(n) {
			if !userIDs[o.GetUserId()] {
				t.Errorf("scale %d: order %d names unknown user %d", n, o.GetId(), o.GetUserId())
			}
			for _, id := range o.GetItemIds() {
				if !itemIDs[id] {
					t.Errorf("scale %d: order %d names unknown item %d", n, o.GetId(), id)
				}
			}
		}
	}
	if got := Users(2)[3].GetName(); got != "User One #2" {
		t.Errorf("first user of the second block is %q, want \"User One #2\"", got)
	}
}
