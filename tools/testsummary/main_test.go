package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

func summarize(t *testing.T, input string) (string, *summary) {
	t.Helper()
	var out bytes.Buffer
	s := newSummary(&out, "unit")
	if err := s.read(strings.NewReader(input)); err != nil {
		t.Fatal(err)
	}
	s.finish()
	return out.String(), s
}

// testdata/sample.json is `go test -count=1 -json ./... 2>&1` of a small
// module (go1.26, paths shortened to /tmp/sample) with a package that
// passes, fails and skips, subtests, one with no test files, one that does
// not build and one whose test panics, after a line of go's own on stderr.
// sample.golden is what testsummary printed for it, checked by hand.
func TestRecordedSample(t *testing.T) {
	in, err := os.ReadFile("testdata/sample.json")
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("testdata/sample.golden")
	if err != nil {
		t.Fatal(err)
	}
	got, s := summarize(t, string(in))
	if got != string(want) {
		t.Errorf("output differs from testdata/sample.golden; got:\n%s", got)
	}
	if s.passed != 3 || s.failed != 3 || s.skipped != 2 {
		t.Errorf("counted %d passed, %d failed, %d skipped; want 3, 3, 2", s.passed, s.failed, s.skipped)
	}
	for _, line := range []string{
		"go: downloading example.com/dep v1.0.0\n",                                         // not JSON: passed through
		"c/c_test.go:5:33: undefined: undefined\n",                                         // the build error
		"    a_test.go:11: want 2\n",                                                       // the failed test's output
		"?   \texample.com/sample/b\t[no test files]\n",                                    // per-package lines as go test prints them
		"unit: 2 skipped\n  SKIP example.com/sample/a TestSkip: a_test.go:7: needs root\n", // the skip list with reasons
		"\n3 passed, 3 failed, 2 skipped\n",                                                // the closing line
	} {
		if !strings.Contains(got, line) {
			t.Errorf("no %q in:\n%s", line, got)
		}
	}
	if strings.Contains(got, "=== RUN   TestPass") || strings.Contains(got, "--- SKIP") {
		t.Errorf("output of tests that passed or skipped was printed:\n%s", got)
	}
}

// The package lines come as each package finishes, before the summary.
func TestPackageLinesStream(t *testing.T) {
	in := `{"Action":"start","Package":"p"}
{"Action":"run","Package":"p","Test":"TestA"}
{"Action":"pass","Package":"p","Test":"TestA","Elapsed":0}
{"Action":"output","Package":"p","Output":"PASS\n"}
{"Action":"output","Package":"p","Output":"ok  \tp\t0.010s\n"}
{"Action":"pass","Package":"p","Elapsed":0.01}
`
	got, _ := summarize(t, in)
	want := "ok  \tp\t0.010s\nunit: 0 skipped\n1 passed, 0 failed, 0 skipped\n"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// A test still running when its package fails (a timeout, a panic in
// another goroutine) failed: its output is printed and it is counted.
func TestUnfinishedTestFailsWithItsPackage(t *testing.T) {
	in := `{"Action":"run","Package":"p","Test":"TestHangs"}
{"Action":"output","Package":"p","Test":"TestHangs","Output":"=== RUN   TestHangs\n"}
{"Action":"output","Package":"p","Output":"panic: test timed out after 1s\n"}
{"Action":"output","Package":"p","Output":"FAIL\tp\t1.005s\n"}
{"Action":"fail","Package":"p","Elapsed":1.005}
`
	got, s := summarize(t, in)
	if s.failed != 1 || !strings.Contains(got, "=== RUN   TestHangs\npanic: test timed out after 1s\nFAIL\tp\t1.005s\n") ||
		!strings.Contains(got, "  FAIL p TestHangs\n") || !strings.HasSuffix(got, "0 passed, 1 failed, 0 skipped\n") {
		t.Errorf("got:\n%s", got)
	}
}
