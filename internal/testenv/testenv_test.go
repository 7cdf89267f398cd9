package testenv

import (
	"fmt"
	"strings"
	"testing"
)

// recorder is a testing.TB that records Skipf and Fatalf instead of
// stopping the test.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper() {}
func (r *recorder) Skipf(format string, args ...any) {
	r.skipped = fmt.Sprintf(format, args...)
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
}

func TestRequire(t *testing.T) {
	for _, tc := range []struct {
		ci         string
		ok         bool
		skip, fail bool
	}{
		{ci: "", ok: true},
		{ci: "true", ok: true},
		{ci: "", ok: false, skip: true},
		{ci: "false", ok: false, skip: true},
		{ci: "1", ok: false, skip: true}, // only CI=true, as CI sets it
		{ci: "true", ok: false, fail: true},
	} {
		t.Run(fmt.Sprintf("CI=%q,ok=%v", tc.ci, tc.ok), func(t *testing.T) {
			t.Setenv(CIEnv, tc.ci)
			r := &recorder{TB: t}
			Require(r, tc.ok, "needs a thing")
			if (r.skipped != "") != tc.skip || (r.failed != "") != tc.fail {
				t.Fatalf("skipped %q, failed %q; want skip %v, fail %v", r.skipped, r.failed, tc.skip, tc.fail)
			}
			for _, msg := range []string{r.skipped, r.failed} {
				if msg != "" && !strings.Contains(msg, "needs a thing") {
					t.Errorf("%q does not give the reason", msg)
				}
			}
		})
	}
}

func TestCommands(t *testing.T) {
	t.Setenv(CIEnv, "true")
	r := &recorder{TB: t}
	Commands(r, "go", "no-such-command-anywhere")
	if !strings.Contains(r.failed, "no-such-command-anywhere") || strings.Contains(r.failed, "go,") {
		t.Errorf("failed with %q, want the missing command only", r.failed)
	}
}

func TestOptInSkipsInCITooAndSaysHow(t *testing.T) {
	t.Setenv(CIEnv, "true")
	t.Setenv("TESTENV_TEST_OPT_IN", "")
	r := &recorder{TB: t}
	OptIn(r, "TESTENV_TEST_OPT_IN", "slow")
	if r.failed != "" || !strings.Contains(r.skipped, "TESTENV_TEST_OPT_IN=1") {
		t.Errorf("skipped %q, failed %q", r.skipped, r.failed)
	}
	t.Setenv("TESTENV_TEST_OPT_IN", "1")
	r = &recorder{TB: t}
	OptIn(r, "TESTENV_TEST_OPT_IN", "slow")
	if r.skipped != "" || r.failed != "" {
		t.Errorf("set, yet skipped %q, failed %q", r.skipped, r.failed)
	}
}
