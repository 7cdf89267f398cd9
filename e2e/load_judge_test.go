//go:build e2e

package e2e

import (
	"strings"
	"testing"

	"github.com/envoy-example/envoy-example/internal/fortio"
)

// The judge's size check, on the sizes of a recorded run through the
// mesh (internal/fortio/testdata/fortio-mesh-c1.json: sizes 912-913,
// headers 243-244, so a body of 669) and on runs with short bodies.
func TestShortBody(t *testing.T) {
	h := func(min, max float64) fortio.Histogram { return fortio.Histogram{Count: 6050, Min: min, Max: max} }
	const full, shortestName = 669, len("item four")
	for _, tc := range []struct {
		name           string
		sizes, headers fortio.Histogram
		want           string
	}{
		{"every body full", h(912, 913), h(243, 244), ""},
		{"one item name missing", h(912-9, 913), h(243, 244), "a body of at most 660 bytes, shorter than a full report (669)"},
		{"every item name missing", h(912-50, 913), h(243, 244), "a body of at most 619 bytes"},
		// The old check (smallest size, headers included, against the
		// body alone) passed this: 862 > 669.
		{"short but above the body alone", h(862, 913), h(243, 244), "shorter than a full report"},
		{"headers vary too much", h(912, 925), h(243, 253), "vary by 10 bytes"},
		{"no header sizes", h(912, 913), fortio.Histogram{}, "cannot tell"},
	} {
		got := shortBody(tc.sizes, tc.headers, full, shortestName)
		if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
