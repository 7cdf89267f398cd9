package charttest

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// The php implementation of item changes the item pod and nothing else:
// every Envoy bootstrap (the item pod's own included), every Service and
// every other Deployment render byte for byte as with go, so callers,
// routes and clusters cannot tell the two apart, and a `helm upgrade`
// between them rolls the item pods only.
func TestItemImplementationChangesOnlyTheItemPod(t *testing.T) {
	for _, pair := range [][2]scenario{
		{base("values.yaml"), scenarioNamed(t, "item-php")},
		{scenarioNamed(t, "plain-container-sidecars"), scenarioNamed(t, "item-php-plain-container-sidecars")},
		{scenarioNamed(t, "sidecars-off"), scenarioNamed(t, "item-php-sidecars-off")},
		{scenarioNamed(t, "ci-values-offline"), scenarioNamed(t, "item-php-ci-values-offline")},
	} {
		t.Run(pair[1].name, func(t *testing.T) {
			goRel, phpRel := renderScenario(t, pair[0]), renderScenario(t, pair[1])
			if len(goRel.Objects) != len(phpRel.Objects) {
				t.Fatalf("%d objects with go, %d with php", len(goRel.Objects), len(phpRel.Objects))
			}
			changed := 0
			for _, o := range goRel.Objects {
				p, ok := phpRel.Find(o.Kind, o.Name)
				if !ok {
					t.Errorf("%s %s is not rendered with php", o.Kind, o.Name)
					continue
				}
				if bytes.Equal(o.YAML, p.YAML) {
					continue
				}
				if o.Kind == "Deployment" && o.Name == goRel.Name("item") {
					changed++
					continue
				}
				t.Errorf("%s %s differs between go and php", o.Kind, o.Name)
			}
			if changed != 1 {
				t.Errorf("the item Deployment is the same with go and php")
			}
			if pair[0].mesh {
				goBoot, err := goRel.EnvoyBootstraps()
				if err != nil {
					t.Fatal(err)
				}
				phpBoot, err := phpRel.EnvoyBootstraps()
				if err != nil {
					t.Fatal(err)
				}
				if goBoot["item"] == "" || goBoot["item"] != phpBoot["item"] {
					t.Errorf("the item Envoy bootstrap differs between go and php (or is missing)")
				}
			}
		})
	}
}

// The item pod with php: the bridge is the item app (its image, the flags
// of every app, and PHP-FPM's address), PHP-FPM runs the item-php image
// with a writable /tmp only, and starts before the bridge (native sidecar
// with a startupProbe) or outlives it (plain container with a preStop
// hook that waits for the bridge's ops port to close).
func TestItemPHPPod(t *testing.T) {
	for _, name := range []string{"item-php", "item-php-plain-container-sidecars", "item-php-sidecars-off", "item-php-ci-values-offline"} {
		s := scenarioNamed(t, name)
		t.Run(name, func(t *testing.T) {
			rel := renderScenario(t, s)
			spec := deployment(t, rel, "item").Spec.Template.Spec
			app := spec.Containers[len(spec.Containers)-1]
			if app.Name != "item" || app.Image != "envoy-example/item-bridge:0.1.0" {
				t.Errorf("item app container %s runs %s, want item running envoy-example/item-bridge:0.1.0", app.Name, app.Image)
			}
			listen := map[bool]string{true: "--listen=127.0.0.1:9090", false: "--listen=:8080"}[s.mesh]
			for _, arg := range []string{listen, "--ops-listen=:9091", "--drain-delay=15s", "--shutdown-timeout=10s", "--seed-scale=1",
				"--php-fpm-addr=127.0.0.1:9000", "--php-script=/srv/item-php/index.php"} {
				if !slices.Contains(app.Args, arg) {
					t.Errorf("the bridge's args %v lack %s", app.Args, arg)
				}
			}
			fpm, native := phpFPMContainer(t, spec)
			if native != s.native {
				t.Errorf("php-fpm is a native sidecar: %v, want %v", native, s.native)
			}
			if fpm.Image != "envoy-example/item-php:0.1.0" || len(fpm.Command) != 0 || len(fpm.Args) != 0 {
				t.Errorf("php-fpm runs %s %v %v; want envoy-example/item-php:0.1.0 with its own entrypoint", fpm.Image, fpm.Command, fpm.Args)
			}
			wantPull := map[bool]corev1.PullPolicy{true: corev1.PullNever, false: corev1.PullIfNotPresent}[strings.Contains(name, "offline")]
			if fpm.ImagePullPolicy != wantPull || app.ImagePullPolicy != wantPull {
				t.Errorf("pull policies php-fpm %s, bridge %s; want %s", fpm.ImagePullPolicy, app.ImagePullPolicy, wantPull)
			}
			if len(fpm.Ports) != 0 {
				t.Errorf("php-fpm exposes %v: it listens on loopback only", fpm.Ports)
			}
			mounts := map[string]string{}
			for _, m := range fpm.VolumeMounts {
				mounts[m.MountPath] = m.Name
			}
			if len(mounts) != 1 || mounts["/tmp"] == "" || !emptyDir(spec, mounts["/tmp"]) {
				t.Errorf("php-fpm mounts %v; want only an emptyDir on /tmp", fpm.VolumeMounts)
			}
			if native {
				pr := fpm.StartupProbe
				if pr == nil || pr.Exec == nil || !strings.Contains(strings.Join(pr.Exec.Command, " "), "/dev/tcp/127.0.0.1/9000") {
					t.Errorf("php-fpm's startupProbe %+v does not connect to 127.0.0.1:9000: the bridge could start first", pr)
				}
				if fpm.Lifecycle != nil {
					t.Errorf("native php-fpm has a lifecycle hook: it stops after the bridge anyway")
				}
			} else {
				h := fpm.Lifecycle
				if h == nil || h.PreStop == nil || h.PreStop.Exec == nil || !strings.Contains(strings.Join(h.PreStop.Exec.Command, " "), "/dev/tcp/127.0.0.1/9091") {
					t.Errorf("plain php-fpm has no preStop hook waiting for the bridge's ops port: it would stop under the bridge's drain")
				}
			}
		})
	}
	// And none with go.
	for _, s := range scenarios() {
		if s.itemPHP {
			continue
		}
		spec := deployment(t, renderScenario(t, s), "item").Spec.Template.Spec
		for _, c := range append(slices.Clone(spec.InitContainers), spec.Containers...) {
			if c.Name == "php-fpm" || strings.Contains(c.Image, "item-bridge") {
				t.Errorf("%s: the Go item pod runs %s (%s)", s.name, c.Name, c.Image)
			}
		}
	}
}

// phpFPMContainer returns the item pod's php-fpm container and whether it
// is a native sidecar (an initContainer that keeps running).
func phpFPMContainer(t *testing.T, spec corev1.PodSpec) (corev1.Container, bool) {
	t.Helper()
	for _, c := range spec.InitContainers {
		if c.Name == "php-fpm" {
			return c, c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
		}
	}
	for _, c := range spec.Containers {
		if c.Name == "php-fpm" {
			return c, false
		}
	}
	t.Fatalf("the item pod has no php-fpm container")
	return corev1.Container{}, false
}

func emptyDir(spec corev1.PodSpec, volume string) bool {
	for _, v := range spec.Volumes {
		if v.Name == volume {
			return v.EmptyDir != nil
		}
	}
	return false
}

func scenarioNamed(t *testing.T, name string) scenario {
	t.Helper()
	for _, s := range scenarios() {
		if s.name == name {
			return s
		}
	}
	t.Fatalf("no scenario %s", name)
	return scenario{}
}
