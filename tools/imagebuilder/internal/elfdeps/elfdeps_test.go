package elfdeps

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// A dynamically linked program of this machine resolves to its loader and
// libc, found in the host's multiarch directories.
func TestResolveHostProgram(t *testing.T) {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("not applicable: reads the host's x86-64 libraries, and this is not linux/amd64")
	}
	prog, err := exec.LookPath("ls")
	if err != nil {
		t.Fatal("no ls on PATH: a Linux machine has one (coreutils)")
	}
	prog, _ = filepath.EvalSymlinks(prog)
	d, err := Resolve(prog, []string{"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu"})
	if err != nil {
		t.Fatal(err)
	}
	if d.Interpreter != "/lib64/ld-linux-x86-64.so.2" {
		t.Errorf("interpreter %q", d.Interpreter)
	}
	if _, err := os.Stat(d.InterpreterSource); err != nil {
		t.Error(err)
	}
	found := false
	for _, l := range d.Libs {
		if l.Name == "libc.so.6" {
			found = true
		}
		if l.Name == "ld-linux-x86-64.so.2" {
			t.Error("the loader is listed as a library too")
		}
	}
	if !found {
		t.Errorf("libc.so.6 missing from %+v", d.Libs)
	}
	if arch, err := Machine(prog); err != nil || arch != "amd64" {
		t.Errorf("Machine = %q, %v", arch, err)
	}
}

// A static Go binary (this test) needs no libraries, and Resolve says so
// rather than returning an empty list that would hide a wrong input.
func TestResolveStatic(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "static")
	src := filepath.Join(dir, "main.go")
	if err := os.WriteFile(src, []byte("package main\nfunc main() {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "build", "-o", bin, src)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if _, err := Resolve(bin, nil); err == nil {
		t.Error("a static binary resolved")
	}
}

func TestResolveMissingLibrary(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("not applicable: needs a dynamically linked Linux program")
	}
	prog, err := exec.LookPath("ls")
	if err != nil {
		t.Fatal("no ls on PATH: a Linux machine has one (coreutils)")
	}
	if _, err := Resolve(prog, []string{t.TempDir()}); err == nil {
		t.Error("resolved with no library directory")
	}
}
