package output

import (
	"os"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
)

func index(t *testing.T) v1.ImageIndex {
	t.Helper()
	img, err := random.Image(1024, 2)
	if err != nil {
		t.Fatal(err)
	}
	return mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: img})
}

func blobs(t *testing.T, dir string) map[string]bool {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, "blobs", "sha256"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, e := range entries {
		out[e.Name()] = true
	}
	return out
}

// Replacing an image in the layout keeps the other images, and pruning
// drops exactly the blobs of the replaced one.
func TestLayoutReplaceAndPrune(t *testing.T) {
	dir := t.TempDir()
	a, b1, b2 := index(t), index(t), index(t)
	for ref, idx := range map[string]v1.ImageIndex{"example/a:1": a, "example/b:1": b1} {
		if err := Layout(dir, ref, idx); err != nil {
			t.Fatal(err)
		}
	}
	before := blobs(t, dir)
	if err := Layout(dir, "example/b:1", b2); err != nil {
		t.Fatal(err)
	}
	removed, err := PruneLayout(dir)
	if err != nil {
		t.Fatal(err)
	}
	after := blobs(t, dir)
	// b1: its index, manifest, config and two layers.
	if removed != 5 {
		t.Errorf("pruned %d blobs, want 5", removed)
	}
	for _, idx := range []v1.ImageIndex{a, b2} {
		d, _ := idx.Digest()
		if !after[d.Hex] {
			t.Errorf("index %s was pruned", d)
		}
	}
	d, _ := b1.Digest()
	if !before[d.Hex] || after[d.Hex] {
		t.Errorf("the replaced index %s: before %v, after %v", d, before[d.Hex], after[d.Hex])
	}
}
