package report_test

import (
	"strings"
	"testing"

	"github.com/envoy-example/envoy-example/services/frontend/report"
)

// seed is the report of the seed data, as the frontend answers it.
const seed = `[{"user":{"id":1,"name":"User One","address":"1234 5th Street"},"orders":[{"id":1,"user":1,"items":[{"id":1,"name":"first item","description":"d"},{"id":2,"name":"second item","description":"d"}]},{"id":2,"user":1,"items":[{"id":3,"name":"item three","description":"d"},{"id":4,"name":"item four","description":"d"}]}]},` +
	`{"user":{"id":2,"name":"User Two","address":"6th Ave"},"orders":[{"id":3,"user":2,"items":[{"id":5,"name":"fifth item","description":"d"}]}]},` +
	`{"user":{"id":3,"name":"User Three","address":"Down by the river"},"orders":[]}]`

func decodeSeed(t *testing.T) report.Report {
	t.Helper()
	rep, err := report.Decode(strings.NewReader(seed))
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestCheckPassesTheSeedReport(t *testing.T) {
	rep := decodeSeed(t)
	if err := report.Check(rep); err != nil {
		t.Fatal(err)
	}
	if rep.Orders() != 3 {
		t.Errorf("Orders() = %d", rep.Orders())
	}
	// The seed's 3 orders hold 6 items (services/internal/seed).
	if n := rep.ItemText(); n < 6*len("item four") {
		t.Errorf("ItemText() = %d, want at least 6 names of %d bytes", n, len("item four"))
	}
}

func TestCheckSaysWhatIsMissing(t *testing.T) {
	for _, tc := range []struct {
		name   string
		break_ func(report.Report) report.Report
		want   string
	}{
		{"two users", func(r report.Report) report.Report { return r[:2] }, "2 users, want the 3 seed users"},
		{"user without name", func(r report.Report) report.Report { r[2].User.Name = ""; return r }, "user 3 has no name"},
		{"order without items", func(r report.Report) report.Report { r[0].Orders[1].Items = nil; return r }, "order 2 of User One has no items"},
		{"item not resolved", func(r report.Report) report.Report { r[1].Orders[0].Items[0].Name = ""; return r }, "order 3: item 5 has no name"},
		{"an order lost", func(r report.Report) report.Report { r[1].Orders = nil; return r }, "2 orders, want the 3 seed orders"},
		{"an order too many", func(r report.Report) report.Report {
			r[2].Orders = []report.Order{{ID: 9, User: 3, Items: []report.Item{{ID: 1, Name: "first item"}}}}
			return r
		}, "4 orders"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := report.Check(tc.break_(decodeSeed(t)))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Check = %v, want %q", err, tc.want)
			}
		})
	}
}
