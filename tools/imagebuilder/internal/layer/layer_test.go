package layer

import (
	"archive/tar"
	"bytes"
	"encoding/binary"
	"io"
	"testing"
	"time"
)

var epoch = time.Unix(1700000000, 0)

func build(t *testing.T, entries []Entry) *Layer {
	t.Helper()
	l := New(epoch)
	for _, e := range entries {
		if err := l.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	return l
}

// The order entries are added in does not change the layer.
func TestLayerIsOrderIndependent(t *testing.T) {
	entries := []Entry{
		{Path: "/usr/local/bin/app", Mode: 0o755, Data: []byte("binary")},
		{Path: "/etc/passwd", Mode: 0o644, Data: []byte("root:x:0:0::/root:/sbin/nologin\n")},
		{Path: "/tmp", Mode: 0o1777, Dir: true},
		{Path: "/lib64/ld.so", Link: "/lib/ld.so"},
	}
	a, err := build(t, entries).Image()
	if err != nil {
		t.Fatal(err)
	}
	reversed := append([]Entry(nil), entries...)
	for i, j := 0, len(reversed)-1; i < j; i, j = i+1, j-1 {
		reversed[i], reversed[j] = reversed[j], reversed[i]
	}
	b, err := build(t, reversed).Image()
	if err != nil {
		t.Fatal(err)
	}
	da, _ := a.Digest()
	db, _ := b.Digest()
	if da != db {
		t.Fatalf("digests differ: %s vs %s", da, db)
	}
}

func TestTarContents(t *testing.T) {
	l := build(t, []Entry{
		{Path: "/usr/local/bin/app", Mode: 0o755, Data: []byte("binary")},
		{Path: "/tmp", Mode: 0o1777, Dir: true},
		{Path: "/coredns", Mode: 0o755, Data: []byte("x"), Xattrs: map[string]string{"security.capability": NetBindServiceCap()}},
		{Path: "/prometheus", Mode: 0o775, Dir: true, UID: 65534, GID: 65534},
	})
	b, err := l.Tar()
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(bytes.NewReader(b))
	var names []string
	byName := map[string]*tar.Header{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		byName[h.Name] = h
		if !h.ModTime.Equal(epoch) {
			t.Errorf("%s: mtime %v", h.Name, h.ModTime)
		}
	}
	// Parents come first, implicitly added, and the order is sorted.
	want := []string{"coredns", "prometheus/", "tmp/", "usr/", "usr/local/", "usr/local/bin/", "usr/local/bin/app"}
	if len(names) != len(want) {
		t.Fatalf("entries %v, want %v", names, want)
	}
	for i := range want {
		if names[i] != want[i] {
			t.Fatalf("entries %v, want %v", names, want)
		}
	}
	if m := byName["tmp/"].Mode; m != 0o1777 {
		t.Errorf("/tmp mode %o, want 1777", m)
	}
	if h := byName["prometheus/"]; h.Uid != 65534 || h.Gid != 65534 {
		t.Errorf("/prometheus owned by %d:%d", h.Uid, h.Gid)
	}
	if h := byName["usr/local/"]; h.Uid != 0 || h.Mode != 0o755 || h.Typeflag != tar.TypeDir {
		t.Errorf("implicit parent %+v", h)
	}
	capx := byName["coredns"].PAXRecords["SCHILY.xattr.security.capability"]
	if len(capx) != 20 {
		t.Fatalf("capability xattr %q", capx)
	}
	// What `getcap` shows as cap_net_bind_service=ep: revision 2 with the
	// effective flag, and bit 10 (CAP_NET_BIND_SERVICE) permitted.
	if magic := binary.LittleEndian.Uint32([]byte(capx[0:4])); magic != 0x02000001 {
		t.Errorf("magic %#x", magic)
	}
	if perm := binary.LittleEndian.Uint32([]byte(capx[4:8])); perm != 1<<10 {
		t.Errorf("permitted %#x", perm)
	}
}

func TestAddRefusesNonsense(t *testing.T) {
	l := New(epoch)
	if err := l.Add(Entry{Path: "/"}); err == nil {
		t.Error("added the root")
	}
	if err := l.Add(Entry{Path: "/d", Dir: true, Data: []byte("x")}); err == nil {
		t.Error("added a directory with content")
	}
}
