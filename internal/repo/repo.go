// Package repo knows the repository itself: where its root is, and the
// versions that versions.mk pins there. Tests and tools find the root and
// read a pin through it, so that there is one lookup and one parser.
//
//	root, err := repo.Root()               // the directory of go.mod and versions.mk
//	v, err := repo.Pin("ENVOY_VERSION")    // "1.40.0"
//	pins, err := repo.ReadPins(root)       // every pin of root/versions.mk
package repo

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// VersionsFile is the file at the root that pins every component's version.
const VersionsFile = "versions.mk"

// Root returns the repository root: the nearest directory, from the
// working directory up, that holds versions.mk and go.mod.
func Root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if isFile(filepath.Join(dir, VersionsFile)) && isFile(filepath.Join(dir, "go.mod")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the envoy-example repository (no versions.mk and go.mod above the working directory)")
		}
		dir = parent
	}
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// Pins are the assignments of versions.mk: pin name -> version.
type Pins map[string]string

// Get returns the pin called name, or an error naming versions.mk.
func (p Pins) Get(name string) (string, error) {
	if v := p[name]; v != "" {
		return v, nil
	}
	return "", fmt.Errorf("%s has no %s", VersionsFile, name)
}

// ReadPins reads versions.mk in root.
func ReadPins(root string) (Pins, error) {
	b, err := os.ReadFile(filepath.Join(root, VersionsFile))
	if err != nil {
		return nil, err
	}
	p, err := ParsePins(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", VersionsFile, err)
	}
	return p, nil
}

// Pin returns one pin of the versions.mk at Root.
func Pin(name string) (string, error) {
	root, err := Root()
	if err != nil {
		return "", err
	}
	p, err := ReadPins(root)
	if err != nil {
		return "", err
	}
	return p.Get(name)
}

// ParsePins reads the assignments of a makefile that only assigns plain
// values (NAME := value, NAME = value, NAME ?= value); comments, trailing
// ones included, and blank lines are skipped. Anything else (rules,
// references to other variables) is an error, so that a pin the parser
// cannot read is never silently wrong.
func ParsePins(b []byte) (Pins, error) {
	out := Pins{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if i := strings.Index(line, "#"); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		if line == "" {
			continue
		}
		var name, value string
		found := false
		for _, op := range []string{":=", "?=", "="} {
			if i := strings.Index(line, op); i > 0 {
				name, value = strings.TrimSpace(line[:i]), strings.TrimSpace(line[i+len(op):])
				found = true
				break
			}
		}
		if !found || name == "" || strings.ContainsAny(name, " \t:$") {
			return nil, fmt.Errorf("line %d: not a plain assignment: %q", n, line)
		}
		if strings.Contains(value, "$") {
			return nil, fmt.Errorf("line %d: %s refers to another variable; pins must be literal", n, name)
		}
		out[name] = value
	}
	return out, sc.Err()
}
