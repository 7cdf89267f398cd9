package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/envoy-example/envoy-example/internal/repo"
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

// Turns rotate which mode goes first, so that none always runs on a
// machine another just warmed; the concurrency phase turns by round and
// level, so at each level of two rounds two different modes go first.
func TestOrderRotates(t *testing.T) {
	modes := []string{report.Mesh, report.MeshPrometheus, report.Bypass}
	if got := order(modes, 0); !slices.Equal(got, modes) {
		t.Errorf("turn 0: %v", got)
	}
	if got := order(modes, 1); !slices.Equal(got, []string{report.MeshPrometheus, report.Bypass, report.Mesh}) {
		t.Errorf("turn 1: %v", got)
	}
	if got := order(modes, 3); !slices.Equal(got, modes) {
		t.Errorf("turn 3: %v", got)
	}
	two := []string{report.Mesh, report.Bypass}
	if !slices.Equal(order(two, 1), []string{report.Bypass, report.Mesh}) {
		t.Errorf("two modes, turn 1: %v", order(two, 1))
	}
	// The default phase: 2 rounds of 3 levels.
	first := map[string]int{}
	for round := 1; round <= 2; round++ {
		for level := range 3 {
			first[order(modes, round-1+level)[0]]++
			if a, b := order(modes, level)[0], order(modes, 1+level)[0]; a == b {
				t.Errorf("level %d: %s first in both rounds", level, a)
			}
		}
	}
	for _, m := range modes {
		if first[m] != 2 {
			t.Errorf("%s first %d times of 6: %v", m, first[m], first)
		}
	}
}

func TestParseModes(t *testing.T) {
	got, err := parseModes("mesh, mesh-prometheus,bypass")
	if err != nil || !slices.Equal(got, []string{report.Mesh, report.MeshPrometheus, report.Bypass}) {
		t.Errorf("%v %v", got, err)
	}
	for _, bad := range []string{"", "mesh,", "mesh,mesh", "istio"} {
		if _, err := parseModes(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// One release per mode some phase measures, with its mode's values and
// the phases that measure it; the default flags install four.
func TestReleases(t *testing.T) {
	modes, err := phaseModes("mesh,mesh-prometheus,bypass", "mesh,mesh-php,bypass", "mesh,bypass")
	if err != nil {
		t.Fatal(err)
	}
	rels := releases(modes)
	var names []string
	byMode := map[string]report.Release{}
	for _, r := range rels {
		names = append(names, r.Mode)
		byMode[r.Mode] = r
	}
	if !slices.Equal(names, []string{report.Mesh, report.MeshPrometheus, report.MeshPHP, report.Bypass}) {
		t.Fatalf("releases %v", names)
	}
	if r := byMode[report.Mesh]; r.Namespace != "bench-mesh" || r.ValuesFile != report.ModeValues(report.Mesh) || len(r.Set) != 0 || !slices.Equal(r.Phases, phases) {
		t.Errorf("mesh %+v", r)
	}
	if r := byMode[report.MeshPHP]; r.Namespace != "bench-mesh-php" || !slices.Equal(r.Phases, []string{report.PhaseSeed}) {
		t.Errorf("mesh-php %+v", r)
	}
	if r := byMode[report.MeshPrometheus]; !slices.Equal(r.Phases, []string{report.PhaseConcurrency}) {
		t.Errorf("mesh-prometheus %+v", r)
	}
}

// Each mode's release gets the common values files, then its own, and the
// --set values of the phase.
func TestInstallValues(t *testing.T) {
	for _, spec := range report.ModeTable {
		got := installFiles([]string{"ci/values-offline.yaml"}, spec.Name)
		if want := []string{"ci/values-offline.yaml", "charts/envoy-example/ci/" + spec.Name + "-values.yaml"}; !slices.Equal(got, want) {
			t.Errorf("%s: files %v, want %v", spec.Name, got, want)
		}
	}
	got := installValues(10, 3)
	if !slices.Contains(got, "seedScale=10") || !slices.Contains(got, "services.user.replicas=3") || !slices.Contains(got, "prometheus.enabled=false") {
		t.Errorf("values: %v", got)
	}
}

// The modes are the chart's ci/ files: one per mode, each headed by a
// comment saying what the mode is, and none other (the chart tests render
// and validate each).
func TestModeValuesFiles(t *testing.T) {
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, spec := range report.ModeTable {
		want = append(want, filepath.Join(root, spec.ValuesFile))
		data, err := os.ReadFile(filepath.Join(root, spec.ValuesFile))
		if err != nil {
			t.Errorf("mode %s: %v", spec.Name, err)
			continue
		}
		if head := fmt.Sprintf("# Mode %q: ", spec.Name); !strings.HasPrefix(string(data), head) {
			t.Errorf("%s does not start with %q", spec.ValuesFile, head)
		}
	}
	got, err := filepath.Glob(filepath.Join(root, "charts", "envoy-example", "ci", "*"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("the chart's ci/ holds %v, the modes' files are %v", got, want)
	}
}

func TestUsageErrors(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"--concurrency", "1,0"}, &out, &errOut); code != 2 {
		t.Errorf("bad --concurrency: exit %d", code)
	}
	if code := run([]string{"--modes", "mesh,istio"}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "istio") {
		t.Errorf("bad --modes: exit %d, %s", code, errOut.String())
	}
	if code := run([]string{"report", t.TempDir()}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "results.json") {
		t.Errorf("report without results: exit %d, %s", code, errOut.String())
	}
}
