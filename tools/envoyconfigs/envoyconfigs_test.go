package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// envoy/*.yaml are what the chart renders today.
func TestEnvoyConfigsAreCurrent(t *testing.T) {
	if err := run(filepath.Join("..", "..", "envoy"), true); err != nil {
		t.Fatal(err)
	}
}

// A stale file, a missing one and a file of a role that is gone are each
// reported by -check, and a write makes the folder current again.
func TestCheckFindsEveryKindOfStaleness(t *testing.T) {
	dir := t.TempDir()
	if err := run(dir, false); err != nil {
		t.Fatal(err)
	}
	if err := run(dir, true); err != nil {
		t.Fatalf("just written, yet: %v", err)
	}
	user := filepath.Join(dir, "user.yaml")
	b, err := os.ReadFile(user)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Generated from charts/envoy-example/templates/_envoy-sidecar.tpl", "name: egress", "cluster: user"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("user.yaml lacks %q", want)
		}
	}
	if err := os.WriteFile(user, append(b, "# edited by hand\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "item.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "billing.yaml"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	err = run(dir, true)
	if err == nil {
		t.Fatal("check passed on a stale folder")
	}
	for _, want := range []string{"user.yaml", "item.yaml", "billing.yaml (no such role or file)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if err := run(dir, false); err != nil {
		t.Fatal(err)
	}
	if err := run(dir, true); err != nil {
		t.Fatalf("rewritten, yet: %v", err)
	}
}
