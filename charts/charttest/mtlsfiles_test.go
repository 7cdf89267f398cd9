package charttest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	"sigs.k8s.io/yaml"

	"github.com/envoy-example/envoy-example/charts/render"
	"github.com/envoy-example/envoy-example/internal/certgen"
)

// certManagerAPI is the apiVersion of cert-manager's Certificate, which
// client-go's scheme does not know.
const certManagerAPI = "cert-manager.io/v1"

// Where the chart mounts Envoy's files in the pod: the Envoy ConfigMap
// (envoy.yaml and the SDS files) and the workload's mTLS Secret.
const (
	podEnvoyDir = "/etc/envoy"
	podMTLSDir  = "/etc/envoy-mtls"
)

// certificate is the part of a cert-manager Certificate the tests read.
type certificate struct {
	Spec struct {
		SecretName  string   `json:"secretName"`
		URIs        []string `json:"uris"`
		Duration    string   `json:"duration"`
		RenewBefore string   `json:"renewBefore"`
		PrivateKey  struct {
			Algorithm      string `json:"algorithm"`
			Size           int    `json:"size"`
			RotationPolicy string `json:"rotationPolicy"`
		} `json:"privateKey"`
		Usages    []string          `json:"usages"`
		IssuerRef map[string]string `json:"issuerRef"`
	} `json:"spec"`
}

// mtlsSecrets makes the Secrets the release's pods mount, as a cluster
// would hold them: certgen's package run on the arguments of the rendered
// certgen Job (against a fake API server), or, in cert-manager mode, on
// the Certificates' Secret names and URIs. By Secret name.
func mtlsSecrets(t *testing.T, rel *render.Release, now time.Time) map[string]*corev1.Secret {
	t.Helper()
	var cfg certgen.Config
	if job, ok := rel.Find("Job", rel.Name("certgen")); ok {
		spec := jobPodSpec(t, job)
		cmd, err := certgen.ParseArgs(spec.Containers[0].Args)
		if err != nil {
			t.Fatalf("the certgen Job's arguments: %v", err)
		}
		if cmd.Name != "issue" {
			t.Fatalf("the certgen Job runs %q, want issue", cmd.Name)
		}
		cfg = cmd.Config
	} else {
		cfg = certgen.Config{Namespace: rel.Options.Namespace, CASecret: "cert-manager-ca", Lifetime: 24 * time.Hour}
		for _, o := range rel.OfKind("Certificate") {
			var c certificate
			if err := yaml.Unmarshal(o.YAML, &c); err != nil {
				t.Fatal(err)
			}
			if len(c.Spec.URIs) != 1 {
				t.Fatalf("Certificate %s has URIs %v", o.Name, c.Spec.URIs)
			}
			cfg.Leaves = append(cfg.Leaves, certgen.Leaf{Secret: c.Spec.SecretName, SPIFFEID: c.Spec.URIs[0]})
		}
		if len(cfg.Leaves) == 0 {
			t.Fatal("mtls on, yet neither a certgen Job nor Certificates")
		}
	}
	cfg.Now = func() time.Time { return now }
	return issueWith(t, cfg, nil)
}

// issueWith runs certgen's Issue on an API server that holds existing
// (the Secrets of an earlier run, or none) and returns every Secret after
// it, by name.
func issueWith(t *testing.T, cfg certgen.Config, existing map[string]*corev1.Secret) map[string]*corev1.Secret {
	t.Helper()
	cs := fake.NewClientset()
	for _, s := range existing {
		if _, err := cs.CoreV1().Secrets(cfg.Namespace).Create(context.Background(), s.DeepCopy(), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := certgen.Issue(context.Background(), cs, cfg); err != nil {
		t.Fatal(err)
	}
	list, err := cs.CoreV1().Secrets(cfg.Namespace).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*corev1.Secret{}
	for i := range list.Items {
		out[list.Items[i].Name] = &list.Items[i]
	}
	return out
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeFileAt(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func jobPodSpec(t *testing.T, o render.Object) corev1.PodSpec {
	t.Helper()
	var job struct {
		Spec struct {
			Template struct {
				Spec corev1.PodSpec `json:"spec"`
			} `json:"template"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(o.YAML, &job); err != nil {
		t.Fatal(err)
	}
	if len(job.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("Job %s has %d containers", o.Name, len(job.Spec.Template.Spec.Containers))
	}
	return job.Spec.Template.Spec
}

// mtlsSecretOf returns the name of the Secret a component's pods mount for
// Envoy (the volume "mtls"), or "" when they mount none.
func mtlsSecretOf(t *testing.T, rel *render.Release, component string) string {
	t.Helper()
	for _, v := range deployment(t, rel, component).Spec.Template.Spec.Volumes {
		if v.Name == "mtls" && v.Secret != nil {
			return v.Secret.SecretName
		}
	}
	return ""
}

// envoyOnDisk writes one component's Envoy files under dir as the pod
// sees them, and returns the bootstrap's path and the Secret volume's
// directory (empty without mtls):
//
//	dir/etc-envoy/   the Envoy ConfigMap's files (envoy.yaml, sds-*.yaml)
//	dir/mtls/        the Secret volume, laid out as the kubelet does
//
// The one change to the rendered files: every path under /etc/envoy and
// /etc/envoy-mtls points into dir instead (localize).
func envoyOnDisk(t *testing.T, rel *render.Release, component, dir string, secrets map[string]*corev1.Secret) (config, mtlsDir string) {
	t.Helper()
	all, err := rel.EnvoyFiles()
	if err != nil {
		t.Fatal(err)
	}
	files, ok := all[component]
	if !ok {
		t.Fatalf("no Envoy ConfigMap for %s", component)
	}
	etc := filepath.Join(dir, "etc-envoy")
	if err := os.MkdirAll(etc, 0o755); err != nil {
		t.Fatal(err)
	}
	if name := mtlsSecretOf(t, rel, component); name != "" {
		s, ok := secrets[name]
		if !ok {
			t.Fatalf("%s mounts Secret %s, which neither certgen nor cert-manager makes", component, name)
		}
		mtlsDir = filepath.Join(dir, "mtls")
		kubeletWrite(t, mtlsDir, s.Data)
	}
	for name, text := range files {
		writeFile(t, etc, name, localize(t, text, etc, mtlsDir))
	}
	return filepath.Join(etc, "envoy.yaml"), mtlsDir
}

// localize points the paths of a rendered Envoy file (a bootstrap or an
// SDS file) at the test's directories: /etc/envoy/... into etc and
// /etc/envoy-mtls/... into mtls. Nothing else changes.
func localize(t *testing.T, text, etc, mtls string) string {
	t.Helper()
	var tree any
	if err := yaml.Unmarshal([]byte(text), &tree); err != nil {
		t.Fatal(err)
	}
	var walk func(v any) any
	walk = func(v any) any {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				v[k] = walk(x)
			}
		case []any:
			for i, x := range v {
				v[i] = walk(x)
			}
		case string:
			for _, m := range []struct{ from, to string }{{podMTLSDir, mtls}, {podEnvoyDir, etc}} {
				if v == m.from || strings.HasPrefix(v, m.from+"/") {
					if m.to == "" {
						t.Fatalf("%s names %s, which this pod does not mount", text[:min(len(text), 60)], v)
					}
					return m.to + strings.TrimPrefix(v, m.from)
				}
			}
		}
		return v
	}
	out, err := yaml.Marshal(walk(tree))
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// kubeletWrite puts data into dir the way the kubelet updates a Secret
// volume (its AtomicWriter): the files go into a new hidden timestamped
// directory, a ..data_tmp symlink to it is renamed over ..data in one
// step, and each visible file is a symlink through ..data. The previous
// timestamped directory is then removed.
func kubeletWrite(t *testing.T, dir string, data map[string][]byte) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	old, _ := os.Readlink(filepath.Join(dir, "..data"))
	ts, err := os.MkdirTemp(dir, fmt.Sprintf("..%s.", time.Now().UTC().Format("2006_01_02_15_04_05")))
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range data {
		if err := os.WriteFile(filepath.Join(ts, name), b, 0o440); err != nil {
			t.Fatal(err)
		}
	}
	tmp := filepath.Join(dir, "..data_tmp")
	if err := os.Symlink(filepath.Base(ts), tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	for name := range data {
		link := filepath.Join(dir, name)
		if _, err := os.Lstat(link); err == nil {
			continue
		}
		if err := os.Symlink(filepath.Join("..data", name), link); err != nil {
			t.Fatal(err)
		}
	}
	if old != "" {
		if err := os.RemoveAll(filepath.Join(dir, old)); err != nil {
			t.Fatal(err)
		}
	}
}
