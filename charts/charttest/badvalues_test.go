package charttest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/envoy-example/envoy-example/charts/render"
)

// Each file in testdata/bad-values is a values file a user might write by
// mistake; its "# want:" line is what the error must say, naming the key.
// Render goes through the same schema check as `helm install` and
// `helm template`.
func TestBadValuesFailNamingTheKey(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "bad-values", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 10 {
		t.Fatalf("%d bad values files, want at least 10", len(files))
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".yaml"), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			want := ""
			for _, line := range strings.Split(string(data), "\n") {
				if w, ok := strings.CutPrefix(line, "# want: "); ok {
					want = w
				}
			}
			if want == "" {
				t.Fatal(`no "# want:" line`)
			}
			abs, _ := filepath.Abs(f)
			_, err = render.Render(render.Options{ValuesFiles: []string{abs}})
			if err == nil {
				t.Fatal("rendered without error")
			}
			if !strings.Contains(err.Error(), want) {
				t.Fatalf("error does not say %q:\n%v", want, err)
			}
		})
	}
}
