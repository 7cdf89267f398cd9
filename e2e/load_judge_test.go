//go:build e2e

package e2e

import (
	"strings"
	"testing"

	"github.com/envoy-example/envoy-example/internal/fortio"
)

// The judge's size check, on the sizes of a recorded run through the
// mesh (internal/fortio/testdata/fortio-mesh-c1.json: sizes 912-913,
// headers 243-244, so a body of 669), on the headers of a rolling upgrade
// (a run of step 9: 243-263) and on runs with short bodies. itemText is
// of the order of the seed report's (report.ItemText).
func TestShortBody(t *testing.T) {
	h := func(min, max float64) fortio.Histogram { return fortio.Histogram{Count: 6050, Min: min, Max: max} }
	const full, itemText = 669, 150
	for _, tc := range []struct {
		name           string
		sizes, headers fortio.Histogram
		want           string
	}{
		{"every body full", h(912, 913), h(243, 244), ""},
		{"every body full, Envoys draining", h(912, 932), h(243, 263), ""},
		{"one item name missing", h(912-9, 913), h(243, 244), "a body of at most 660 bytes, shorter than a full report (669)"},
		{"item's answer missing", h(912-itemText, 913), h(243, 244), "a body of at most 519 bytes"},
		// The old check (smallest size, headers included, against the
		// body alone) passed this: 862 > 669.
		{"short but above the body alone", h(862, 913), h(243, 244), "shorter than a full report"},
		{"headers vary too much", h(912, 1100), h(243, 243+itemText), "vary by 150 bytes"},
		{"no header sizes", h(912, 913), fortio.Histogram{}, "cannot tell"},
	} {
		got := shortBody(tc.sizes, tc.headers, full, itemText)
		if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
