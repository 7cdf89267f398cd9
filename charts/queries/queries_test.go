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
