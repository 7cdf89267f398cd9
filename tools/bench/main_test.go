package main

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/envoy-example/envoy-example/tools/bench/internal/report"
)

func TestInts(t *testing.T) {
	got, err := ints("1, 4,16")
	if err != nil || !slices.Equal(got, []int{1, 4, 16}) {
		t.Errorf("%v %v", got, err)
	}
	for _, bad := range []string{"", "1,,2", "0", "-1", "x"} {
		if _, err := ints(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// Rounds alternate which mode goes first, so that neither always runs on
// a machine the other just warmed.
func TestOrderAlternates(t *testing.T) {
	if !slices.Equal(order(1), []string{report.Mesh, report.Bypass}) || !slices.Equal(order(2), []string{report.Bypass, report.Mesh}) {
		t.Errorf("%v %v", order(1), order(2))
	}
}

func TestUsageErrors(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"--concurrency", "1,0"}, &out, &errOut); code != 2 {
		t.Errorf("bad --concurrency: exit %d", code)
	}
	if code := run([]string{"report", t.TempDir()}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "results.json") {
		t.Errorf("report without results: exit %d, %s", code, errOut.String())
	}
}
