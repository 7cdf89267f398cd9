package envoyproc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Options says how to run one Envoy.
type Options struct {
	// ConfigPath is the bootstrap file (-c).
	ConfigPath string
	// Args are more command-line options, e.g. the ones the chart gives
	// the sidecar (--service-node, --drain-time-s, ...).
	Args []string
	// ReadyTimeout bounds the wait for the admin's /ready; default 30s.
	ReadyTimeout time.Duration
}

// Process is a running Envoy.
type Process struct {
	// AdminAddr is the admin's host:port, as Envoy reports it.
	AdminAddr string

	cmd  *exec.Cmd
	done chan struct{}
	err  error // the exit error, once done is closed
	logs *syncBuffer
	dir  string
}

// Start runs Envoy and waits until its admin answers /ready with 200 (every
// listener and cluster initialised). Envoy writes its admin address to a
// file (--admin-address-path), so a bootstrap with admin port 0 works too.
// Hot restart is disabled unless the arguments set it up, so that several
// Envoys may run at once.
func Start(ctx context.Context, bin string, opts Options) (*Process, error) {
	dir, err := os.MkdirTemp("", "envoy-run-")
	if err != nil {
		return nil, err
	}
	addrFile := filepath.Join(dir, "admin-address")
	args := append([]string{"-c", opts.ConfigPath, "--admin-address-path", addrFile}, opts.Args...)
	if !slices.Contains(args, "--disable-hot-restart") && !slices.Contains(args, "--base-id") {
		args = append(args, "--disable-hot-restart")
	}
	p := &Process{
		cmd:  exec.Command(bin, args...),
		done: make(chan struct{}),
		logs: &syncBuffer{},
		dir:  dir,
	}
	p.cmd.Stdout = p.logs
	p.cmd.Stderr = p.logs
	if err := p.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()

	timeout := opts.ReadyTimeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	if err := p.waitReady(ctx, addrFile, timeout); err != nil {
		p.Stop()
		return nil, fmt.Errorf("%w\nEnvoy's log:\n%s", err, p.Logs())
	}
	return p, nil
}

func (p *Process) waitReady(ctx context.Context, addrFile string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: time.Second}
	var last error = errors.New("admin address not written yet")
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			return fmt.Errorf("envoy exited before it was ready: %v", p.err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if p.AdminAddr == "" {
			b, err := os.ReadFile(addrFile)
			if err != nil || len(bytes.TrimSpace(b)) == 0 {
				continue
			}
			p.AdminAddr = strings.TrimSpace(string(b))
		}
		resp, err := client.Get("http://" + p.AdminAddr + "/ready")
		if err != nil {
			last = err
			continue
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return nil
		}
		last = fmt.Errorf("/ready answered %s", resp.Status)
	}
	return fmt.Errorf("envoy not ready after %s: %v", timeout, last)
}

// Exited is closed when the process has exited.
func (p *Process) Exited() <-chan struct{} { return p.done }

// Logs returns what Envoy printed so far.
func (p *Process) Logs() string { return p.logs.String() }

// Stop sends SIGTERM (Envoy shuts down at once on it), waits up to five
// seconds, then kills. It returns nil when Envoy exited on the signal.
func (p *Process) Stop() error {
	defer os.RemoveAll(p.dir)
	select {
	case <-p.done:
		return p.exitError()
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.exitError()
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		return errors.New("envoy did not exit within 5s of SIGTERM; killed")
	}
}

// exitError is nil for a clean exit, including the exit on SIGTERM.
func (p *Process) exitError() error {
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGTERM {
			return nil
		}
	}
	return p.err
}

// syncBuffer is a bytes.Buffer safe for the process's writes and our reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
