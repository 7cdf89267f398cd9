package main

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	itemv1 "github.com/envoy-example/envoy-example/protos/item/v1"
	"github.com/envoy-example/envoy-example/services/item-bridge/bridge"
	"github.com/envoy-example/envoy-example/tools/imagebuilder/internal/apps"
	"github.com/envoy-example/envoy-example/tools/imagebuilder/internal/build"
)

// itemPHPConfig checks the item-php image of both architectures: its
// entrypoint and user, that PHP-FPM and bash find every library inside the
// image, that the application, its generated classes and PHP's protobuf
// runtime are where the pool config looks, and that nothing in it is
// writable by its user but /tmp (so a read-only root filesystem with /tmp
// mounted changes nothing).
func itemPHPConfig(t *testing.T, res build.Result) {
	if got := platforms(t, res.Index); !slices.Equal(got, []string{"linux/amd64", "linux/arm64"}) {
		t.Errorf("platforms %v", got)
	}
	for arch, img := range res.Images {
		cf := configOf(t, img)
		if !slices.Equal(cf.Config.Entrypoint, apps.PHPFPMArgs) {
			t.Errorf("%s: entrypoint %q, want %q", arch, cf.Config.Entrypoint, apps.PHPFPMArgs)
		}
		if cf.Config.User != "65532:65532" {
			t.Errorf("%s: user %q, want 65532:65532", arch, cf.Config.User)
		}
		if !slices.Contains(cf.Config.Env, "PHP_INI_SCAN_DIR=") {
			t.Errorf("%s: env %q lacks PHP_INI_SCAN_DIR= (Debian's conf.d would be read)", arch, cf.Config.Env)
		}
		dir, headers := unpack(t, img)
		triplet := map[string]string{"amd64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu"}[arch]
		elfClosure(t, dir, apps.PHPFPMBinary, triplet)
		elfClosure(t, dir, "/bin/bash", triplet)
		for _, f := range []string{
			apps.PHPAppDir + "/index.php", apps.PHPAppDir + "/lib/ItemService.php",
			apps.PHPAppDir + "/protos/Item/V1/Item.php", apps.PHPAppDir + "/protos/GPBMetadata/Item/V1/Item.php",
			"/usr/share/php/Google/Protobuf/Internal/Message.php",
			"/usr/lib/php/20220829/opcache.so", "/usr/lib/php/20220829/ctype.so",
			apps.PHPConfDir + "/php.ini", apps.PHPConfDir + "/php-fpm.conf",
		} {
			if headers[f] == nil {
				t.Errorf("%s: no %s", arch, f)
			}
		}
		for name, h := range headers {
			if name != "/tmp" && (h.Uid != 0 || h.Mode&0o022 != 0) {
				t.Errorf("%s: %s is owned by %d with mode %o: writable by others than root", arch, name, h.Uid, h.Mode)
			}
		}
	}
}

// itemPHPServes runs the image's PHP-FPM (amd64) in the image as its user,
// with the image's php.ini and pool config (only the port changed, to a
// free one), and asks it for an item through the bridge's own client: the
// binary, its libraries, the extensions, the application and the protobuf
// runtime all work together, and PHP-FPM writes nothing outside /tmp.
func itemPHPServes(t *testing.T, res build.Result) {
	needRoot(t, "running the image's PHP-FPM with the image's own C libraries")
	dir, _ := unpack(t, res.Images["amd64"])
	// What a container runtime provides: /proc (the pool config logs to
	// /proc/self/fd/2) and /dev.
	proc := filepath.Join(dir, "proc")
	if err := os.Mkdir(proc, 0o555); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("proc", proc, "proc", syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC, ""); err != nil {
		t.Fatalf("mounting /proc in the image: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(proc, syscall.MNT_DETACH) })
	// And /dev/null, which PHP-FPM opens for its workers' stdin.
	if err := os.Mkdir(filepath.Join(dir, "dev"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mknod(filepath.Join(dir, "dev", "null"), syscall.S_IFCHR|0o666, 1<<8|3); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, "dev", "null"), 0o666); err != nil {
		t.Fatal(err)
	}

	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	conf, err := os.ReadFile(filepath.Join(dir, apps.PHPConfDir, "php-fpm.conf"))
	if err != nil {
		t.Fatal(err)
	}
	const listen = "\nlisten = 127.0.0.1:9000\n"
	if strings.Count(string(conf), listen) != 1 {
		t.Fatalf("the image's php-fpm.conf has no line %q", strings.TrimSpace(listen))
	}
	testConf := "/tmp/php-fpm-test.conf"
	if err := os.WriteFile(filepath.Join(dir, testConf), []byte(strings.Replace(string(conf), listen, "\nlisten = "+addr+"\n", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	before := treeFiles(t, dir)

	args := slices.Clone(apps.PHPFPMArgs)
	args[len(args)-1] = testConf
	cmd := inImage(t, dir, 65532, 65532, args...)
	cmd.Env = append(cmd.Env, "PHP_INI_SCAN_DIR=")
	// A runtime hands the container's stdio to its user: /proc/self/fd/2
	// must be openable by uid 65532.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Chown(65532, 65532); err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	var logs strings.Builder
	logged := make(chan struct{})
	go func() {
		defer close(logged)
		buf := make([]byte, 4096)
		for {
			n, err := r.Read(buf)
			logs.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cmd.Process.Signal(syscall.SIGQUIT)
			done := make(chan struct{})
			go func() { cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				<-done
			}
			<-logged
		}
	}
	defer stop()

	b := bridge.New(bridge.Config{FPMAddr: addr, Script: apps.PHPAppDir + "/index.php", SeedScale: 1, Timeout: 5 * time.Second},
		slog.New(slog.NewTextHandler(&logs, nil)))
	var got *itemv1.Item
	var callErr error
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		var m proto.Message
		m, callErr = b.Call(context.Background(), "/item.v1.ItemService/GetItem", &itemv1.GetItemRequest{Id: 5}, (&itemv1.Item{}).ProtoReflect().Descriptor())
		if callErr == nil {
			raw, _ := proto.Marshal(m)
			got = &itemv1.Item{}
			callErr = proto.Unmarshal(raw, got)
			break
		}
	}
	stop()
	if callErr != nil || got.GetName() != "fifth item" {
		t.Fatalf("GetItem(5) from the image's PHP-FPM = %v, %v\nits log:\n%s", got, callErr, logs.String())
	}
	for _, bad := range []string{"WARNING", "Unable to load", "ERROR"} {
		if strings.Contains(logs.String(), bad) {
			t.Errorf("PHP-FPM's log says %s:\n%s", bad, logs.String())
		}
	}
	after := treeFiles(t, dir)
	for f := range after {
		if !before[f] && !strings.HasPrefix(f, "/tmp/") {
			t.Errorf("PHP-FPM wrote %s: outside /tmp, which a read-only root filesystem refuses", f)
		}
	}
	t.Logf("item-php (amd64) served GetItem(5) = %q; its log:\n%s", got.GetName(), logs.String())
}

// treeFiles lists the files and directories under dir (not /proc).
func treeFiles(t *testing.T, dir string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := "/" + strings.TrimPrefix(strings.TrimPrefix(p, dir), "/")
		if rel == "/proc" || rel == "/dev" {
			return filepath.SkipDir
		}
		out[rel] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
