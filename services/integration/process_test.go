package integration

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/envoy-example/envoy-example/internal/testenv"
)

// binDir holds the four commands, built once for the process tests.
var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

func commands(t *testing.T) string {
	t.Helper()
	testenv.NotShort(t, "builds the four commands")
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "envoy-example-services-")
		if buildErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", binDir+string(filepath.Separator),
			"../frontend", "../user", "../order", "../item")
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// proc is one command running in its own process.
type proc struct {
	name string
	cmd  *exec.Cmd
	// lines receives its log lines (stderr) as they come.
	lines chan map[string]any
	mu    sync.Mutex
	log   bytes.Buffer
	// exited is closed when it has exited; then err is Wait's answer.
	exited chan struct{}
	err    error
}

// startProc runs the command name with the environment env (on top of a
// clean one) and the flags args.
func startProc(t *testing.T, name string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, lines: make(chan map[string]any, 100), exited: make(chan struct{})}
	p.cmd = exec.Command(filepath.Join(commands(t), name), args...)
	p.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.mu.Lock()
			p.log.Write(sc.Bytes())
			p.log.WriteByte('\n')
			p.mu.Unlock()
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				select {
				case p.lines <- m:
				default:
				}
			}
		}
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

func (p *proc) logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// waitFor returns the first log line with msg, failing after 20s.
func (p *proc) waitFor(t *testing.T, msg string) map[string]any {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case l := <-p.lines:
			if l["msg"] == msg {
				return l
			}
		case <-p.exited:
			t.Fatalf("%s exited (%v) before logging %q:\n%s", p.name, p.err, msg, p.logs())
		case <-timeout:
			t.Fatalf("%s did not log %q within 20s:\n%s", p.name, msg, p.logs())
		}
	}
}

// terminate sends SIGTERM and returns the exit code.
func (p *proc) terminate(t *testing.T) int {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM to %s: %v", p.name, err)
	}
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		t.Fatalf("%s did not exit within 20s of SIGTERM:\n%s", p.name, p.logs())
	}
	return p.cmd.ProcessState.ExitCode()
}

// The four commands, configured the way the chart configures them (every
// setting from the environment, a few from flags to show that both work),
// answer the report; on SIGTERM each drains and exits 0.
func TestCommandsWiredByEnvironmentAndStoppedBySIGTERM(t *testing.T) {
	addr := func(l map[string]any, key string) string { return fmt.Sprint(l[key]) }
	ephemeral := []string{"LISTEN=127.0.0.1:0", "OPS_LISTEN=127.0.0.1:0", "SHUTDOWN_TIMEOUT=5s"}

	user := startProc(t, "user", ephemeral)
	item := startProc(t, "item", nil, "--listen", "127.0.0.1:0", "--ops-listen", "127.0.0.1:0")
	userUp, itemUp := user.waitFor(t, "serving"), item.waitFor(t, "serving")
	order := startProc(t, "order", append([]string{"ITEM_ADDR=" + addr(itemUp, "addr")}, ephemeral...))
	orderUp := order.waitFor(t, "serving")
	frontend := startProc(t, "frontend", append([]string{
		"USER_ADDR=" + addr(userUp, "addr"),
		"ORDER_ADDR=" + addr(orderUp, "addr"),
		"REQUEST_TIMEOUT=3s",
		"LOG_LEVEL=debug",
	}, ephemeral...))
	frontendUp := frontend.waitFor(t, "serving")

	for _, up := range []map[string]any{userUp, itemUp, orderUp, frontendUp} {
		resp, err := http.Get("http://" + addr(up, "ops_addr") + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s /readyz = %s", up["service"], resp.Status)
		}
	}

	resp, err := http.Get("http://" + addr(frontendUp, "addr") + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET / = %s: %s", resp.Status, body)
	}
	rep := decodeReport(t, body)
	if len(rep) != 3 || rep[0].User.Name != "User One" || len(rep[0].Orders) != 2 {
		t.Errorf("report = %+v, want the three seeded users", rep)
	}

	// Frontend first, as a rolling update would stop a caller, then the rest.
	for _, p := range []*proc{frontend, order, user, item} {
		if code := p.terminate(t); code != 0 {
			t.Errorf("%s exited %d after SIGTERM, want 0:\n%s", p.name, code, p.logs())
		}
		for _, msg := range []string{`"msg":"draining"`, `"msg":"drained"`, `"msg":"stopped"`} {
			if !strings.Contains(p.logs(), msg) {
				t.Errorf("%s did not log %s on SIGTERM:\n%s", p.name, msg, p.logs())
			}
		}
	}
}

// --help names every flag with its environment variable and exits 0; a bad
// setting exits 2 naming it, whether it came from a flag or the environment.
func TestCommandLineContract(t *testing.T) {
	flags := map[string][]string{
		"frontend": {"listen", "ops-listen", "shutdown-timeout", "log-level", "user-addr", "order-addr", "request-timeout"},
		"order":    {"listen", "ops-listen", "shutdown-timeout", "log-level", "seed-scale", "item-addr"},
		"user":     {"listen", "ops-listen", "shutdown-timeout", "log-level", "seed-scale"},
		"item":     {"listen", "ops-listen", "shutdown-timeout", "log-level", "seed-scale"},
	}
	run := func(name string, env []string, args ...string) (int, string) {
		// Each of these exits at once; the timeout only keeps a wrong
		// answer (a service that starts serving) from hanging the test.
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, filepath.Join(commands(t), name), args...)
		// Only env: nothing from this test's own environment leaks in.
		cmd.Env = append(make([]string, 0, len(env)), env...)
		out, _ := cmd.CombinedOutput()
		return cmd.ProcessState.ExitCode(), string(out)
	}
	for name, fl := range flags {
		code, out := run(name, nil, "--help")
		if code != 0 {
			t.Errorf("%s --help exited %d", name, code)
		}
		for _, f := range fl {
			env := strings.ToUpper(strings.ReplaceAll(f, "-", "_"))
			if !strings.Contains(out, "--"+f+"  (env "+env+")") {
				t.Errorf("%s --help does not document --%s with %s:\n%s", name, f, env, out)
			}
		}
	}
	bad := []struct {
		name string
		env  []string
		args []string
		says string
	}{
		{"user", nil, []string{"--seed-scale", "0"}, "--seed-scale must be between 1 and"},
		{"user", []string{"SEED_SCALE=many"}, nil, "SEED_SCALE"},
		{"item", []string{"LISTEN=nowhere"}, nil, `--listen "nowhere" is not host:port`},
		{"order", []string{"ITEM_ADDR=:7070"}, nil, "--item-addr \":7070\" needs a host"},
		{"frontend", nil, []string{"--request-timeout", "-1s"}, "--request-timeout must be positive"},
		{"frontend", []string{"LOG_LEVEL=loud"}, nil, "LOG_LEVEL"},
		{"frontend", nil, []string{"extra"}, `unexpected argument "extra"`},
	}
	for _, b := range bad {
		code, out := run(b.name, b.env, b.args...)
		if code != 2 || !strings.Contains(out, b.says) {
			t.Errorf("%s %v with %v exited %d, want 2 saying %q:\n%s", b.name, b.args, b.env, code, b.says, out)
		}
	}
	// The command line wins over the environment.
	code, out := run("user", []string{"SEED_SCALE=many"}, "--seed-scale", "0")
	if code != 2 || !strings.Contains(out, "--seed-scale must be between") || strings.Contains(out, "SEED_SCALE") {
		t.Errorf("user --seed-scale 0 with SEED_SCALE=many: exit %d, %q; want the flag's error alone", code, out)
	}
	// A port that is taken fails the start with exit 1 and says which.
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	code, out = run("user", []string{"LISTEN=" + taken.Addr().String()}, "--ops-listen", "127.0.0.1:0")
	if code != 1 || !strings.Contains(out, "--listen") {
		t.Errorf("user on a port it cannot bind: exit %d, %q; want 1 naming --listen", code, out)
	}
}
