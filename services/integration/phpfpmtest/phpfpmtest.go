// Package phpfpmtest runs the item service's PHP application
// (services/item-php) under a real PHP-FPM on loopback, for the tests of
// the item bridge and the item conformance suite.
//
// PHP-FPM runs with the application's own php.ini and pool config, as its
// image does, with two lines changed: the listen address (a free loopback
// port) and the include_path (the generated classes in protos/php instead
// of the image's copy). As root it runs as uid 65532, the image's user, so
// the tests prove the config needs no root; its stderr is handed to that
// user as a container runtime does, since the config logs to
// /proc/self/fd/2.
//
// PHP-FPM comes from Debian (php8.2-fpm and php-google-protobuf), which
// `make tools` installs as root.
package phpfpmtest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/envoy-example/envoy-example/internal/repo"
	"github.com/envoy-example/envoy-example/internal/testenv"
	"github.com/envoy-example/envoy-example/services/integration/logtest"
)

// Binary is Debian bookworm's PHP-FPM.
const Binary = "php-fpm8.2"

// ProtobufRuntime is where Debian's php-google-protobuf puts the runtime.
const ProtobufRuntime = "/usr/share/php/Google/Protobuf"

// nonroot is the user of the image (recipe.Nonroot in the image builder).
const nonroot = 65532

// FPM is one PHP-FPM serving the PHP application.
type FPM struct {
	// Addr is its FastCGI listener, 127.0.0.1:port.
	Addr string
	// Script is the application's front script, for the bridge's --php-script.
	Script string
	// Logs holds PHP-FPM's stderr: its own lines and the application's.
	Logs *logtest.Logs

	dir string
	cmd *exec.Cmd
	// exited is closed when cmd has been waited for.
	exited chan struct{}
}

// Require stops t (skip, or fail under CI=true) unless PHP-FPM and the
// protobuf runtime are installed.
func Require(t testing.TB) {
	t.Helper()
	_, err := exec.LookPath(Binary)
	_, rerr := os.Stat(ProtobufRuntime)
	testenv.Require(t, err == nil && rerr == nil,
		fmt.Sprintf("needs %s and %s (Debian's php8.2-fpm and php-google-protobuf; as root `make tools` installs them)", Binary, ProtobufRuntime))
}

// Start starts PHP-FPM on a free loopback port and waits until it accepts
// connections; it is killed when the test ends.
func Start(t testing.TB) *FPM {
	t.Helper()
	Require(t)
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	app := filepath.Join(root, "services", "item-php")
	// Not t.TempDir: its parent is private to root, and PHP-FPM runs as
	// another user.
	dir, err := os.MkdirTemp("", "phpfpmtest-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	f := &FPM{Addr: freeAddr(t), Script: filepath.Join(app, "index.php"), Logs: &logtest.Logs{}, dir: dir}
	conf, err := PoolConfig(filepath.Join(app, "php-fpm.conf"), f.Addr, filepath.Join(root, "protos", "php")+":/usr/share/php")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.dir, "php-fpm.conf"), conf, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(f.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := f.start(filepath.Join(app, "php.ini")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Kill)
	if err := f.waitAccepting(10 * time.Second); err != nil {
		t.Fatalf("%v; PHP-FPM's log:\n%s", err, f.Logs)
	}
	return f
}

// PoolConfig is the pool config in file with its listen address and
// include_path replaced; it fails when either line is missing, so that a
// changed config cannot leave the tests on the image's settings.
func PoolConfig(file, listen, includePath string) ([]byte, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	lines := strings.Split(string(b), "\n")
	found := map[string]int{}
	for i, l := range lines {
		switch {
		case strings.HasPrefix(l, "listen = "):
			lines[i] = "listen = " + listen
			found["listen"]++
		case strings.HasPrefix(l, "php_admin_value[include_path] = "):
			lines[i] = "php_admin_value[include_path] = " + includePath
			found["include_path"]++
		}
	}
	for _, k := range []string{"listen", "include_path"} {
		if found[k] != 1 {
			return nil, fmt.Errorf("%s: want one %s line, found %d", file, k, found[k])
		}
	}
	return []byte(strings.Join(lines, "\n")), nil
}

// Args are PHP-FPM's arguments in the foreground with ini and conf, the
// same in the image.
func Args(ini, conf string) []string {
	return []string{"--nodaemonize", "--force-stderr", "--php-ini", ini, "--fpm-config", conf}
}

func (f *FPM) start(ini string) error {
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	cmd := exec.Command(Binary, Args(ini, filepath.Join(f.dir, "php-fpm.conf"))...)
	// No scan of Debian's conf.d: php.ini alone, as in the image.
	cmd.Env = []string{"PHP_INI_SCAN_DIR="}
	cmd.Stdout, cmd.Stderr = w, w
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if os.Geteuid() == 0 {
		// What a container runtime does for a non-root container: its
		// stdio belongs to its user, so /proc/self/fd/2 can be opened.
		if err := w.Chown(nonroot, nonroot); err != nil {
			return err
		}
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: nonroot, Gid: nonroot}
	}
	if err := cmd.Start(); err != nil {
		r.Close()
		w.Close()
		return err
	}
	w.Close()
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		var buf [4096]byte
		for {
			n, err := r.Read(buf[:])
			f.Logs.Write(buf[:n])
			if err != nil {
				r.Close()
				return
			}
		}
	}()
	f.cmd, f.exited = cmd, make(chan struct{})
	go func() {
		cmd.Wait()
		<-copied
		close(f.exited)
	}()
	return nil
}

// waitAccepting waits until the listener takes connections or PHP-FPM
// exits.
func (f *FPM) waitAccepting(within time.Duration) error {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		select {
		case <-f.exited:
			return fmt.Errorf("%s exited: %v", Binary, f.cmd.ProcessState)
		default:
		}
		if c, err := net.DialTimeout("tcp", f.Addr, 100*time.Millisecond); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("%s does not accept connections on %s after %s", Binary, f.Addr, within)
}

// Kill kills PHP-FPM and its workers at once (SIGKILL to its process
// group), as a crash or an OOM kill would, and waits for it.
func (f *FPM) Kill() {
	if f.cmd == nil || f.cmd.Process == nil {
		return
	}
	syscall.Kill(-f.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-f.exited:
	case <-time.After(10 * time.Second):
	}
}

// Restart starts PHP-FPM again on the same address after Kill.
func (f *FPM) Restart(t testing.TB) {
	t.Helper()
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	if err := f.start(filepath.Join(root, "services", "item-php", "php.ini")); err != nil {
		t.Fatal(err)
	}
	if err := f.waitAccepting(10 * time.Second); err != nil {
		t.Fatalf("%v; PHP-FPM's log:\n%s", err, f.Logs)
	}
}

// LogHas reports whether PHP-FPM's stderr holds s.
func (f *FPM) LogHas(s string) bool { return bytes.Contains([]byte(f.Logs.String()), []byte(s)) }

// freeAddr returns a loopback address no one listens on now.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
