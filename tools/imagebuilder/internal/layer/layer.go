// Package layer writes reproducible filesystem layers: the same entries give
// the same bytes, whatever order they were added in, whoever runs the build
// and whatever the files' times on disk.
package layer

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
)

// Entry is one file, directory or symlink of a layer.
type Entry struct {
	// Path inside the image, absolute (/usr/local/bin/envoy).
	Path string
	// Mode holds the permission bits (0o755); the type comes from the fields below.
	Mode int64
	UID  int
	GID  int
	// Data is a regular file's content. Nil with Dir false and Link empty
	// means an empty regular file.
	Data []byte
	// Dir makes the entry a directory.
	Dir bool
	// Link makes the entry a symlink to Link.
	Link string
	// Xattrs are extended attributes, such as security.capability for a
	// binary that binds a low port as non-root.
	Xattrs map[string]string
}

// Layer is an ordered set of entries, ready to become an image layer.
type Layer struct {
	entries map[string]Entry
	mtime   time.Time
}

// New starts an empty layer whose entries all carry mtime.
func New(mtime time.Time) *Layer {
	return &Layer{entries: map[string]Entry{}, mtime: mtime.UTC()}
}

// Add puts e into the layer, with every parent directory it lacks
// (root-owned, 0755). A later Add of the same path replaces the earlier one.
func (l *Layer) Add(e Entry) error {
	p := path.Clean("/" + e.Path)
	if p == "/" {
		return fmt.Errorf("layer: the root directory is implicit")
	}
	if e.Dir && (e.Data != nil || e.Link != "") {
		return fmt.Errorf("layer: %s is a directory with content", p)
	}
	e.Path = p
	for dir := path.Dir(p); dir != "/"; dir = path.Dir(dir) {
		if _, ok := l.entries[dir]; !ok {
			l.entries[dir] = Entry{Path: dir, Mode: 0o755, Dir: true}
		}
	}
	l.entries[p] = e
	return nil
}

// File is a shorthand for a root-owned regular file.
func (l *Layer) File(p string, mode int64, data []byte) error {
	return l.Add(Entry{Path: p, Mode: mode, Data: data})
}

// Tar returns the layer as an uncompressed tar stream. Paths are written in
// sorted order, which also puts every directory before its contents.
func (l *Layer) Tar() ([]byte, error) {
	paths := make([]string, 0, len(l.entries))
	for p := range l.entries {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, p := range paths {
		e := l.entries[p]
		h := &tar.Header{
			Name:    strings.TrimPrefix(p, "/"),
			Mode:    e.Mode,
			Uid:     e.UID,
			Gid:     e.GID,
			ModTime: l.mtime,
			Format:  tar.FormatPAX,
		}
		switch {
		case e.Dir:
			h.Typeflag = tar.TypeDir
			h.Name += "/"
		case e.Link != "":
			h.Typeflag = tar.TypeSymlink
			h.Linkname = e.Link
		default:
			h.Typeflag = tar.TypeReg
			h.Size = int64(len(e.Data))
		}
		if len(e.Xattrs) > 0 {
			h.PAXRecords = map[string]string{}
			for k, v := range e.Xattrs {
				h.PAXRecords["SCHILY.xattr."+k] = v
			}
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("layer: %s: %w", p, err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(e.Data); err != nil {
				return nil, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Image returns the layer as an OCI image layer, gzip-compressed once here
// (a layer is read several times: digest, OCI layout, tarballs, push). The
// gzip stream carries no time or name and the compressor is pinned in
// go.mod, so the layer's digest depends only on the entries and mtime.
func (l *Layer) Image() (v1.Layer, error) {
	b, err := l.Tar()
	if err != nil {
		return nil, err
	}
	var z bytes.Buffer
	zw, err := gzip.NewWriterLevel(&z, gzip.DefaultCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	compressed := z.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(compressed)), nil
	}, tarball.WithMediaType(types.OCILayer))
}

// NetBindServiceCap is the security.capability xattr value that `setcap
// cap_net_bind_service=+ep` writes (struct vfs_cap_data, revision 2, little
// endian): effective flag set, CAP_NET_BIND_SERVICE (bit 10) permitted.
// CoreDNS's official image sets it so that a non-root CoreDNS binds port 53.
func NetBindServiceCap() string {
	b := make([]byte, 20)
	put := func(off int, v uint32) {
		b[off], b[off+1], b[off+2], b[off+3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
	}
	put(0, 0x02000000|0x000001) // VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE
	put(4, 1<<10)               // permitted[0]: CAP_NET_BIND_SERVICE
	return string(b)
}
