// Package elfdeps finds the shared libraries a dynamically linked program
// needs, by reading ELF headers rather than running ldd, so that it works
// for another architecture's binary as well as for the host's.
package elfdeps

import (
	"debug/elf"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// Lib is one library to put into an image.
type Lib struct {
	// Name is the name the program asks for (DT_NEEDED), e.g. libc.so.6.
	Name string
	// Source is the file that provides it, symlinks resolved.
	Source string
}

// Deps is what a program needs to start.
type Deps struct {
	// Interpreter is the program's PT_INTERP (/lib64/ld-linux-x86-64.so.2),
	// where the image must hold the dynamic loader.
	Interpreter string
	// InterpreterSource is the file that provides it.
	InterpreterSource string
	// Libs are the other libraries, transitively, sorted by name.
	Libs []Lib
}

// Resolve reads program and follows DT_NEEDED transitively, looking each
// library up in dirs, in order. The loader itself is matched by its base
// name, since a library may name it as a dependency too.
func Resolve(program string, dirs []string) (*Deps, error) {
	f, err := elf.Open(program)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	d := &Deps{}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			b := make([]byte, p.Filesz)
			if _, err := p.ReadAt(b, 0); err != nil {
				return nil, fmt.Errorf("%s: PT_INTERP: %w", program, err)
			}
			d.Interpreter = string(trimNUL(b))
		}
	}
	if d.Interpreter == "" {
		return nil, fmt.Errorf("%s is statically linked: it needs no libraries", program)
	}
	if d.InterpreterSource, err = find(filepath.Base(d.Interpreter), dirs); err != nil {
		return nil, err
	}
	seen := map[string]bool{filepath.Base(d.Interpreter): true}
	queue, err := f.ImportedLibraries()
	if err != nil {
		return nil, err
	}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		if seen[name] {
			continue
		}
		seen[name] = true
		src, err := find(name, dirs)
		if err != nil {
			return nil, fmt.Errorf("%s needs %s: %w", program, name, err)
		}
		d.Libs = append(d.Libs, Lib{Name: name, Source: src})
		lf, err := elf.Open(src)
		if err != nil {
			return nil, err
		}
		more, err := lf.ImportedLibraries()
		lf.Close()
		if err != nil {
			return nil, err
		}
		queue = append(queue, more...)
	}
	sort.Slice(d.Libs, func(i, j int) bool { return d.Libs[i].Name < d.Libs[j].Name })
	return d, nil
}

// Machine is the ELF machine of the program at path, as a GOARCH.
func Machine(path string) (string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	switch f.Machine {
	case elf.EM_X86_64:
		return "amd64", nil
	case elf.EM_AARCH64:
		return "arm64", nil
	}
	return "", fmt.Errorf("%s: unexpected ELF machine %s", path, f.Machine)
}

func find(name string, dirs []string) (string, error) {
	for _, dir := range dirs {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return filepath.EvalSymlinks(p)
		}
	}
	return "", fmt.Errorf("%s not found in %v", name, dirs)
}

func trimNUL(b []byte) []byte {
	for len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	return b
}
