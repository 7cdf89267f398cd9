// Package image assembles OCI images from layers and a config, and gathers
// the images of one reference into a multi-platform index. It adds nothing
// that varies between runs: the creation time is the caller's fixed time,
// and there is no history entry naming a builder or a host.
package image

import (
	"fmt"
	"sort"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// OCI label keys (https://github.com/opencontainers/image-spec/blob/main/annotations.md).
const (
	LabelSource   = "org.opencontainers.image.source"
	LabelRevision = "org.opencontainers.image.revision"
	LabelVersion  = "org.opencontainers.image.version"
	LabelTitle    = "org.opencontainers.image.title"
	// RefName names an index in an OCI layout's index.json.
	RefName = "org.opencontainers.image.ref.name"
)

// Config is the part of an image's runtime config the builder sets.
type Config struct {
	Entrypoint   []string
	Cmd          []string
	User         string
	Env          []string
	WorkingDir   string
	Labels       map[string]string
	ExposedPorts []string // "9090/tcp"
	Volumes      []string
}

// Platform is a linux architecture, with the OCI platform it stands for.
func Platform(arch string) v1.Platform {
	return v1.Platform{OS: "linux", Architecture: arch}
}

// Build makes an image for arch from layers (bottom first) and cfg, with
// created as its creation time.
func Build(arch string, layers []v1.Layer, cfg Config, created time.Time) (v1.Image, error) {
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err := mutate.AppendLayers(img, layers...)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS = "linux"
	cf.Architecture = arch
	cf.Created = v1.Time{Time: created.UTC()}
	// AppendLayers records one history entry per layer with a zero time;
	// they say nothing useful, and an image with no history is valid.
	cf.History = nil
	cf.Config.Entrypoint = cfg.Entrypoint
	cf.Config.Cmd = cfg.Cmd
	cf.Config.User = cfg.User
	cf.Config.Env = cfg.Env
	cf.Config.WorkingDir = cfg.WorkingDir
	cf.Config.Labels = cfg.Labels
	if len(cfg.ExposedPorts) > 0 {
		cf.Config.ExposedPorts = map[string]struct{}{}
		for _, p := range cfg.ExposedPorts {
			cf.Config.ExposedPorts[p] = struct{}{}
		}
	}
	if len(cfg.Volumes) > 0 {
		cf.Config.Volumes = map[string]struct{}{}
		for _, v := range cfg.Volumes {
			cf.Config.Volumes[v] = struct{}{}
		}
	}
	return mutate.ConfigFile(img, cf)
}

// Index gathers one image per architecture into an OCI image index, in a
// fixed order (by architecture) so that the index digest is stable.
func Index(images map[string]v1.Image) (v1.ImageIndex, error) {
	arches := make([]string, 0, len(images))
	for a := range images {
		arches = append(arches, a)
	}
	sort.Strings(arches)
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, a := range arches {
		p := Platform(a)
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        images[a],
			Descriptor: v1.Descriptor{Platform: &p},
		})
	}
	if _, err := idx.Digest(); err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	return idx, nil
}

// Size is the number of bytes a pull of img transfers: manifest, config and
// compressed layers.
func Size(img v1.Image) (int64, error) {
	m, err := img.Manifest()
	if err != nil {
		return 0, err
	}
	raw, err := img.RawManifest()
	if err != nil {
		return 0, err
	}
	n := int64(len(raw)) + m.Config.Size
	for _, l := range m.Layers {
		n += l.Size
	}
	return n, nil
}
