package config

import (
	"bytes"
	"errors"
	"flag"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func env(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func TestEnvName(t *testing.T) {
	for in, want := range map[string]string{"listen": "LISTEN", "ops-listen": "OPS_LISTEN", "user-addr": "USER_ADDR", "seed-scale": "SEED_SCALE"} {
		if got := EnvName(in); got != want {
			t.Errorf("EnvName(%q) = %q, want %q", in, got, want)
		}
	}
}

// Flag beats environment beats default.
func TestPrecedence(t *testing.T) {
	var out bytes.Buffer
	fs := New("svc", "test", &out)
	c := AddCommon(fs)
	peer := fs.String("item-addr", DefaultPeerAddr, "peer")
	err := fs.Parse([]string{"--listen", "127.0.0.1:1234"}, env(map[string]string{
		"LISTEN":           "127.0.0.1:9999",
		"OPS_LISTEN":       "127.0.0.1:9191",
		"SHUTDOWN_TIMEOUT": "3s",
		"LOG_LEVEL":        "debug",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:1234" {
		t.Errorf("listen = %q: the flag should win over LISTEN", c.Listen)
	}
	if c.OpsListen != "127.0.0.1:9191" || c.ShutdownTimeout != 3*time.Second || c.LogLevel != slog.LevelDebug {
		t.Errorf("environment not applied: %+v", c)
	}
	if *peer != DefaultPeerAddr {
		t.Errorf("item-addr = %q, want the default %q", *peer, DefaultPeerAddr)
	}
	if err := c.Check(); err != nil {
		t.Errorf("Check = %v", err)
	}
}

func TestBadSettingsNameTheirSource(t *testing.T) {
	var out bytes.Buffer
	fs := New("svc", "test", &out)
	AddCommon(fs)
	err := fs.Parse(nil, env(map[string]string{"SHUTDOWN_TIMEOUT": "soon"}))
	if err == nil || !strings.Contains(err.Error(), `SHUTDOWN_TIMEOUT="soon"`) || !strings.Contains(out.String(), "SHUTDOWN_TIMEOUT") {
		t.Errorf("bad SHUTDOWN_TIMEOUT: err %v, output %q", err, out.String())
	}

	checks := []struct {
		c    Common
		says string
	}{
		{Common{Listen: "localhost", OpsListen: ":9091", ShutdownTimeout: time.Second}, `--listen "localhost" is not host:port`},
		{Common{Listen: ":9090", OpsListen: ":port", ShutdownTimeout: time.Second}, `--ops-listen ":port" has no valid port`},
		{Common{Listen: ":9090", OpsListen: ":9091"}, "--shutdown-timeout must be positive"},
	}
	for _, c := range checks {
		if err := c.c.Check(); err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("Check(%+v) = %v, want %q", c.c, err, c.says)
		}
	}
	if err := CheckPeerAddr("user-addr", ":7070"); err == nil {
		t.Error("CheckPeerAddr accepted an address without a host")
	}
	if err := CheckPeerAddr("user-addr", "user.default.svc.cluster.local:8080"); err != nil {
		t.Errorf("CheckPeerAddr(dns name) = %v", err)
	}
	if err := CheckSeedScale(0); err == nil {
		t.Error("CheckSeedScale(0) accepted")
	}
}

func TestHelpNamesEveryEnvironmentVariable(t *testing.T) {
	var out bytes.Buffer
	fs := New("svc", "what svc does", &out)
	AddCommon(fs)
	AddSeedScale(fs)
	if err := fs.Parse([]string{"--help"}, env(nil)); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("--help: %v", err)
	}
	for _, want := range []string{"what svc does", "--listen  (env LISTEN)", "--ops-listen  (env OPS_LISTEN)", "--seed-scale  (env SEED_SCALE)", "(default 127.0.0.1:9090)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("--help lacks %q:\n%s", want, out.String())
		}
	}
}
