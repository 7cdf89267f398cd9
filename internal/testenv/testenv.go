// Package testenv decides what a test does when something it needs is
// missing from the machine: skip it, or fail it.
//
// The rule: a prerequisite that `make test` provides (Envoy, statsd_exporter,
// promtool and ShellCheck under .bin/; root; containerd, ctr and runc, which
// `make host-tools` installs from Debian as root) may be missing on a
// developer's machine, where the test skips and says why. Under CI=true it
// fails with the same reason: CI runs `make test` as root on a clean
// machine, so a missing prerequisite there is a bug in `make test`, not a
// reason to pass quietly. A test that is opt-in (slow builds behind an
// environment variable, -short) or does not apply to this platform skips
// everywhere and says how to run it.
//
//	testenv.Require(t, os.Geteuid() == 0, "needs root to run containerd")
//	testenv.Root(t, "running the image's Envoy")
//	testenv.Commands(t, "containerd", "ctr", "runc")
//	testenv.OptIn(t, "IMAGEBUILDER_HEAVY", "builds Jaeger, Prometheus and CoreDNS (minutes each)")
package testenv

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// CIEnv is the variable CI sets to "true".
const CIEnv = "CI"

// CI reports whether the tests run in CI, where every prerequisite that
// `make test` provides must be present.
func CI() bool { return os.Getenv(CIEnv) == "true" }

// Require stops t unless ok: it skips with why, or under CI=true fails
// with why (a prerequisite of `make test` is missing).
func Require(t testing.TB, ok bool, why string) {
	t.Helper()
	if ok {
		return
	}
	if CI() {
		t.Fatalf("%s (CI=true: `make test` provides this, so the test fails instead of skipping)", why)
		return
	}
	t.Skipf("%s (skipped; under CI=true this fails)", why)
}

// Root requires that the test runs as root; why says what needs it.
func Root(t testing.TB, why string) {
	t.Helper()
	Require(t, os.Geteuid() == 0, why+" needs root")
}

// Commands requires each of names on PATH. As root, `make host-tools`
// installs the Debian packages containerd (containerd, ctr) and runc.
func Commands(t testing.TB, names ...string) {
	t.Helper()
	var missing []string
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			missing = append(missing, n)
		}
	}
	Require(t, len(missing) == 0, "not on PATH: "+strings.Join(missing, ", ")+" (as root, `make host-tools` installs them from Debian)")
}

// OptIn skips t, in CI too, unless the environment variable env is set:
// the test is opt-in; why says what it does that keeps it out of `make test`.
func OptIn(t testing.TB, env, why string) {
	t.Helper()
	if os.Getenv(env) == "" {
		t.Skipf("opt-in: set %s=1 to run it; %s", env, why)
	}
}

// NotShort skips t, in CI too, under -short; why says what makes it long.
func NotShort(t testing.TB, why string) {
	t.Helper()
	if testing.Short() {
		t.Skipf("skipped under -short: %s", why)
	}
}
