// Package envoytest gives tests the pinned Envoy binary. A missing or
// wrong Envoy fails the test, never skips it: the chart's configs are only
// checked if a real Envoy reads them.
package envoytest

import (
	"context"
	"testing"
	"time"

	"github.com/envoy-example/envoy-example/internal/envoyproc"
)

// Pinned returns the path of the Envoy of versions.mk, or fails t with the
// command that installs it.
func Pinned(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	bin, err := envoyproc.FindPinned(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return bin
}
