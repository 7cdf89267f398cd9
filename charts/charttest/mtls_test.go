package charttest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/envoy-example/envoy-example/charts/render"
	"github.com/envoy-example/envoy-example/internal/certgen"
	"github.com/envoy-example/envoy-example/internal/envoyproc"
	"github.com/envoy-example/envoy-example/internal/envoyproc/envoytest"
	userv1 "github.com/envoy-example/envoy-example/protos/user/v1"
	"github.com/envoy-example/envoy-example/services/user/userservice"
)

// The server's loopback address: the caller's Envoy keeps the rendered
// ports on 127.0.0.1, the server's Envoy gets the same ports on 127.0.0.2.
const serverIP = "127.0.0.2"

// TestMTLSWithRealEnvoys runs two Envoys on loopback on the chart's
// rendered configs (default values, mtls on, faster health checks) with
// the certificates certgen's package makes from the rendered certgen Job's
// arguments, laid out as the kubelet mounts the Secrets:
//
//	frontend's Envoy (127.0.0.1)  egress :7070 -> cluster user (mTLS)
//	user's Envoy     (127.0.0.2)  inbound :8080 (mTLS, RBAC) -> a real user server on 127.0.0.2:9090
//
// The only changes to the rendered YAML trees (besides localize's paths):
// every address of user's Envoy moves from 0.0.0.0 and 127.0.0.1 to
// 127.0.0.2, and the user cluster of frontend's Envoy names 127.0.0.2
// instead of the Service's DNS name (order's, with no server here, names
// 127.0.0.3, so that no DNS lookup holds up the start).
//
// It checks, in order: (a) frontend's calls to user succeed, health checks
// included; (b) a caller presenting item's certificate is refused with
// PERMISSION_DENIED, counted in user's http.inbound.rbac.denied; (c) a
// client without a certificate is refused at the handshake; (e) user's
// certificate renewed on disk the kubelet's way under continuous calls
// fails none, and user's admin /certs shows the new serial; (d) user's
// Envoy given order's certificate is refused by frontend's Envoy
// (cluster.user.ssl.fail_verify_san) and the call fails UNAVAILABLE;
// (f) frontend calling a method of user that its calls do not name
// (DeleteUser) is refused with PERMISSION_DENIED, counted in rbac.denied.
func TestMTLSWithRealEnvoys(t *testing.T) {
	envoyPath := envoytest.Pinned(t)
	requirePortsFree(t)
	for _, p := range []string{"8080", "7070", "15021", "9901", "9090"} {
		l, err := net.Listen("tcp", net.JoinHostPort(serverIP, p))
		if err != nil {
			t.Fatalf("%s:%s is taken (%v)", serverIP, p, err)
		}
		l.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	s := base("mtls-loopback")
	s.opts.Set = []string{"jaeger.enabled=false", "envoy.healthCheck.interval=1s", "envoy.healthCheck.noTrafficInterval=1s"}
	rel := renderScenario(t, s)
	issuer := newMTLSIssuer(t, rel)
	secrets := issuer.issue(t)
	secretOf := func(component string) *corev1.Secret { return secrets[mtlsSecretOf(t, rel, component)] }

	// The user app: the real user service, and gRPC health, on 127.0.0.2:9090.
	startUserApp(t)

	// user's Envoy, moved to 127.0.0.2.
	serverDir := t.TempDir()
	serverCfg, serverMTLS := envoyOnDisk(t, rel, "user", serverDir, secrets)
	rewriteFile(t, serverCfg, func(tree map[string]any) { moveAddresses(tree, serverIP) })
	startServer := func() *envoyproc.Process {
		p, err := envoyproc.Start(ctx, envoyPath, envoyproc.Options{ConfigPath: serverCfg, Args: runArgs(t, envoyContainer(t, rel, "user"), "demo-user-mtls-test")})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	server := startServer()
	defer func() { server.Stop() }()
	serverAdmin := "http://" + server.AdminAddr

	// frontend's Envoy, its user cluster pointed at 127.0.0.2.
	callerCfg, _ := envoyOnDisk(t, rel, "frontend", t.TempDir(), secrets)
	rewriteFile(t, callerCfg, func(tree map[string]any) {
		setClusterAddress(t, tree, "user", serverIP)
		setClusterAddress(t, tree, "order", "127.0.0.3")
	})
	caller, err := envoyproc.Start(ctx, envoyPath, envoyproc.Options{ConfigPath: callerCfg, Args: runArgs(t, envoyContainer(t, rel, "frontend"), "demo-frontend-mtls-test")})
	if err != nil {
		t.Fatal(err)
	}
	defer caller.Stop()
	callerAdmin := "http://" + caller.AdminAddr

	egress, err := grpc.NewClient("127.0.0.1:7070", grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer egress.Close()
	users := userv1.NewUserServiceClient(egress)
	call := func() error {
		callCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_, err := users.GetUser(callCtx, &userv1.GetUserRequest{Id: 1})
		return err
	}

	t.Run("a-frontend-calls-user", func(t *testing.T) {
		// The health checks pass through the same TLS and RBAC.
		waitHealthy(t, ctx, callerAdmin, "user", serverIP+":8080")
		for i := 0; i < 20; i++ {
			if err := call(); err != nil {
				t.Fatalf("call %d through frontend's Envoy: %v", i, err)
			}
		}
		if n := stat(t, serverAdmin, "http.inbound.rbac.allowed"); n < 20 {
			t.Errorf("http.inbound.rbac.allowed = %d after 20 calls and health checks", n)
		}
		if n := stat(t, callerAdmin, "cluster.user.ssl.handshake"); n < 1 {
			t.Errorf("cluster.user.ssl.handshake = %d: the hop was not TLS", n)
		}
	})

	serverCA := x509.NewCertPool()
	serverCA.AppendCertsFromPEM(secretOf("user").Data[certgen.CAKey])
	dialAs := func(t *testing.T, component string) *grpc.ClientConn {
		cfg := &tls.Config{RootCAs: serverCA, ServerName: "user", NextProtos: []string{"h2"},
			// The server's name is its SPIFFE ID, not a DNS name: the
			// chain is checked, and the SAN below.
			InsecureSkipVerify: true,
			VerifyConnection: func(cs tls.ConnectionState) error {
				opts := x509.VerifyOptions{Roots: serverCA}
				if _, err := cs.PeerCertificates[0].Verify(opts); err != nil {
					return err
				}
				if got := cs.PeerCertificates[0].URIs; len(got) != 1 || !strings.HasSuffix(got[0].String(), "/sa/demo-user") {
					return fmt.Errorf("server SAN %v", got)
				}
				return nil
			}}
		if component != "" {
			pair, err := tls.X509KeyPair(secretOf(component).Data[certgen.CertKey], secretOf(component).Data[certgen.KeyKey])
			if err != nil {
				t.Fatal(err)
			}
			cfg.Certificates = []tls.Certificate{pair}
		}
		conn, err := grpc.NewClient(serverIP+":8080", grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return conn
	}

	t.Run("item-is-not-a-caller-of-user", func(t *testing.T) {
		before := stat(t, serverAdmin, "http.inbound.rbac.denied")
		_, err := userv1.NewUserServiceClient(dialAs(t, "item")).GetUser(ctx, &userv1.GetUserRequest{Id: 1})
		if status.Code(err) != codes.PermissionDenied {
			t.Fatalf("item's certificate calling user: %v, want PERMISSION_DENIED", err)
		}
		if n := stat(t, serverAdmin, "http.inbound.rbac.denied"); n != before+1 {
			t.Errorf("http.inbound.rbac.denied went from %d to %d, want +1", before, n)
		}
		t.Logf("item calling user: %v", err)
	})

	// Per-method authorization: frontend may call the methods its calls
	// name in values.yaml (ListUsers, GetUser), not the others.
	t.Run("f-frontend-may-not-delete-users", func(t *testing.T) {
		before := stat(t, serverAdmin, "http.inbound.rbac.denied")
		_, err := users.DeleteUser(ctx, &userv1.DeleteUserRequest{Id: 1})
		if status.Code(err) != codes.PermissionDenied {
			t.Fatalf("frontend calling user's DeleteUser: %v, want PERMISSION_DENIED", err)
		}
		if n := stat(t, serverAdmin, "http.inbound.rbac.denied"); n != before+1 {
			t.Errorf("http.inbound.rbac.denied went from %d to %d, want +1", before, n)
		}
		if _, err := users.ListUsers(ctx, &userv1.ListUsersRequest{}); err != nil {
			t.Errorf("frontend calling user's ListUsers: %v", err)
		}
		t.Logf("frontend calling user's DeleteUser: %v", err)
	})

	t.Run("no-client-certificate", func(t *testing.T) {
		before := stat(t, serverAdmin, "listener."+serverIP+"_8080.ssl.fail_verify_no_cert")
		conn, err := tls.Dial("tcp", serverIP+":8080", &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
		if err == nil {
			// TLS 1.3: the server's refusal arrives after the client's
			// side of the handshake, at the first read.
			conn.SetDeadline(time.Now().Add(5 * time.Second))
			_, err = conn.Read(make([]byte, 1))
			conn.Close()
		}
		if err == nil || !strings.Contains(err.Error(), "certificate required") {
			t.Fatalf("a client without a certificate: %v, want the server's certificate-required alert", err)
		}
		if _, err := userv1.NewUserServiceClient(dialAs(t, "")).GetUser(ctx, &userv1.GetUserRequest{Id: 1}); status.Code(err) != codes.Unavailable {
			t.Errorf("a gRPC call without a certificate: %v, want UNAVAILABLE", err)
		}
		if n := stat(t, serverAdmin, "listener."+serverIP+"_8080.ssl.fail_verify_no_cert"); n < before+1 {
			t.Errorf("ssl.fail_verify_no_cert went from %d to %d", before, n)
		}
	})

	t.Run("renewed-on-disk-under-load", func(t *testing.T) {
		oldSerial := serialOf(t, secretOf("user"))
		issuer.cfg.Rotation = "swap-test"
		renewed := issuer.issue(t)[mtlsSecretOf(t, rel, "user")]
		newSerial := serialOf(t, renewed)
		if newSerial == oldSerial {
			t.Fatal("certgen did not renew user's certificate")
		}
		var calls, failed atomic.Int64
		var firstErr atomic.Value
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					calls.Add(1)
					if err := call(); err != nil {
						failed.Add(1)
						firstErr.CompareAndSwap(nil, err.Error())
					}
				}
			}()
		}
		time.Sleep(time.Second)
		kubeletWrite(t, serverMTLS, renewed.Data)
		eventually(t, ctx, 15*time.Second, "user's Envoy serving the new serial", func() error {
			body, err := get(serverAdmin + "/certs")
			if err != nil {
				return err
			}
			if !strings.Contains(strings.ToLower(body), newSerial) {
				return fmt.Errorf("/certs lacks serial %s", newSerial)
			}
			return nil
		})
		// New connections get the new certificate.
		conn, err := tls.Dial("tcp", serverIP+":8080", &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
		if err != nil {
			t.Fatal(err)
		}
		got := conn.ConnectionState().PeerCertificates[0].SerialNumber.Text(16)
		conn.Close()
		if got != newSerial {
			t.Errorf("a new connection got serial %s, want %s", got, newSerial)
		}
		time.Sleep(time.Second)
		close(stop)
		wg.Wait()
		t.Logf("%d calls during the swap, %d failed; serial %s -> %s", calls.Load(), failed.Load(), oldSerial, newSerial)
		if failed.Load() != 0 || calls.Load() < 50 {
			t.Errorf("%d of %d calls failed during the swap (first: %v)", failed.Load(), calls.Load(), firstErr.Load())
		}
	})

	t.Run("a-server-with-orders-certificate-is-refused", func(t *testing.T) {
		// user's Envoy restarted with order's certificate in its Secret
		// volume, so that frontend's Envoy must make new connections.
		server.Stop()
		kubeletWrite(t, serverMTLS, secretOf("order").Data)
		before := stat(t, callerAdmin, "cluster.user.ssl.fail_verify_san")
		server = startServer()
		err := call()
		if status.Code(err) != codes.Unavailable {
			t.Fatalf("a call to a server presenting order's certificate: %v, want UNAVAILABLE", err)
		}
		if n := stat(t, callerAdmin, "cluster.user.ssl.fail_verify_san"); n <= before {
			t.Errorf("cluster.user.ssl.fail_verify_san stayed at %d", n)
		}
		t.Logf("frontend calling a server with order's certificate: %v", err)
	})
}

// mtlsIssuer is certgen's package on the rendered Job's arguments, keeping
// its fake API server between runs, as the cluster keeps the Secrets
// between upgrades.
type mtlsIssuer struct {
	secrets map[string]*corev1.Secret
	cfg     certgen.Config
	rel     *render.Release
}

func newMTLSIssuer(t *testing.T, rel *render.Release) *mtlsIssuer {
	t.Helper()
	job, ok := rel.Find("Job", rel.Name("certgen"))
	if !ok {
		t.Fatal("no certgen Job")
	}
	cmd, err := certgen.ParseArgs(jobPodSpec(t, job).Containers[0].Args)
	if err != nil {
		t.Fatal(err)
	}
	return &mtlsIssuer{cfg: cmd.Config, rel: rel}
}

func (m *mtlsIssuer) issue(t *testing.T) map[string]*corev1.Secret {
	t.Helper()
	m.secrets = issueWith(t, m.cfg, m.secrets)
	return m.secrets
}

func serialOf(t *testing.T, s *corev1.Secret) string {
	t.Helper()
	pair, err := tls.X509KeyPair(s.Data[certgen.CertKey], s.Data[certgen.KeyKey])
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return c.SerialNumber.Text(16)
}

// startUserApp serves the real user service and gRPC health on 127.0.0.2:9090.
func startUserApp(t *testing.T) {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(serverIP, "9090"))
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	userv1.RegisterUserServiceServer(s, userservice.New([]*userv1.User{{Id: 1, Name: "Ada"}}))
	hs := health.NewServer()
	hs.SetServingStatus(userv1.UserService_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(s, hs)
	go s.Serve(l)
	t.Cleanup(s.Stop)
}

// rewriteFile applies change to the YAML tree of the file at path.
func rewriteFile(t *testing.T, path string, change func(tree map[string]any)) {
	t.Helper()
	text := readFile(t, path)
	var tree map[string]any
	if err := yaml.Unmarshal([]byte(text), &tree); err != nil {
		t.Fatal(err)
	}
	change(tree)
	out, err := yaml.Marshal(tree)
	if err != nil {
		t.Fatal(err)
	}
	writeFileAt(t, path, string(out))
}

// moveAddresses moves every socket address on 0.0.0.0 or 127.0.0.1
// (listeners, admin, clusters on loopback) to ip.
func moveAddresses(v any, ip string) {
	switch v := v.(type) {
	case map[string]any:
		if sa, ok := v["socket_address"].(map[string]any); ok {
			if a := sa["address"]; a == "0.0.0.0" || a == "127.0.0.1" {
				sa["address"] = ip
			}
		}
		for _, x := range v {
			moveAddresses(x, ip)
		}
	case []any:
		for _, x := range v {
			moveAddresses(x, ip)
		}
	}
}

// setClusterAddress points the one endpoint of a DNS cluster at an IP.
func setClusterAddress(t *testing.T, tree map[string]any, cluster, ip string) {
	t.Helper()
	for _, c := range tree["static_resources"].(map[string]any)["clusters"].([]any) {
		c := c.(map[string]any)
		if c["name"] != cluster {
			continue
		}
		ep := c["load_assignment"].(map[string]any)["endpoints"].([]any)[0].(map[string]any)["lb_endpoints"].([]any)[0].(map[string]any)["endpoint"].(map[string]any)
		ep["address"].(map[string]any)["socket_address"].(map[string]any)["address"] = ip
		return
	}
	t.Fatalf("no cluster %s", cluster)
}

// TestMTLSIngressToFrontend runs the ingress's Envoy (127.0.0.1) and
// frontend's (moved to 127.0.0.2, as in TestMTLSWithRealEnvoys) on the
// chart's configs in front of a stand-in frontend app: a request from
// outside goes in plain, crosses to frontend over mTLS past its RBAC, and
// the ingress's health checks of frontend, which ask the app's ops port
// (9091) directly, stay plain (transport_socket_matches) and pass.
func TestMTLSIngressToFrontend(t *testing.T) {
	envoyPath := envoytest.Pinned(t)
	requirePortsFree(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	s := base("mtls-ingress-loopback")
	s.opts.Set = []string{"jaeger.enabled=false", "envoy.healthCheck.interval=1s", "envoy.healthCheck.noTrafficInterval=1s"}
	rel := renderScenario(t, s)
	secrets := newMTLSIssuer(t, rel).issue(t)

	// The frontend app: the report on 9090, /readyz on the ops port 9091.
	for _, addr := range []string{serverIP + ":9090", serverIP + ":9091"} {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "frontend app: %s\n", r.URL.Path)
		})}
		go srv.Serve(l)
		t.Cleanup(func() { srv.Close() })
	}

	frontendCfg, _ := envoyOnDisk(t, rel, "frontend", t.TempDir(), secrets)
	rewriteFile(t, frontendCfg, func(tree map[string]any) {
		moveAddresses(tree, serverIP)
		setClusterAddress(t, tree, "user", "127.0.0.3")
		setClusterAddress(t, tree, "order", "127.0.0.3")
	})
	frontend, err := envoyproc.Start(ctx, envoyPath, envoyproc.Options{ConfigPath: frontendCfg, Args: runArgs(t, envoyContainer(t, rel, "frontend"), "demo-frontend-mtls-test")})
	if err != nil {
		t.Fatal(err)
	}
	defer frontend.Stop()

	ingressCfg, _ := envoyOnDisk(t, rel, "ingress", t.TempDir(), secrets)
	rewriteFile(t, ingressCfg, func(tree map[string]any) { setClusterAddress(t, tree, "frontend", serverIP) })
	ingress, err := envoyproc.Start(ctx, envoyPath, envoyproc.Options{ConfigPath: ingressCfg, Args: runArgs(t, envoyContainer(t, rel, "ingress"), "demo-ingress-mtls-test")})
	if err != nil {
		t.Fatal(err)
	}
	defer ingress.Stop()
	ingressAdmin := "http://" + ingress.AdminAddr

	// The ingress checks frontend's health in plain HTTP on 9091.
	waitHealthy(t, ctx, ingressAdmin, "frontend", serverIP+":8080")
	body, err := get("http://127.0.0.1:8080/report")
	if err != nil || !strings.Contains(body, "frontend app: /report") {
		t.Fatalf("GET / through the ingress: %q, %v", body, err)
	}
	if n := stat(t, ingressAdmin, "cluster.frontend.ssl.handshake"); n < 1 {
		t.Errorf("cluster.frontend.ssl.handshake = %d: the ingress reached frontend without TLS", n)
	}
	if n := stat(t, "http://"+frontend.AdminAddr, "http.inbound.rbac.allowed"); n < 1 {
		t.Errorf("frontend's http.inbound.rbac.allowed = %d", n)
	}
	if n := stat(t, ingressAdmin, "cluster.frontend.health_check.success"); n < 1 {
		t.Errorf("cluster.frontend.health_check.success = %d", n)
	}
}
