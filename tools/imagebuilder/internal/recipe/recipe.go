// Package recipe says what one image is made of, independently of how it is
// written out: the reference the chart uses, the architectures it is built
// for, and a function that makes its layers and config for one architecture.
package recipe

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/envoy-example/envoy-example/tools/imagebuilder/internal/image"
	"github.com/envoy-example/envoy-example/tools/imagebuilder/internal/layer"
)

// Recipe is one image reference, built for one or more architectures.
type Recipe struct {
	// Name is the short name used by --only and in file names (frontend, envoy).
	Name string
	// Ref is the reference the chart uses (envoy-example/frontend:0.1.0).
	Ref string
	// Arches are the architectures built when --platforms is not given.
	Arches []string
	// Make returns the layers (bottom first) and config for arch.
	Make func(ctx context.Context, arch string) ([]v1.Layer, image.Config, error)
}

// Env is what every recipe may depend on.
type Env struct {
	// Root is the repository root.
	Root string
	// Work is a directory for intermediate files (binaries).
	Work string
	// Cache keeps downloads between builds (wheels, Debian packages).
	Cache string
	// Epoch is the fixed time of every file and config.
	Epoch time.Time
}

// User is an /etc/passwd and /etc/group entry.
type User struct {
	Name string
	ID   int
	Home string
}

// Root and Nonroot are the users of our images, as in distroless's
// static:nonroot (whose nonroot is 65532).
var (
	Root    = User{Name: "root", ID: 0, Home: "/root"}
	Nonroot = User{Name: "nonroot", ID: 65532, Home: "/home/nonroot"}
	Nobody  = User{Name: "nobody", ID: 65534, Home: "/nonexistent"}
)

// Base adds to l the few files an empty base lacks that programs and
// people expect: /etc/passwd and /etc/group naming users (so `ps` and
// logs show names; the kubelet only needs the numeric user of the config),
// and a world-writable /tmp.
func Base(l *layer.Layer, users ...User) error {
	users = append([]User{Root}, users...)
	sort.Slice(users, func(i, j int) bool { return users[i].ID < users[j].ID })
	var passwd, group strings.Builder
	seen := map[int]bool{}
	for _, u := range users {
		if seen[u.ID] {
			continue
		}
		seen[u.ID] = true
		shell := "/sbin/nologin"
		fmt.Fprintf(&passwd, "%s:x:%d:%d:%s:%s:%s\n", u.Name, u.ID, u.ID, u.Name, u.Home, shell)
		fmt.Fprintf(&group, "%s:x:%d:\n", u.Name, u.ID)
	}
	if err := l.File("/etc/passwd", 0o644, []byte(passwd.String())); err != nil {
		return err
	}
	if err := l.File("/etc/group", 0o644, []byte(group.String())); err != nil {
		return err
	}
	return l.Add(layer.Entry{Path: "/tmp", Mode: 0o1777, Dir: true})
}

// UserSpec is the image config's user field for u: numeric, so that the
// kubelet can check runAsNonRoot without reading the image's /etc/passwd.
func UserSpec(u User) string { return fmt.Sprintf("%d:%d", u.ID, u.ID) }

// Select returns the recipes named in only (all when only is empty), and an
// error naming any unknown name.
func Select(all []Recipe, only []string) ([]Recipe, error) {
	if len(only) == 0 {
		return all, nil
	}
	byName := map[string]Recipe{}
	var names []string
	for _, r := range all {
		byName[r.Name] = r
		names = append(names, r.Name)
	}
	var out []Recipe
	for _, n := range only {
		r, ok := byName[n]
		if !ok {
			return nil, fmt.Errorf("--only %s: no such image here (have %s)", n, strings.Join(names, ", "))
		}
		out = append(out, r)
	}
	return out, nil
}
