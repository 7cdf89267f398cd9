package charttest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/envoy-example/envoy-example/charts/render"
	"github.com/envoy-example/envoy-example/internal/envoyproc"
	"github.com/envoy-example/envoy-example/internal/envoyproc/envoytest"
	itemv1 "github.com/envoy-example/envoy-example/protos/item/v1"
	orderv1 "github.com/envoy-example/envoy-example/protos/order/v1"
	userv1 "github.com/envoy-example/envoy-example/protos/user/v1"
)

// The fields of a bootstrap the cross-reference checks read.
type bootstrap struct {
	Node struct {
		Cluster string `json:"cluster"`
	} `json:"node"`
	Admin struct {
		Address address `json:"address"`
	} `json:"admin"`
	StatsConfig *struct {
		HistogramBucketSettings []struct {
			Match struct {
				Suffix string `json:"suffix"`
			} `json:"match"`
			Buckets []float64 `json:"buckets"`
		} `json:"histogram_bucket_settings"`
	} `json:"stats_config"`
	StatsSinks []struct {
		Name        string `json:"name"`
		TypedConfig struct {
			Address address `json:"address"`
			Prefix  string  `json:"prefix"`
		} `json:"typed_config"`
	} `json:"stats_sinks"`
	StaticResources struct {
		Listeners []listener `json:"listeners"`
		Clusters  []cluster  `json:"clusters"`
	} `json:"static_resources"`
}

type address struct {
	SocketAddress struct {
		Address   string `json:"address"`
		PortValue int    `json:"port_value"`
		Protocol  string `json:"protocol"`
	} `json:"socket_address"`
}

func (a address) String() string {
	return fmt.Sprintf("%s:%d", a.SocketAddress.Address, a.SocketAddress.PortValue)
}

type listener struct {
	Name             string  `json:"name"`
	Address          address `json:"address"`
	TrafficDirection string  `json:"traffic_direction"`
	FilterChains     []struct {
		Filters []struct {
			Name        string `json:"name"`
			TypedConfig struct {
				RouteConfig struct {
					VirtualHosts []struct {
						Routes []struct {
							Match struct {
								Prefix string `json:"prefix"`
								Path   string `json:"path"`
							} `json:"match"`
							Route *struct {
								Cluster string `json:"cluster"`
							} `json:"route"`
						} `json:"routes"`
					} `json:"virtual_hosts"`
				} `json:"route_config"`
				Tracing *struct {
					Provider struct {
						TypedConfig struct {
							CollectorCluster string `json:"collector_cluster"`
						} `json:"typed_config"`
					} `json:"provider"`
				} `json:"tracing"`
			} `json:"typed_config"`
		} `json:"filters"`
	} `json:"filter_chains"`
}

type cluster struct {
	Name        string `json:"name"`
	Type        string `json:"type"`
	ClusterType *struct {
		TypedConfig struct {
			Type                         string `json:"@type"`
			AllAddressesInSingleEndpoint bool   `json:"all_addresses_in_single_endpoint"`
		} `json:"typed_config"`
	} `json:"cluster_type"`
	LoadAssignment struct {
		Endpoints []struct {
			LbEndpoints []struct {
				Endpoint struct {
					Address address `json:"address"`
				} `json:"endpoint"`
			} `json:"lb_endpoints"`
		} `json:"endpoints"`
	} `json:"load_assignment"`
	HealthChecks []struct {
		GrpcHealthCheck *struct {
			ServiceName string `json:"service_name"`
		} `json:"grpc_health_check"`
		HTTPHealthCheck *struct {
			Path string `json:"path"`
		} `json:"http_health_check"`
	} `json:"health_checks"`
}

// strictDNS is true for a cluster that resolves a name into one host per
// address: type STRICT_DNS, or the DNS cluster extension that replaces it.
func (c cluster) strictDNS() bool {
	if c.Type == "STRICT_DNS" {
		return true
	}
	return c.ClusterType != nil &&
		c.ClusterType.TypedConfig.Type == "type.googleapis.com/envoy.extensions.clusters.dns.v3.DnsCluster" &&
		!c.ClusterType.TypedConfig.AllAddressesInSingleEndpoint
}

func (c cluster) addresses() []address {
	var out []address
	for _, e := range c.LoadAssignment.Endpoints {
		for _, lb := range e.LbEndpoints {
			out = append(out, lb.Endpoint.Address)
		}
	}
	return out
}

func parseBootstrap(t *testing.T, component, text string) bootstrap {
	t.Helper()
	var b bootstrap
	if err := yaml.Unmarshal([]byte(text), &b); err != nil {
		t.Fatalf("%s bootstrap: %v", component, err)
	}
	return b
}

// envoyContainer returns the Envoy container of a component's pods.
func envoyContainer(t *testing.T, rel *render.Release, component string) corev1.Container {
	t.Helper()
	spec := deployment(t, rel, component).Spec.Template.Spec
	for _, c := range append(slices.Clone(spec.InitContainers), spec.Containers...) {
		if c.Name == "envoy" {
			return c
		}
	}
	t.Fatalf("%s has no envoy container", component)
	return corev1.Container{}
}

// runArgs turns the Envoy container's arguments into a local command line:
// the config path is the caller's and $(POD_NAME), which the kubelet
// expands, becomes a pod-like name. Everything else is as rendered.
func runArgs(t *testing.T, c corev1.Container, podName string) []string {
	t.Helper()
	var out []string
	for i := 0; i < len(c.Args); i++ {
		a := c.Args[i]
		if a == "--config-path" || a == "-c" {
			i++ // Validate and Start give their own -c.
			continue
		}
		out = append(out, strings.ReplaceAll(a, "$(POD_NAME)", podName))
	}
	if slices.Contains(out, "--config-path") || strings.Contains(strings.Join(out, " "), "$(") {
		t.Fatalf("unexpected Envoy arguments %v", c.Args)
	}
	return out
}

// Every rendered bootstrap passes a real Envoy's --mode validate, with the
// command-line options the chart gives the container, and with mtls the
// SDS files and the workload's certificates where it reads them.
func TestEnvoyValidatesEveryBootstrap(t *testing.T) {
	bin := envoytest.Pinned(t)
	forEach(t, func(t *testing.T, s scenario, rel *render.Release) {
		bootstraps, err := rel.EnvoyBootstraps()
		if err != nil {
			t.Fatal(err)
		}
		if want := map[bool]int{true: 5, false: 1}[s.mesh]; len(bootstraps) != want {
			t.Fatalf("%d bootstraps, want %d (frontend, user, order, item and ingress; the ingress alone without sidecars)", len(bootstraps), want)
		}
		// The SDS files and the certificates must exist where the
		// bootstrap names them (envoyOnDisk).
		var secrets map[string]*corev1.Secret
		if s.mtls {
			secrets = mtlsSecrets(t, rel, time.Now())
		}
		validateBootstraps(t, bin, rel, bootstraps, secrets)
	})
}

// validateBootstraps runs a real Envoy's --mode validate on each bootstrap,
// with the files it reads on disk and the arguments of its container.
func validateBootstraps(t *testing.T, bin string, rel *render.Release, bootstraps map[string]string, secrets map[string]*corev1.Secret) {
	t.Helper()
	for component := range bootstraps {
		path, _ := envoyOnDisk(t, rel, component, t.TempDir(), secrets)
		args := runArgs(t, envoyContainer(t, rel, component), rel.Name(component)+"-7d4b9c8f6-x2x9z")
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		err := envoyproc.Validate(ctx, bin, path, args...)
		cancel()
		if err != nil {
			t.Errorf("%s: %v", component, err)
		}
	}
}

// grpcServices are the gRPC service names each upstream cluster serves,
// from the generated code: the egress routes and the health checks must
// name them exactly.
var grpcServices = map[string]string{
	"user":  userv1.UserService_ServiceDesc.ServiceName,
	"order": orderv1.OrderService_ServiceDesc.ServiceName,
	"item":  itemv1.ItemService_ServiceDesc.ServiceName,
}

// What Envoy does not check: every route and the tracer name a cluster
// that exists; every DNS cluster resolves the FQDN and port of a Service
// this release renders (headless for the apps); the ports and addresses
// are DESIGN.md's; each app reaches exactly the services it calls.
func TestEnvoyCrossReferences(t *testing.T) {
	calls := map[string][]string{"frontend": {"user", "order"}, "order": {"item"}, "user": nil, "item": nil, "ingress": {"frontend"}}
	forEach(t, func(t *testing.T, s scenario, rel *render.Release) {
		// The Services of this release, by FQDN.
		services := map[string]*corev1.Service{}
		for _, o := range rel.OfKind("Service") {
			obj, err := o.Decode()
			if err != nil {
				t.Fatal(err)
			}
			svc := obj.(*corev1.Service)
			services[fmt.Sprintf("%s.%s.svc.%s", svc.Name, s.namespace(), s.clusterDomain)] = svc
		}
		bootstraps, err := rel.EnvoyBootstraps()
		if err != nil {
			t.Fatal(err)
		}
		for component, text := range bootstraps {
			b := parseBootstrap(t, component, text)
			fail := func(format string, args ...any) {
				t.Errorf("%s: %s", component, fmt.Sprintf(format, args...))
			}
			if b.Node.Cluster != component {
				fail("node.cluster %q: Zipkin would name its spans after it", b.Node.Cluster)
			}
			if a := b.Admin.Address.String(); a != "127.0.0.1:9901" {
				fail("admin on %s, want 127.0.0.1:9901 only", a)
			}
			switch s.metricsMode {
			case "statsd":
				if len(b.StatsSinks) != 1 || b.StatsSinks[0].TypedConfig.Address.String() != "127.0.0.1:9125" ||
					b.StatsSinks[0].TypedConfig.Address.SocketAddress.Protocol != "UDP" || b.StatsSinks[0].TypedConfig.Prefix != "envoy."+component {
					fail("stats sink %+v, want UDP 127.0.0.1:9125 with prefix envoy.%s", b.StatsSinks, component)
				}
			case "prometheus":
				// No sink: Prometheus reads the stats listener. Request
				// times get the statsd mapping's buckets, in milliseconds.
				if len(b.StatsSinks) != 0 {
					fail("stats sinks %+v with metrics.mode prometheus", b.StatsSinks)
				}
				if b.StatsConfig == nil || len(b.StatsConfig.HistogramBucketSettings) != 1 ||
					b.StatsConfig.HistogramBucketSettings[0].Match.Suffix != ".upstream_rq_time" ||
					!slices.Equal(b.StatsConfig.HistogramBucketSettings[0].Buckets, []float64{1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000}) {
					fail("stats_config %+v, want upstream_rq_time buckets 1 ms to 10 s", b.StatsConfig)
				}
			default:
				fail("unknown metrics mode %q", s.metricsMode)
			}

			clusters := map[string]cluster{}
			for _, c := range b.StaticResources.Clusters {
				if _, dup := clusters[c.Name]; dup {
					fail("cluster %s twice", c.Name)
				}
				clusters[c.Name] = c
			}

			// Listeners: where DESIGN.md puts them; routes name real clusters.
			wantListeners := map[string]string{"inbound": "0.0.0.0:8080", "egress": "127.0.0.1:7070", "readiness": "0.0.0.0:15021"}
			if component == "ingress" {
				wantListeners = map[string]string{"ingress": "0.0.0.0:8080", "readiness": "0.0.0.0:15021"}
			}
			if s.metricsMode == "prometheus" {
				wantListeners["prometheus_stats"] = "0.0.0.0:15090"
			}
			gotListeners := map[string]string{}
			routed := map[string]bool{}
			for _, l := range b.StaticResources.Listeners {
				gotListeners[l.Name] = l.Address.String()
				if l.Address.SocketAddress.PortValue == 9901 {
					fail("listener %s on the admin port", l.Name)
				}
				for _, fc := range l.FilterChains {
					for _, f := range fc.Filters {
						tc := f.TypedConfig
						if tc.Tracing != nil {
							cc := tc.Tracing.Provider.TypedConfig.CollectorCluster
							if _, ok := clusters[cc]; !ok || cc != "jaeger" {
								fail("listener %s traces to cluster %q, which does not exist", l.Name, cc)
							}
						}
						if (tc.Tracing != nil) != (s.jaeger && l.Name != "readiness" && l.Name != "prometheus_stats") {
							fail("listener %s: tracing %v with jaeger.enabled=%v", l.Name, tc.Tracing != nil, s.jaeger)
						}
						for _, vh := range tc.RouteConfig.VirtualHosts {
							for _, r := range vh.Routes {
								if r.Route == nil {
									continue
								}
								if _, ok := clusters[r.Route.Cluster]; !ok {
									fail("listener %s routes %s%s to cluster %q, which does not exist", l.Name, r.Match.Prefix, r.Match.Path, r.Route.Cluster)
								}
								routed[r.Route.Cluster] = true
								if l.Name == "egress" {
									if want := "/" + grpcServices[r.Route.Cluster] + "/"; r.Match.Prefix != want {
										fail("egress routes %q to %s; %s serves %s", r.Match.Prefix, r.Route.Cluster, r.Route.Cluster, want)
									}
								}
							}
						}
					}
				}
			}
			if fmt.Sprint(gotListeners) != fmt.Sprint(wantListeners) {
				fail("listeners %v, want %v", gotListeners, wantListeners)
			}

			// Clusters: exactly what the component needs.
			want := []string{"envoy_admin"}
			if component != "ingress" {
				want = append(want, "local_service")
			}
			want = append(want, calls[component]...)
			if s.jaeger {
				want = append(want, "jaeger")
			}
			var got []string
			for n := range clusters {
				got = append(got, n)
			}
			slices.Sort(want)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				fail("clusters %v, want %v", got, want)
			}
			for _, callee := range calls[component] {
				if !routed[callee] {
					fail("no route reaches cluster %s", callee)
				}
			}

			for name, c := range clusters {
				addrs := c.addresses()
				switch name {
				case "local_service":
					if len(addrs) != 1 || addrs[0].String() != "127.0.0.1:9090" {
						fail("local_service is %v, want 127.0.0.1:9090", addrs)
					}
					continue
				case "envoy_admin":
					if len(addrs) != 1 || addrs[0].String() != "127.0.0.1:9901" {
						fail("envoy_admin is %v, want 127.0.0.1:9901", addrs)
					}
					continue
				}
				// Every other cluster: DNS on a Service of this release.
				if !c.strictDNS() {
					fail("cluster %s is not strict DNS", name)
				}
				if len(addrs) != 1 {
					fail("cluster %s has %d addresses, want the one Service name", name, len(addrs))
					continue
				}
				a := addrs[0].SocketAddress
				svc, ok := services[a.Address]
				if !ok {
					fail("cluster %s resolves %s, which is not the FQDN of a Service of release %s", name, a.Address, s.release())
					continue
				}
				wantSvc := rel.Name(name)
				if name == "jaeger" {
					wantSvc = rel.Name("jaeger-zipkin")
				}
				if svc.Name != wantSvc {
					fail("cluster %s resolves Service %s, want %s", name, svc.Name, wantSvc)
				}
				portOK := false
				for _, p := range svc.Spec.Ports {
					portOK = portOK || int(p.Port) == a.PortValue
				}
				if !portOK {
					fail("cluster %s uses port %d, which Service %s does not serve", name, a.PortValue, svc.Name)
				}
				if name != "jaeger" && svc.Spec.ClusterIP != corev1.ClusterIPNone {
					fail("cluster %s resolves %s, which is not headless: Envoy would see one virtual IP, not the pods", name, svc.Name)
				}
				// Health checks: gRPC health of the service itself, or the
				// frontend's HTTP readiness.
				if name == "jaeger" {
					continue
				}
				if len(c.HealthChecks) != 1 {
					fail("cluster %s has %d health checks", name, len(c.HealthChecks))
					continue
				}
				hc := c.HealthChecks[0]
				if name == "frontend" {
					if hc.HTTPHealthCheck == nil || hc.HTTPHealthCheck.Path != "/readyz" {
						fail("cluster frontend should check /readyz")
					}
				} else if hc.GrpcHealthCheck == nil || hc.GrpcHealthCheck.ServiceName != grpcServices[name] {
					fail("cluster %s should check gRPC health of %s", name, grpcServices[name])
				}
			}
		}
	})
}
