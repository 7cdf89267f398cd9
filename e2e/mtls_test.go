//go:build e2e

package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/envoy-example/envoy-example/internal/envoyproc"
	"github.com/envoy-example/envoy-example/internal/fortio"
	"github.com/envoy-example/envoy-example/internal/kube"
	userv1 "github.com/envoy-example/envoy-example/protos/user/v1"
)

// Mutual TLS (docs/mutual-tls.md): every hop between sidecars is mTLS with
// SPIFFE identities that certgen issues into Secrets (the chart's
// default), and Envoy reads them through file-based SDS.

// mtlsState is the state of steps 11-13: two pods of everything, mTLS on,
// as step 10 leaves the release.
func mtlsState() map[string]string {
	return atTwoPods(map[string]string{"metrics.mode": "prometheus"})
}

// 11-mtls-renewal-under-load: mtlsRenewal renews every certificate with `helm upgrade --set
// mtls.rotation=...` under the e2e's load: no request may fail, every
// Envoy must end up serving its Secret's new certificate (read from its
// admin /certs), and no pod may restart or be replaced: the kubelet
// updates the mounted Secret and Envoy's SDS watch reloads it.
func mtlsRenewalStep(t *testing.T, r *release) {
	r.ensure(t, mtlsState())
	type envoyCert struct {
		pod       corev1.Pod
		admin     string
		before    string
		component string
	}
	var envoys []*envoyCert
	for _, c := range workloads {
		pods, err := r.k.ReadyPods(r.ctx, r.s.namespace, r.selector(c))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pods {
			e := &envoyCert{pod: p, component: c, admin: forward(t, r.ctx, r.k, r.s.namespace, p.Name, port("envoyAdmin"))}
			if e.before, err = servedSerial(e.admin); err != nil {
				t.Fatalf("%s: %v", p.Name, err)
			}
			envoys = append(envoys, e)
		}
	}
	r.underLoad(t, fmt.Sprintf("renew every certificate (helm upgrade, mtls.rotation; %d Envoys)", len(envoys)), func(t *testing.T) {
		r.upgrade(t, "--set", fmt.Sprintf("mtls.rotation=e2e-%d", time.Now().Unix()))
		// The kubelet refreshes a mounted Secret within its sync period
		// (a minute by default) plus its cache's lifetime.
		eventually(t, r.ctx, 3*time.Minute, "every Envoy serving its Secret's new certificate", func() error {
			var stale []string
			for _, e := range envoys {
				want, err := secretSerial(r.ctx, r.k, r.s.namespace, r.s.release+"-"+e.component+"-mtls")
				if err != nil {
					return err
				}
				if want == e.before {
					return fmt.Errorf("the Secret of %s still holds serial %s: certgen did not renew it", e.component, want)
				}
				got, err := servedSerial(e.admin)
				if err != nil {
					return fmt.Errorf("%s: %v", e.pod.Name, err)
				}
				if got != want {
					stale = append(stale, fmt.Sprintf("%s serves %s, its Secret holds %s", e.pod.Name, got, want))
				}
			}
			if len(stale) > 0 {
				return errors.New(strings.Join(stale, "; "))
			}
			return nil
		})
	})
	for _, e := range envoys {
		now, err := r.k.Clientset.CoreV1().Pods(r.s.namespace).Get(r.ctx, e.pod.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("%s after the renewal: %v", e.pod.Name, err)
		}
		if now.UID != e.pod.UID || restarts(*now) != restarts(e.pod) {
			t.Fatalf("%s was restarted or replaced by the renewal (restarts %d -> %d)", e.pod.Name, restarts(e.pod), restarts(*now))
		}
	}
	e := envoys[0]
	after, _ := servedSerial(e.admin)
	t.Logf("every one of %d Envoys serves a new certificate, no pod restarted (e.g. %s: serial %s -> %s)", len(envoys), e.pod.Name, e.before, after)
}

// 12-mtls-wrong-identity-refused: mtlsRefused calls user's pod directly, the way a workload that is not
// one of user's callers would, and requires each to be refused: from the
// fortio pod in plain HTTP and in TLS without a certificate, and over a
// port-forward with item's certificate (a mesh identity, but not
// frontend's); frontend's certificate, over the same path, is admitted.
// Then authorization per method: through a frontend pod's Envoy,
// ListUsers passes and DeleteUser (a method frontend's calls do not name
// in values.yaml) is refused with PERMISSION_DENIED. Last, the API server
// says the certgen hook's Role cannot read the Helm release record.
func mtlsRefusedStep(t *testing.T, r *release) {
	r.ensure(t, mtlsState())
	pods, err := r.k.ReadyPods(r.ctx, r.s.namespace, r.selector("user"))
	if err != nil || len(pods) == 0 {
		t.Fatalf("user pods: %v (%d)", err, len(pods))
	}
	user := pods[0]
	for _, target := range []string{fmt.Sprintf("http://%s:%d/", user.Status.PodIP, port("service")), fmt.Sprintf("https://%s:%d/", user.Status.PodIP, port("service"))} {
		codes, err := fortioOnce(r.ctx, r.load(t), target)
		if err != nil {
			t.Fatal(err)
		}
		if len(codes) != 1 || codes["-1"] == 0 {
			t.Fatalf("the fortio pod calling %s got %v, want only failed connections", target, codes)
		}
		t.Logf("the fortio pod (no certificate) calling %s: every call refused %v", target, codes)
	}

	admin := forward(t, r.ctx, r.k, r.s.namespace, user.Name, port("envoyAdmin"))
	deniedBefore, err := envoyproc.Stat(admin, "http.inbound.rbac.denied")
	if err != nil {
		deniedBefore = 0 // Envoy has no such stat until the first denial
	}
	inbound := forward(t, r.ctx, r.k, r.s.namespace, user.Name, port("service"))
	userCert, _, _, err := secretKeyPair(r.ctx, r.k, r.s.namespace, r.s.release+"-user-mtls")
	if err != nil || len(userCert.URIs) != 1 {
		t.Fatalf("user's certificate: %v (URIs %v)", err, userCert.URIs)
	}
	userID := userCert.URIs[0].String()
	for _, caller := range []struct {
		component string
		want      codes.Code
	}{{"item", codes.PermissionDenied}, {"frontend", codes.OK}} {
		err := listUsersAs(r.ctx, r.k, r.s, inbound, caller.component, userID)
		if status.Code(err) != caller.want {
			t.Fatalf("ListUsers on %s with %s's certificate: %v, want %s", user.Name, caller.component, err, caller.want)
		}
		t.Logf("ListUsers on %s with %s's certificate: %s %s", user.Name, caller.component, status.Code(err), status.Convert(err).Message())
	}
	denied, err := envoyproc.Stat(admin, "http.inbound.rbac.denied")
	if err != nil || denied != deniedBefore+1 {
		t.Fatalf("user's Envoy counts %d RBAC denials (%v), want %d", denied, err, deniedBefore+1)
	}
	t.Logf("user's Envoy: http.inbound.rbac.denied %d -> %d", deniedBefore, denied)

	// Per-method authorization: frontend, an allowed caller of user, may
	// call the methods its calls name in values.yaml (ListUsers, GetUser),
	// and no other. Through a frontend pod's own Envoy (its egress
	// listener, port-forwarded), as the frontend app would call.
	frontends, err := r.k.ReadyPods(r.ctx, r.s.namespace, r.selector("frontend"))
	if err != nil || len(frontends) == 0 {
		t.Fatalf("frontend pods: %v (%d)", err, len(frontends))
	}
	deniedOnUsers := func() int64 {
		var sum int64
		for _, p := range pods {
			n, err := envoyproc.Stat(forward(t, r.ctx, r.k, r.s.namespace, p.Name, port("envoyAdmin")), "http.inbound.rbac.denied")
			if err == nil {
				sum += n
			}
		}
		return sum
	}
	before := deniedOnUsers()
	egress, err := grpc.NewClient(forward(t, r.ctx, r.k, r.s.namespace, frontends[0].Name, port("egress")), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer egress.Close()
	users := userv1.NewUserServiceClient(egress)
	cctx, cancel := context.WithTimeout(r.ctx, 10*time.Second)
	defer cancel()
	if _, err := users.ListUsers(cctx, &userv1.ListUsersRequest{}); err != nil {
		t.Fatalf("ListUsers through %s's Envoy: %v", frontends[0].Name, err)
	}
	_, err = users.DeleteUser(cctx, &userv1.DeleteUserRequest{Id: 1})
	if status.Code(err) != codes.PermissionDenied {
		t.Fatalf("DeleteUser through %s's Envoy: %v, want PERMISSION_DENIED", frontends[0].Name, err)
	}
	if after := deniedOnUsers(); after != before+1 {
		t.Fatalf("user's Envoys count %d RBAC denials, want %d", after, before+1)
	}
	t.Logf("through %s's Envoy: ListUsers OK, DeleteUser %s %s (user's Envoys: rbac.denied +1)", frontends[0].Name, status.Code(err), status.Convert(err).Message())

	// The certificate hook's own reach (certgenrbac_test.go).
	certgenMayNotReadOthers(t, r)
}

// 13-mtls-off-and-on-under-load: mtlsOffAndOn turns mTLS off (the chart's
// values file for it, charts/envoy-example/ci/mesh-plaintext-values.yaml)
// and on again (--set mtls.enabled=true) with `helm upgrade`, each under
// the e2e's load, and reports what the rolling update loses: while old
// and new pods coexist, a plain caller cannot reach a TLS server nor the
// other way round (the chart has no permissive mode), so calls fail until
// every workload has rolled. docs/mutual-tls.md quotes these figures.
// After each switch the user pod must answer plain HTTP, then refuse it.
func mtlsOffAndOnStep(t *testing.T, r *release) {
	r.ensure(t, mtlsState())
	user := func() string {
		pods, err := r.k.ReadyPods(r.ctx, r.s.namespace, r.selector("user"))
		if err != nil || len(pods) == 0 {
			t.Fatalf("user pods: %v (%d)", err, len(pods))
		}
		return fmt.Sprintf("http://%s:%d/", pods[0].Status.PodIP, port("service"))
	}
	off := r.measure(t, "mTLS on -> off (helm upgrade, 2 pods)", func(t *testing.T) {
		r.change(t, r.ciValues(t, "mesh-plaintext-values.yaml")...)
	})
	if codes, err := fortioOnce(r.ctx, r.load(t), user()); err != nil || codes["-1"] > 0 {
		t.Fatalf("with mTLS off, user's Envoy should answer plain HTTP: %v %v", codes, err)
	}
	on := r.measure(t, "mTLS off -> on (helm upgrade, 2 pods)", func(t *testing.T) {
		r.change(t, "--set", "mtls.enabled=true")
	})
	if codes, err := fortioOnce(r.ctx, r.load(t), user()); err != nil || len(codes) != 1 || codes["-1"] == 0 {
		t.Fatalf("with mTLS on again, user's Envoy should refuse plain HTTP: %v %v", codes, err)
	}
	line := fmt.Sprintf("switching mTLS under load loses requests while old and new pods coexist: off %d of %d, on %d of %d",
		off.failed, off.sent, on.failed, on.sent)
	fmt.Println("e2e: " + line)
	t.Log(line)
}

// servedSerial reads an Envoy's admin /certs and returns the serial of
// the workload certificate it presents: the one with a SPIFFE URI SAN,
// the same wherever it is used (inbound listener, every upstream).
func servedSerial(admin string) (string, error) {
	resp, err := httpClient.Get("http://" + admin + "/certs")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var body struct {
		Certificates []struct {
			CertChain []struct {
				SerialNumber    string `json:"serial_number"`
				SubjectAltNames []struct {
					URI string `json:"uri"`
				} `json:"subject_alt_names"`
			} `json:"cert_chain"`
		} `json:"certificates"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return "", fmt.Errorf("/certs: %v", err)
	}
	serials := map[string]bool{}
	for _, c := range body.Certificates {
		for _, cert := range c.CertChain {
			for _, san := range cert.SubjectAltNames {
				if strings.HasPrefix(san.URI, "spiffe://") {
					serials[strings.TrimLeft(cert.SerialNumber, "0")] = true
				}
			}
		}
	}
	if len(serials) != 1 {
		return "", fmt.Errorf("/certs shows %d workload certificates %v, want 1", len(serials), keys(serials))
	}
	for s := range serials {
		return s, nil
	}
	return "", nil
}

// secretSerial is the serial of the certificate in a Secret's tls.crt.
func secretSerial(ctx context.Context, k *kube.Client, namespace, name string) (string, error) {
	cert, _, _, err := secretKeyPair(ctx, k, namespace, name)
	if err != nil {
		return "", err
	}
	return strings.TrimLeft(cert.SerialNumber.Text(16), "0"), nil
}

// secretKeyPair reads a workload Secret: its certificate, the key pair
// for a TLS client, and its CA.
func secretKeyPair(ctx context.Context, k *kube.Client, namespace, name string) (*x509.Certificate, tls.Certificate, *x509.CertPool, error) {
	s, err := k.Clientset.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, tls.Certificate{}, nil, err
	}
	block, _ := pem.Decode(s.Data["tls.crt"])
	if block == nil {
		return nil, tls.Certificate{}, nil, fmt.Errorf("secret %s: no PEM in tls.crt", name)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, tls.Certificate{}, nil, fmt.Errorf("secret %s: %v", name, err)
	}
	pair, err := tls.X509KeyPair(s.Data["tls.crt"], s.Data["tls.key"])
	if err != nil {
		return nil, tls.Certificate{}, nil, fmt.Errorf("secret %s: %v", name, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(s.Data["ca.crt"]) {
		return nil, tls.Certificate{}, nil, fmt.Errorf("secret %s: no CA in ca.crt", name)
	}
	return cert, pair, pool, nil
}

// listUsersAs calls user.v1.UserService/ListUsers at addr (user's inbound
// listener, through a port-forward) presenting component's certificate,
// and checks, as every caller's Envoy does, that the server is serverID.
func listUsersAs(ctx context.Context, k *kube.Client, s settings, addr, component, serverID string) error {
	_, pair, pool, err := secretKeyPair(ctx, k, s.namespace, s.release+"-"+component+"-mtls")
	if err != nil {
		return err
	}
	creds := credentials.NewTLS(&tls.Config{
		Certificates: []tls.Certificate{pair},
		MinVersion:   tls.VersionTLS13,
		// SPIFFE certificates name a workload, not a host: verify the
		// chain and the URI SAN instead of a host name.
		InsecureSkipVerify: true,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			return verifySPIFFE(raw, pool, serverID)
		},
	})
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		return err
	}
	defer conn.Close()
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err = userv1.NewUserServiceClient(conn).ListUsers(cctx, &userv1.ListUsersRequest{})
	return err
}

// verifySPIFFE checks a peer's chain against the CA and its URI SAN.
func verifySPIFFE(raw [][]byte, roots *x509.CertPool, want string) error {
	if len(raw) == 0 {
		return errors.New("no server certificate")
	}
	leaf, err := x509.ParseCertificate(raw[0])
	if err != nil {
		return err
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		return err
	}
	for _, u := range leaf.URIs {
		if u.String() == want {
			return nil
		}
	}
	return fmt.Errorf("server certificate names %v, want %s", leaf.URIs, want)
}

// fortioOnce sends 3 requests from the e2e's fortio pod to target and
// returns fortio's answers by code ("-1": the connection failed).
func fortioOnce(ctx context.Context, l *loader, target string) (map[string]int64, error) {
	q := url.Values{}
	q.Set("url", target)
	q.Set("n", "3")
	q.Set("c", "1")
	q.Set("qps", "-1")
	q.Set("timeout", "5s")
	q.Set("https-insecure", "on") // no server check: the point is the client's missing certificate
	raw, err := l.k.PodGet(ctx, l.namespace, l.pod, kube.FortioPort, "fortio/rest/run", q)
	if err != nil {
		return nil, fmt.Errorf("fortio run against %s: %w", target, err)
	}
	res, err := fortio.Parse(strings.NewReader(string(raw)))
	if err != nil {
		return nil, fmt.Errorf("fortio run against %s: %v (%s)", target, err, raw)
	}
	return res.RetCodes, nil
}

// restarts sums the restarts of a pod's containers and native sidecars.
func restarts(p corev1.Pod) int32 {
	var n int32
	for _, c := range append(append([]corev1.ContainerStatus(nil), p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
		n += c.RestartCount
	}
	return n
}
