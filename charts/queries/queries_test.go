package queries_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/envoy-example/envoy-example/charts/queries"
)

// designPath is DESIGN.md at the repository root, from this package's
// directory (where `go test` runs the test).
var designPath = filepath.Join("..", "..", "DESIGN.md")

// DESIGN.md writes each query on a line of its own, in a fenced block:
// every Expr must be one of its lines, character for character, so that
// the document and the queries the chart is tested against never drift.
func TestDesignMdHasEveryQueryVerbatim(t *testing.T) {
	text, err := os.ReadFile(designPath)
	if err != nil {
		t.Fatalf("reading the design document: %v", err)
	}
	lines := strings.Split(strings.ReplaceAll(string(text), "\r\n", "\n"), "\n")
	if len(queries.Design) == 0 {
		t.Fatal("queries.Design is empty")
	}
	for _, q := range queries.Design {
		if !slices.Contains(lines, q.Expr) {
			t.Errorf("%s: DESIGN.md has no line that is exactly\n\t%s\n(queries.go and DESIGN.md must write the query the same way)", q.Name, q.Expr)
		}
	}
}

func TestHopString(t *testing.T) {
	if got := (queries.Hop{App: "ingress", Cluster: "frontend"}).String(); got != "ingress->frontend" {
		t.Errorf("got %q", got)
	}
}

// demo are the demo's hops, as the chart gives them to the smoke test.
var demo = []queries.Hop{{App: "ingress", Cluster: "frontend"}, {App: "frontend", Cluster: "user"}, {App: "frontend", Cluster: "order"}, {App: "order", Cluster: "item"}}

func TestMissing(t *testing.T) {
	all := []map[string]string{
		{"app": "ingress", "cluster": "frontend"},
		{"app": "frontend", "cluster": "user"},
		{"app": "frontend", "cluster": "order"},
		{"app": "order", "cluster": "item"},
	}
	for _, tc := range []struct {
		name   string
		series []map[string]string
		want   []queries.Hop
	}{
		{"no series", nil, demo},
		{"every hop", all, nil},
		{"every hop, extra series and labels", append([]map[string]string{
			{"app": "user", "cluster": "jaeger"},
			{"app": "frontend", "cluster": "local_service"},
			{"app": "ingress", "cluster": "frontend", "le": "0.5", "instance": "10.244.0.9:9102"},
		}, all[1:]...), nil},
		{"one hop missing", []map[string]string{all[0], all[1], all[2]}, []queries.Hop{{App: "order", Cluster: "item"}}},
		{"two missing, in Hops order", []map[string]string{all[3], all[1]}, []queries.Hop{{App: "ingress", Cluster: "frontend"}, {App: "frontend", Cluster: "order"}}},
		// app and cluster must match on the same series.
		{"labels split across series", []map[string]string{
			{"app": "order", "cluster": "user"}, {"app": "frontend", "cluster": "item"}, all[0], all[1], all[2],
		}, []queries.Hop{{App: "order", Cluster: "item"}}},
		// A hop reversed is another hop.
		{"reversed", []map[string]string{{"app": "item", "cluster": "order"}, all[0], all[1], all[2]}, []queries.Hop{{App: "order", Cluster: "item"}}},
		{"no labels", []map[string]string{{}, {"app": "", "cluster": ""}}, demo},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := queries.Missing(tc.series, demo); !slices.Equal(got, tc.want) {
				t.Errorf("Missing = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestParseHops(t *testing.T) {
	got, err := queries.ParseHops("ingress->frontend,frontend->user, frontend->order,order->item")
	if err != nil || !slices.Equal(got, demo) {
		t.Errorf("ParseHops = %v, %v; want %v", got, err, demo)
	}
	for _, bad := range []string{"", ",", "ingress", "ingress->", "->frontend", "a->b->c", "a->b,a->b"} {
		if hops, err := queries.ParseHops(bad); err == nil {
			t.Errorf("ParseHops(%q) = %v, want an error", bad, hops)
		}
	}
}
