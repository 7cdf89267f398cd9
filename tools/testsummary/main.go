// Command testsummary reads `go test -json` on stdin and writes what a
// plain `go test` would (one ok/FAIL line per package as each finishes,
// the output of each failed test), then which tests failed and which were
// skipped and why, then one closing line:
//
//	unit: 2 skipped
//	  github.com/envoy-example/envoy-example/tools/imagebuilder TestHeavyComponentImages: components_test.go:148: opt-in: set IMAGEBUILDER_HEAVY=1 ...
//	  ...
//	41 passed, 0 failed, 2 skipped
//
// Counts include subtests. A package that fails with no failed test (a
// build failure, a panic outside a test) counts as one failure. Lines that
// are not JSON (go's own messages on stderr) pass through as they come.
//
//	go test -json ./... 2>&1 | go run ./tools/testsummary -name unit
//
// It exits 1 when something failed, 2 when it could not read its input;
// `make unit` exits with go test's own status.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

func main() {
	name := flag.String("name", "tests", "the prefix of the closing lines (\"unit: 2 skipped\")")
	flag.Parse()
	s := newSummary(os.Stdout, *name)
	if err := s.read(os.Stdin); err != nil {
		fmt.Fprintf(os.Stderr, "testsummary: %v\n", err)
		os.Exit(2)
	}
	s.finish()
	if s.failed > 0 {
		os.Exit(1)
	}
}

// event is one line of `go test -json` (cmd/test2json), with the build
// events of Go 1.24+.
type event struct {
	Action      string
	Package     string
	Test        string
	Elapsed     float64
	Output      string
	ImportPath  string
	FailedBuild string
}

type testKey struct{ pkg, test string }

// result is one failed or skipped test.
type result struct {
	pkg, test, reason string
}

type summary struct {
	w    io.Writer
	name string

	testOut  map[testKey][]string // output of tests that have not finished
	running  map[string][]string  // per package, its unfinished tests in start order
	pkgOut   map[string][]string  // package-level output
	buildOut map[string][]string  // build output per import path
	pkgFails map[string]int       // failed tests per package

	passed, failed, skipped int
	failures, skips         []result
}

func newSummary(w io.Writer, name string) *summary {
	return &summary{
		w: w, name: name,
		testOut:  map[testKey][]string{},
		running:  map[string][]string{},
		pkgOut:   map[string][]string{},
		buildOut: map[string][]string{},
		pkgFails: map[string]int{},
	}
}

func (s *summary) read(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	for sc.Scan() {
		line := sc.Text()
		var e event
		if !strings.HasPrefix(line, "{") || json.Unmarshal([]byte(line), &e) != nil || e.Action == "" {
			fmt.Fprintln(s.w, line)
			continue
		}
		s.event(e)
	}
	return sc.Err()
}

func (s *summary) event(e event) {
	switch e.Action {
	case "build-output":
		s.buildOut[e.ImportPath] = append(s.buildOut[e.ImportPath], e.Output)
		return
	case "build-fail":
		s.print(s.buildOut[e.ImportPath])
		delete(s.buildOut, e.ImportPath)
		return
	}
	if e.Test == "" {
		s.packageEvent(e)
		return
	}
	k := testKey{e.Package, e.Test}
	switch e.Action {
	case "run":
		s.running[e.Package] = append(s.running[e.Package], e.Test)
	case "output":
		s.testOut[k] = append(s.testOut[k], e.Output)
	case "pass":
		s.passed++
		s.done(k)
	case "fail":
		s.fail(k)
	case "skip":
		s.skipped++
		s.skips = append(s.skips, result{e.Package, e.Test, skipReason(s.testOut[k])})
		s.done(k)
	}
}

func (s *summary) fail(k testKey) {
	s.failed++
	s.pkgFails[k.pkg]++
	s.failures = append(s.failures, result{pkg: k.pkg, test: k.test})
	s.print(s.testOut[k])
	s.done(k)
}

func (s *summary) done(k testKey) {
	delete(s.testOut, k)
	r := s.running[k.pkg]
	for i, t := range r {
		if t == k.test {
			s.running[k.pkg] = append(r[:i:i], r[i+1:]...)
			break
		}
	}
}

func (s *summary) packageEvent(e event) {
	switch e.Action {
	case "output":
		s.pkgOut[e.Package] = append(s.pkgOut[e.Package], e.Output)
		return
	case "pass", "skip", "fail":
	default:
		return
	}
	out := s.pkgOut[e.Package]
	delete(s.pkgOut, e.Package)
	if e.Action != "fail" {
		// "ok  \tpkg\t0.01s" or "?   \tpkg\t[no test files]".
		var lines []string
		for _, l := range out {
			if strings.HasPrefix(l, "ok  ") || strings.HasPrefix(l, "?   ") {
				lines = append(lines, l)
			}
		}
		if len(lines) == 0 {
			lines = []string{fmt.Sprintf("ok  \t%s\t%.3fs\n", e.Package, e.Elapsed)}
		}
		s.print(lines)
		return
	}
	// Tests that never finished (a panic, a timeout) failed with their
	// package: their output says why.
	for _, t := range append([]string(nil), s.running[e.Package]...) {
		s.fail(testKey{e.Package, t})
	}
	delete(s.running, e.Package)
	if s.pkgFails[e.Package] == 0 {
		s.failed++
		s.failures = append(s.failures, result{pkg: e.Package, test: "(package)"})
	}
	if e.FailedBuild != "" {
		s.print(s.buildOut[e.FailedBuild])
		delete(s.buildOut, e.FailedBuild)
	}
	var lines []string
	for _, l := range out {
		if t := strings.TrimSpace(l); t == "PASS" || t == "FAIL" {
			continue
		}
		lines = append(lines, l)
	}
	if len(lines) == 0 || !strings.HasPrefix(lines[len(lines)-1], "FAIL") {
		lines = append(lines, fmt.Sprintf("FAIL\t%s\t%.3fs\n", e.Package, e.Elapsed))
	}
	s.print(lines)
}

// skipReason is the last line a skipped test logged: its t.Skip message
// ("containerd_test.go:24: needs root"), or "" when it gave none.
func skipReason(out []string) string {
	reason := ""
	for _, l := range out {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- ") {
			continue
		}
		reason = t
	}
	return reason
}

func (s *summary) print(lines []string) {
	for _, l := range lines {
		io.WriteString(s.w, l)
		if !strings.HasSuffix(l, "\n") {
			io.WriteString(s.w, "\n")
		}
	}
}

func (s *summary) finish() {
	order := func(rs []result) {
		sort.SliceStable(rs, func(i, j int) bool {
			if rs[i].pkg != rs[j].pkg {
				return rs[i].pkg < rs[j].pkg
			}
			return rs[i].test < rs[j].test
		})
	}
	order(s.failures)
	order(s.skips)
	if s.failed > 0 {
		fmt.Fprintf(s.w, "%s: %d failed\n", s.name, s.failed)
		for _, r := range s.failures {
			fmt.Fprintf(s.w, "  FAIL %s %s\n", r.pkg, r.test)
		}
	}
	fmt.Fprintf(s.w, "%s: %d skipped\n", s.name, s.skipped)
	for _, r := range s.skips {
		reason := r.reason
		if reason == "" {
			reason = "(no reason given)"
		}
		fmt.Fprintf(s.w, "  SKIP %s %s: %s\n", r.pkg, r.test, reason)
	}
	fmt.Fprintf(s.w, "%d passed, %d failed, %d skipped\n", s.passed, s.failed, s.skipped)
}
