package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/envoy-example/envoy-example/internal/testenv"
)

// TestTarballsRunUnderContainerd imports docker-archive tarballs the way
// the local cluster does (`ctr -n k8s.io images import`) into a private
// containerd, and runs the frontend image with runc: the image must come
// out under the name the kubelet asks for, start as its non-root user and
// answer /healthz. It needs root and containerd, ctr and runc on PATH,
// which `make test` installs as root (`make host-tools`, the Debian
// packages containerd and runc); without them it skips, and fails under
// CI=true (internal/testenv).
func TestTarballsRunUnderContainerd(t *testing.T) {
	testenv.Root(t, "running containerd")
	testenv.Commands(t, "containerd", "ctr", "runc")
	root, p := rootAndPins(t)
	out := t.TempDir()
	results := buildInto(t, out, config{root: root, only: []string{"frontend"}, platforms: []string{"linux/amd64"}})
	ref := results[0].Ref

	dir := t.TempDir()
	sock := filepath.Join(dir, "containerd.sock")
	cfg := fmt.Sprintf("version = 2\nroot = %q\nstate = %q\ndisabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n[grpc]\n  address = %q\n",
		filepath.Join(dir, "root"), filepath.Join(dir, "state"), sock)
	if err := os.WriteFile(filepath.Join(dir, "config.toml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	daemon := exec.Command("containerd", "--config", filepath.Join(dir, "config.toml"))
	daemon.Stdout, daemon.Stderr = &logs, &logs
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		daemon.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- daemon.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			daemon.Process.Kill()
			<-done
		}
	})
	ctr := func(args ...string) (string, error) {
		cmd := exec.Command("ctr", append([]string{"--address", sock, "--namespace", "k8s.io"}, args...)...)
		b, err := cmd.CombinedOutput()
		return string(b), err
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := ctr("version"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("containerd did not start:\n%s", logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}

	if msg, err := ctr("images", "import", results[0].Tarballs["amd64"]); err != nil {
		t.Fatalf("ctr images import: %v\n%s", err, msg)
	}
	list, err := ctr("images", "ls", "-q")
	if err != nil {
		t.Fatal(err)
	}
	// The kubelet asks for envoy-example/frontend:<appVersion>, which
	// containerd spells with docker.io in front.
	want := "docker.io/" + ref
	if !strings.Contains("\n"+list, "\n"+want+"\n") {
		t.Fatalf("containerd has %q, not %s", list, want)
	}

	ops, listen := freePort(t), freePort(t)
	name := fmt.Sprintf("imagebuilder-test-%d", os.Getpid())
	if msg, err := ctr("run", "-d", "--net-host", want, name,
		"/usr/local/bin/frontend", fmt.Sprintf("--ops-listen=127.0.0.1:%d", ops), fmt.Sprintf("--listen=127.0.0.1:%d", listen)); err != nil {
		t.Fatalf("ctr run: %v\n%s", err, msg)
	}
	t.Cleanup(func() {
		ctr("task", "kill", "--signal", "SIGKILL", name)
		for i := 0; i < 50; i++ {
			if _, err := ctr("task", "delete", name); err == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		ctr("containers", "delete", name)
	})
	if _, err := waitHTTP(fmt.Sprintf("http://127.0.0.1:%d/healthz", ops), 20*time.Second, nil); err != nil {
		t.Fatal(err)
	}
	tasks, _ := ctr("task", "ls")
	var pid int
	for _, line := range strings.Split(tasks, "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == name {
			fmt.Sscan(f[1], &pid)
		}
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "Uid:") && strings.Fields(line)[1] != "65532" {
			t.Errorf("the container runs as %s, want uid 65532", line)
		}
	}
	t.Logf("%s imported as %s and serving /healthz under runc (app version %s)", results[0].Tarballs["amd64"], want, p.AppVersion)
}
