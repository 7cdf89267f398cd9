// Package output writes built images where they are used: an OCI layout
// directory, docker-archive tarballs (the format `kind load image-archive`,
// `minikube image load` and `ctr images import` take), a registry, or a
// running kind or minikube cluster.
package output

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/match"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/envoy-example/envoy-example/tools/imagebuilder/internal/image"
)

// Layout adds idx to the OCI layout at dir under the name ref, replacing an
// earlier index of the same name, so that rebuilding one image keeps the
// others in the layout.
func Layout(dir, ref string, idx v1.ImageIndex) error {
	p, err := layout.FromPath(dir)
	if err != nil {
		if p, err = layout.Write(dir, empty.Index); err != nil {
			return fmt.Errorf("oci layout %s: %w", dir, err)
		}
	}
	err = p.ReplaceIndex(idx, match.Annotation(image.RefName, ref),
		layout.WithAnnotations(map[string]string{image.RefName: ref}))
	if err != nil {
		return fmt.Errorf("oci layout %s: %w", dir, err)
	}
	return nil
}

// DockerArchive writes img to path as a docker-archive tarball tagged ref.
// The tag is written as given (envoy-example/frontend:0.1.0): containerd and
// Docker normalise it to the same name the kubelet asks for.
func DockerArchive(path, ref string, img v1.Image) error {
	tag, err := name.NewTag(ref)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := tarball.WriteToFile(tmp, tag, img); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("docker archive %s: %w", path, err)
	}
	return os.Rename(tmp, path)
}

// Push uploads idx to registry under ref's repository and tag
// (envoy-example/frontend:0.1.0 → <registry>/envoy-example/frontend:0.1.0),
// with the credentials of the local Docker config, if any.
func Push(ctx context.Context, registry, ref string, idx v1.ImageIndex, opts ...name.Option) (name.Tag, error) {
	src, err := name.NewTag(ref)
	if err != nil {
		return name.Tag{}, err
	}
	dst, err := name.NewTag(registry+"/"+src.RepositoryStr()+":"+src.TagStr(), opts...)
	if err != nil {
		return name.Tag{}, fmt.Errorf("--push %s: %w", registry, err)
	}
	err = remote.WriteIndex(dst, idx, remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain))
	if err != nil {
		return name.Tag{}, fmt.Errorf("push %s: %w", dst, err)
	}
	return dst, nil
}

// PruneLayout deletes the blobs of the OCI layout at dir that no index in
// it refers to any more (the images that later builds replaced), so that
// the layout does not grow with every build.
func PruneLayout(dir string) (removed int, err error) {
	p, err := layout.FromPath(dir)
	if err != nil {
		return 0, err
	}
	root, err := p.ImageIndex()
	if err != nil {
		return 0, err
	}
	keep := map[v1.Hash]bool{}
	if err := mark(root, keep); err != nil {
		return 0, err
	}
	blobs := filepath.Join(dir, "blobs", "sha256")
	entries, err := os.ReadDir(blobs)
	if err != nil {
		return 0, err
	}
	for _, e := range entries {
		if keep[v1.Hash{Algorithm: "sha256", Hex: e.Name()}] {
			continue
		}
		if err := os.Remove(filepath.Join(blobs, e.Name())); err != nil {
			return removed, err
		}
		removed++
	}
	return removed, nil
}

// mark records every blob idx refers to, down to the layers.
func mark(idx v1.ImageIndex, keep map[v1.Hash]bool) error {
	m, err := idx.IndexManifest()
	if err != nil {
		return err
	}
	for _, d := range m.Manifests {
		keep[d.Digest] = true
		switch {
		case d.MediaType.IsIndex():
			child, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return err
			}
			if err := mark(child, keep); err != nil {
				return err
			}
		case d.MediaType.IsImage():
			img, err := idx.Image(d.Digest)
			if err != nil {
				return err
			}
			im, err := img.Manifest()
			if err != nil {
				return err
			}
			keep[im.Config.Digest] = true
			for _, l := range im.Layers {
				keep[l.Digest] = true
			}
		}
	}
	return nil
}
