package main

import (
	"strings"
	"testing"
	"time"
)

// Settings that cannot work stop the bridge at once with exit code 2 and
// say which flag is wrong, before it listens on anything.
func TestBadSettingsExit2(t *testing.T) {
	env := map[string]string{"PHP_TIMEOUT": "0s"}
	for _, tc := range []struct {
		args []string
		env  map[string]string
		says string
	}{
		{[]string{"--php-fpm-addr=127.0.0.1"}, nil, "--php-fpm-addr"},
		{[]string{"--php-fpm-addr=:9000"}, nil, "needs a host"},
		{nil, env, "--php-timeout must be positive"},
		{[]string{"--php-probe-interval=-1s"}, nil, "--php-probe-interval must be positive"},
		{[]string{"--seed-scale=0"}, nil, "--seed-scale"},
	} {
		// On loopback ports of the kernel's choice: a setting let through
		// would start a server, which must not take a real port, and must
		// not hang the test either.
		args := append([]string{"--listen=127.0.0.1:0", "--ops-listen=127.0.0.1:0"}, tc.args...)
		out := &strings.Builder{}
		done := make(chan int, 1)
		go func() { done <- run(args, func(k string) string { return tc.env[k] }, out) }()
		select {
		case code := <-done:
			if code != 2 || !strings.Contains(out.String(), tc.says) {
				t.Errorf("run(%v, env %v) = %d, %q; want 2 saying %q", tc.args, tc.env, code, out.String(), tc.says)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("run(%v, env %v) started serving; want exit code 2 saying %q", tc.args, tc.env, tc.says)
		}
	}
}
