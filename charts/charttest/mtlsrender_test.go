package charttest

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"

	"github.com/envoy-example/envoy-example/charts/render"
	"github.com/envoy-example/envoy-example/internal/certgen"
)

// callers is who may call whom, written out here once more on purpose: the
// chart derives it from _topology.tpl, and this is what DESIGN.md promises.
var callers = map[string][]string{"frontend": {"ingress"}, "user": {"frontend"}, "order": {"frontend"}, "item": {"order"}, "ingress": nil}

// spiffeID is the identity the chart must give a workload of a scenario.
func spiffeID(s scenario, rel *render.Release, component, trustDomain string) string {
	return fmt.Sprintf("spiffe://%s/ns/%s/sa/%s", trustDomain, s.namespace(), rel.Name(component))
}

// The parts of a bootstrap mtls adds, as the tests read them.
type mtlsBootstrap struct {
	StaticResources struct {
		Listeners []struct {
			Name         string `json:"name"`
			FilterChains []struct {
				Filters []struct {
					TypedConfig struct {
						HTTPFilters []struct {
							Name        string `json:"name"`
							TypedConfig struct {
								Rules struct {
									Action   string `json:"action"`
									Policies map[string]struct {
										Principals []struct {
											Authenticated struct {
												PrincipalName struct {
													Exact string `json:"exact"`
												} `json:"principal_name"`
											} `json:"authenticated"`
										} `json:"principals"`
									} `json:"policies"`
								} `json:"rules"`
							} `json:"typed_config"`
						} `json:"http_filters"`
					} `json:"typed_config"`
				} `json:"filters"`
				TransportSocket *transportSocket `json:"transport_socket"`
			} `json:"filter_chains"`
		} `json:"listeners"`
		Clusters []struct {
			Name            string           `json:"name"`
			TransportSocket *transportSocket `json:"transport_socket"`
		} `json:"clusters"`
	} `json:"static_resources"`
}

type transportSocket struct {
	TypedConfig struct {
		Type                     string `json:"@type"`
		RequireClientCertificate bool   `json:"require_client_certificate"`
		CommonTLSContext         struct {
			TLSParams struct {
				Min string `json:"tls_minimum_protocol_version"`
				Max string `json:"tls_maximum_protocol_version"`
			} `json:"tls_params"`
			CombinedValidationContext *struct {
				DefaultValidationContext struct {
					MatchTypedSubjectAltNames []struct {
						SanType string `json:"san_type"`
						Matcher struct {
							Exact string `json:"exact"`
						} `json:"matcher"`
					} `json:"match_typed_subject_alt_names"`
				} `json:"default_validation_context"`
			} `json:"combined_validation_context"`
		} `json:"common_tls_context"`
	} `json:"typed_config"`
}

// What mtls wires, in every scenario: a ServiceAccount per workload used by
// its pods; with mtls, each Envoy pod's Secret volume (0440, read-only, in
// the Envoy container only), each server's RBAC admitting exactly its
// callers, each caller's TLS checking the callee's SPIFFE ID at TLS 1.3,
// and certgen's Job issuing exactly the Secrets and identities the pods
// use. Without mtls, none of it.
func TestMTLSWiring(t *testing.T) {
	forEach(t, func(t *testing.T, s scenario, rel *render.Release) {
		td := s.clusterDomain
		if slices.Contains(s.opts.Set, "mtls.trustDomain=mesh.example.org") {
			td = "mesh.example.org"
		}
		wantLeaves := map[string]string{} // Secret -> SPIFFE ID, from the pods
		for _, c := range []string{"frontend", "user", "order", "item", "ingress"} {
			spec := deployment(t, rel, c).Spec.Template.Spec
			if spec.ServiceAccountName != rel.Name(c) {
				t.Errorf("%s runs as ServiceAccount %q, want %s", c, spec.ServiceAccountName, rel.Name(c))
			}
			secret := mtlsSecretOf(t, rel, c)
			hasEnvoy := s.mesh || c == "ingress"
			if (secret != "") != (s.mtls && hasEnvoy) {
				t.Errorf("%s: mTLS Secret volume %q with mtls=%v", c, secret, s.mtls)
				continue
			}
			if secret == "" {
				continue
			}
			wantLeaves[secret] = spiffeID(s, rel, c, td)
			for _, v := range spec.Volumes {
				if v.Name == "mtls" && (v.Secret.DefaultMode == nil || *v.Secret.DefaultMode != 0o440) {
					mode := "unset"
					if v.Secret.DefaultMode != nil {
						mode = fmt.Sprintf("%#o", *v.Secret.DefaultMode)
					}
					t.Errorf("%s: Secret volume mode %s, want 0440", c, mode)
				}
			}
			if spec.SecurityContext.FSGroup == nil || *spec.SecurityContext.FSGroup != *spec.SecurityContext.RunAsGroup {
				t.Errorf("%s: fsGroup %v is not Envoy's group: Envoy could not read its key", c, spec.SecurityContext.FSGroup)
			}
			for _, ctr := range append(slices.Clone(spec.InitContainers), spec.Containers...) {
				for _, m := range ctr.VolumeMounts {
					if m.Name != "mtls" {
						continue
					}
					if ctr.Name != "envoy" || !m.ReadOnly || m.MountPath != podMTLSDir {
						t.Errorf("%s/%s mounts the mTLS Secret at %s (readOnly %v): only Envoy, read-only, at %s", c, ctr.Name, m.MountPath, m.ReadOnly, podMTLSDir)
					}
				}
			}
		}
		for _, c := range []string{"frontend", "user", "order", "item", "ingress"} {
			o, ok := rel.Find("ServiceAccount", rel.Name(c))
			if !ok {
				t.Errorf("no ServiceAccount %s", rel.Name(c))
				continue
			}
			obj, err := o.Decode()
			if err != nil {
				t.Fatal(err)
			}
			if sa := obj.(*corev1.ServiceAccount); sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
				t.Errorf("workload ServiceAccount %s mounts a token by default", sa.Name)
			}
		}

		files, err := rel.EnvoyFiles()
		if err != nil {
			t.Fatal(err)
		}
		for c, f := range files {
			if _, ok := f["sds-certificate.yaml"]; ok != s.mtls {
				t.Errorf("%s: SDS files %v with mtls=%v", c, ok, s.mtls)
			}
			var b mtlsBootstrap
			if err := yaml.Unmarshal([]byte(f["envoy.yaml"]), &b); err != nil {
				t.Fatal(err)
			}
			for _, l := range b.StaticResources.Listeners {
				ts := l.FilterChains[0].TransportSocket
				filters := l.FilterChains[0].Filters[0].TypedConfig.HTTPFilters
				serverTLS := s.mtls && l.Name == "inbound"
				if (ts != nil) != serverTLS {
					t.Errorf("%s: listener %s TLS %v, want %v", c, l.Name, ts != nil, serverTLS)
				}
				if !serverTLS {
					for _, f := range filters {
						if f.Name == "envoy.filters.http.rbac" {
							t.Errorf("%s: listener %s has an RBAC filter", c, l.Name)
						}
					}
					continue
				}
				tc := ts.TypedConfig
				if !tc.RequireClientCertificate || tc.CommonTLSContext.TLSParams.Min != "TLSv1_3" || tc.CommonTLSContext.TLSParams.Max != "TLSv1_3" {
					t.Errorf("%s: inbound TLS %+v, want TLS 1.3 and client certificates", c, tc)
				}
				if len(filters) == 0 || filters[0].Name != "envoy.filters.http.rbac" || filters[0].TypedConfig.Rules.Action != "ALLOW" {
					t.Errorf("%s: the inbound listener's first filter is not an ALLOW RBAC", c)
					continue
				}
				var got, want []string
				for _, p := range filters[0].TypedConfig.Rules.Policies {
					for _, pr := range p.Principals {
						got = append(got, pr.Authenticated.PrincipalName.Exact)
					}
				}
				for _, caller := range callers[c] {
					want = append(want, spiffeID(s, rel, caller, td))
				}
				slices.Sort(got)
				if !slices.Equal(got, want) {
					t.Errorf("%s admits %v, want %v", c, got, want)
				}
			}
			for _, cl := range b.StaticResources.Clusters {
				peer := slices.Contains(callers[cl.Name], c)
				if (cl.TransportSocket != nil) != (s.mtls && peer) {
					t.Errorf("%s: cluster %s TLS %v with mtls=%v", c, cl.Name, cl.TransportSocket != nil, s.mtls)
					continue
				}
				if cl.TransportSocket == nil {
					continue
				}
				cv := cl.TransportSocket.TypedConfig.CommonTLSContext.CombinedValidationContext
				if cv == nil || len(cv.DefaultValidationContext.MatchTypedSubjectAltNames) != 1 ||
					cv.DefaultValidationContext.MatchTypedSubjectAltNames[0].SanType != "URI" ||
					cv.DefaultValidationContext.MatchTypedSubjectAltNames[0].Matcher.Exact != spiffeID(s, rel, cl.Name, td) {
					t.Errorf("%s: cluster %s does not check the server is %s: %+v", c, cl.Name, spiffeID(s, rel, cl.Name, td), cv)
				}
			}
		}

		// certgen: the Job issues exactly what the pods mount.
		job, hasJob := rel.Find("Job", rel.Name("certgen"))
		if hasJob != (s.mtls && !s.certManager) {
			t.Fatalf("certgen Job %v with mtls=%v certManager=%v", hasJob, s.mtls, s.certManager)
		}
		if !hasJob {
			return
		}
		if !strings.Contains(string(job.YAML), "helm.sh/hook: pre-install,pre-upgrade") {
			t.Error("the certgen Job is not a pre-install,pre-upgrade hook")
		}
		cmd, err := certgen.ParseArgs(jobPodSpec(t, job).Containers[0].Args)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, l := range cmd.Config.Leaves {
			got[l.Secret] = l.SPIFFEID
		}
		if fmt.Sprint(got) != fmt.Sprint(wantLeaves) {
			t.Errorf("certgen issues %v, the pods mount %v", got, wantLeaves)
		}
		if cmd.Config.Namespace != s.namespace() || cmd.Config.CASecret != rel.Name("mtls-ca") || cmd.Config.Labels["app.kubernetes.io/component"] != "mtls" {
			t.Errorf("certgen config %+v", cmd.Config)
		}
		del, ok := rel.Find("Job", rel.Name("certgen-delete"))
		if !ok || !strings.Contains(string(del.YAML), "helm.sh/hook: post-delete") {
			t.Fatal("no post-delete certgen Job")
		}
		dcmd, err := certgen.ParseArgs(jobPodSpec(t, del).Containers[0].Args)
		if err != nil {
			t.Fatal(err)
		}
		// The delete Job deletes the CA Secret the issue Job keeps; its
		// leaves go with it (owner references, internal/certgen).
		if dcmd.Config.CASecret != cmd.Config.CASecret {
			t.Errorf("delete --ca-secret %s, issue's %s", dcmd.Config.CASecret, cmd.Config.CASecret)
		}
		// Least privilege: Secrets only; create (which reads nothing) with
		// no names; get and update on exactly the Secrets certgen issues;
		// delete on the CA Secret alone; no list, watch, patch or wildcard.
		o, _ := rel.Find("Role", rel.Name("certgen"))
		obj, err := o.Decode()
		if err != nil {
			t.Fatal(err)
		}
		managed := []string{cmd.Config.CASecret}
		for _, l := range cmd.Config.Leaves {
			managed = append(managed, l.Secret)
		}
		slices.Sort(managed)
		rights := map[string][]string{} // verb -> names ("" for any)
		for _, rule := range obj.(*rbacv1.Role).Rules {
			if !slices.Equal(rule.Resources, []string{"secrets"}) || !slices.Equal(rule.APIGroups, []string{""}) {
				t.Errorf("certgen Role rule %+v: Secrets of the core group only", rule)
			}
			for _, v := range rule.Verbs {
				names := slices.Clone(rule.ResourceNames)
				if len(names) == 0 {
					names = []string{""}
				}
				rights[v] = append(rights[v], names...)
			}
		}
		for v := range rights {
			slices.Sort(rights[v])
		}
		want := map[string][]string{"create": {""}, "get": managed, "update": managed, "delete": {cmd.Config.CASecret}}
		if fmt.Sprint(rights) != fmt.Sprint(want) {
			t.Errorf("certgen may %v, want %v", rights, want)
		}
	})
}

// cert-manager mode: one Certificate per workload, into the Secret its pods
// mount, with its SPIFFE ID, the lifetime, renewal at half of it, ECDSA
// P-256 keys rotated each time, both TLS usages, and the issuer given.
func TestMTLSCertManager(t *testing.T) {
	s := scenarioNamed(t, "mtls-cert-manager")
	rel := renderScenario(t, s)
	certs := rel.OfKind("Certificate")
	if len(certs) != 5 {
		t.Fatalf("%d Certificates, want 5", len(certs))
	}
	for _, c := range []string{"frontend", "user", "order", "item", "ingress"} {
		o, ok := rel.Find("Certificate", rel.Name(c+"-mtls"))
		if !ok {
			t.Errorf("no Certificate for %s", c)
			continue
		}
		if o.APIVersion != certManagerAPI {
			t.Errorf("%s: apiVersion %s", o.Name, o.APIVersion)
		}
		var cert certificate
		if err := yaml.Unmarshal(o.YAML, &cert); err != nil {
			t.Fatal(err)
		}
		sp := cert.Spec
		if sp.SecretName != mtlsSecretOf(t, rel, c) {
			t.Errorf("%s: secretName %s, the pods mount %s", c, sp.SecretName, mtlsSecretOf(t, rel, c))
		}
		if !slices.Equal(sp.URIs, []string{spiffeID(s, rel, c, "cluster.local")}) {
			t.Errorf("%s: uris %v", c, sp.URIs)
		}
		if sp.Duration != "24h" || sp.RenewBefore != "720m" {
			t.Errorf("%s: duration %s renewBefore %s, want 24h and half of it", c, sp.Duration, sp.RenewBefore)
		}
		if sp.PrivateKey.Algorithm != "ECDSA" || sp.PrivateKey.Size != 256 || sp.PrivateKey.RotationPolicy != "Always" {
			t.Errorf("%s: privateKey %+v", c, sp.PrivateKey)
		}
		if !slices.Equal(sp.Usages, []string{"digital signature", "server auth", "client auth"}) {
			t.Errorf("%s: usages %v", c, sp.Usages)
		}
		if fmt.Sprint(sp.IssuerRef) != "map[group:cert-manager.io kind:ClusterIssuer name:mesh-ca]" {
			t.Errorf("%s: issuerRef %v", c, sp.IssuerRef)
		}
	}
	for _, kind := range []string{"Job", "Role", "RoleBinding"} {
		if len(rel.OfKind(kind)) != map[string]int{"Job": 0, "Role": 1, "RoleBinding": 1}[kind] {
			t.Errorf("%d %s objects in cert-manager mode (Prometheus's Role and RoleBinding only)", len(rel.OfKind(kind)), kind)
		}
	}
}
