package certgen

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

const ns = "shop"

var t0 = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

func config(now *time.Time) Config {
	return Config{
		Namespace: ns,
		CASecret:  "demo-mtls-ca",
		Leaves: []Leaf{
			{Secret: "demo-user-mtls", SPIFFEID: "spiffe://cluster.local/ns/shop/sa/demo-user"},
			{Secret: "demo-frontend-mtls", SPIFFEID: "spiffe://cluster.local/ns/shop/sa/demo-frontend"},
		},
		Lifetime: 24 * time.Hour,
		Labels:   map[string]string{"app.kubernetes.io/instance": "demo", "app.kubernetes.io/component": "mtls"},
		Now:      func() time.Time { return *now },
	}
}

func issue(t *testing.T, cs *fake.Clientset, cfg Config) map[string]Result {
	t.Helper()
	res, err := Issue(context.Background(), cs, cfg)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]Result{}
	for _, r := range res {
		out[r.Secret] = r
	}
	if len(out) != len(cfg.Leaves)+1 {
		t.Fatalf("%d results, want the CA and %d leaves: %v", len(out), len(cfg.Leaves), res)
	}
	return out
}

func secret(t *testing.T, cs *fake.Clientset, name string) *corev1.Secret {
	t.Helper()
	s, err := cs.CoreV1().Secrets(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A new namespace: the CA and every leaf created; each leaf is a usable
// TLS key pair whose only name is its SPIFFE ID, for server and client
// auth, valid from a minute ago for the lifetime, chaining to ca.crt.
func TestCreate(t *testing.T) {
	now := t0
	cs := fake.NewClientset()
	cfg := config(&now)
	res := issue(t, cs, cfg)
	for name, r := range res {
		if r.Action != "created" {
			t.Errorf("%s: %s, want created", name, r.Action)
		}
	}
	ca := secret(t, cs, "demo-mtls-ca")
	if ca.Type != corev1.SecretTypeTLS || ca.Labels["app.kubernetes.io/component"] != "mtls" {
		t.Errorf("CA Secret type %s labels %v", ca.Type, ca.Labels)
	}
	caCert, err := parseCert(ca.Data[CertKey])
	if err != nil {
		t.Fatal(err)
	}
	if !caCert.IsCA || caCert.NotAfter.Sub(now) != CALifetime {
		t.Errorf("CA: IsCA %v, lifetime %s", caCert.IsCA, caCert.NotAfter.Sub(now))
	}
	for _, leaf := range cfg.Leaves {
		s := secret(t, cs, leaf.Secret)
		if s.Type != corev1.SecretTypeTLS || s.Labels["app.kubernetes.io/instance"] != "demo" {
			t.Errorf("%s: type %s labels %v", leaf.Secret, s.Type, s.Labels)
		}
		pair, err := tls.X509KeyPair(s.Data[CertKey], s.Data[KeyKey])
		if err != nil {
			t.Fatalf("%s: %v", leaf.Secret, err)
		}
		cert, _ := x509.ParseCertificate(pair.Certificate[0])
		if len(cert.URIs) != 1 || cert.URIs[0].String() != leaf.SPIFFEID || len(cert.DNSNames)+len(cert.IPAddresses)+len(cert.EmailAddresses) != 0 {
			t.Errorf("%s: URIs %v DNS %v IPs %v, want only %s", leaf.Secret, cert.URIs, cert.DNSNames, cert.IPAddresses, leaf.SPIFFEID)
		}
		if !cert.NotBefore.Equal(now.Add(-time.Minute)) || !cert.NotAfter.Equal(now.Add(24*time.Hour)) {
			t.Errorf("%s: valid %s to %s", leaf.Secret, cert.NotBefore, cert.NotAfter)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(s.Data[CAKey]) {
			t.Fatalf("%s: no ca.crt", leaf.Secret)
		}
		for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
			if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
				t.Errorf("%s: %v", leaf.Secret, err)
			}
		}
		if cert.PublicKeyAlgorithm != x509.ECDSA || cert.IsCA {
			t.Errorf("%s: key %s, IsCA %v", leaf.Secret, cert.PublicKeyAlgorithm, cert.IsCA)
		}
		if res[leaf.Secret].Serial == "" || !strings.Contains(res[leaf.Secret].String(), "created "+leaf.Secret+": serial ") {
			t.Errorf("result line %q", res[leaf.Secret])
		}
	}
}

// An upgrade before half the lifetime changes nothing; past it, every leaf
// is renewed and the CA kept.
func TestKeepThenRenewPastHalfLife(t *testing.T) {
	now := t0
	cs := fake.NewClientset()
	cfg := config(&now)
	first := issue(t, cs, cfg)

	now = t0.Add(11*time.Hour + 59*time.Minute) // half of 24h+1m is 12h00m30s after NotBefore
	second := issue(t, cs, cfg)
	for name, r := range second {
		if r.Action != "kept" || r.Serial != first[name].Serial {
			t.Errorf("before half-life: %s %s serial %s, want kept %s", name, r.Action, r.Serial, first[name].Serial)
		}
	}

	now = t0.Add(12 * time.Hour)
	third := issue(t, cs, cfg)
	if r := third["demo-mtls-ca"]; r.Action != "kept" || r.Serial != first["demo-mtls-ca"].Serial {
		t.Errorf("CA: %s, want kept", r)
	}
	for _, leaf := range cfg.Leaves {
		r := third[leaf.Secret]
		if r.Action != "renewed" || r.Reason != "past half its lifetime" || r.Serial == first[leaf.Secret].Serial {
			t.Errorf("past half-life: %s", r)
		}
		if !r.NotBefore.Equal(now.Add(-time.Minute)) {
			t.Errorf("renewed %s valid from %s", leaf.Secret, r.NotBefore)
		}
	}
}

// A new rotation token renews every leaf at once; the same token again
// keeps them.
func TestRenewOnRotationToken(t *testing.T) {
	now := t0
	cs := fake.NewClientset()
	cfg := config(&now)
	first := issue(t, cs, cfg)
	cfg.Rotation = "2026-11-30"
	second := issue(t, cs, cfg)
	for _, leaf := range cfg.Leaves {
		if r := second[leaf.Secret]; r.Action != "renewed" || !strings.Contains(r.Reason, "rotation") || r.Serial == first[leaf.Secret].Serial {
			t.Errorf("new token: %s", r)
		}
		if got := secret(t, cs, leaf.Secret).Annotations[RotationAnnotation]; got != "2026-11-30" {
			t.Errorf("%s annotation %q", leaf.Secret, got)
		}
	}
	for name, r := range issue(t, cs, cfg) {
		if r.Action != "kept" {
			t.Errorf("same token again: %s %s", name, r.Action)
		}
	}
}

// A leaf from another CA (the CA Secret was deleted and made anew), for
// another identity, or of another lifetime is renewed.
func TestRenewOnCAChangeWrongSANAndLifetime(t *testing.T) {
	now := t0
	cs := fake.NewClientset()
	cfg := config(&now)
	issue(t, cs, cfg)

	if err := cs.CoreV1().Secrets(ns).Delete(context.Background(), cfg.CASecret, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	res := issue(t, cs, cfg)
	if res[cfg.CASecret].Action != "created" {
		t.Errorf("CA: %s", res[cfg.CASecret])
	}
	for _, leaf := range cfg.Leaves {
		if r := res[leaf.Secret]; r.Action != "renewed" || r.Reason != "signed by another CA" {
			t.Errorf("new CA: %s", r)
		}
	}

	// user's Secret given frontend's identity, as a renamed ServiceAccount would.
	cfg.Leaves[0].SPIFFEID = "spiffe://cluster.local/ns/shop/sa/demo-frontend"
	res = issue(t, cs, cfg)
	if r := res["demo-user-mtls"]; r.Action != "renewed" || !strings.Contains(r.Reason, "not spiffe://cluster.local/ns/shop/sa/demo-frontend") {
		t.Errorf("wrong SAN: %s", r)
	}
	if r := res["demo-frontend-mtls"]; r.Action != "kept" {
		t.Errorf("untouched leaf: %s", r)
	}

	cfg.Lifetime = 48 * time.Hour
	res = issue(t, cs, cfg)
	for _, leaf := range cfg.Leaves {
		if r := res[leaf.Secret]; r.Action != "renewed" || !strings.Contains(r.Reason, "lifetime 24h0m0s, not 48h0m0s") {
			t.Errorf("new lifetime: %s", r)
		}
	}
}

// A Secret someone broke (no key) is renewed, not kept.
func TestRenewUnreadable(t *testing.T) {
	now := t0
	cs := fake.NewClientset()
	cfg := config(&now)
	issue(t, cs, cfg)
	s := secret(t, cs, "demo-user-mtls")
	delete(s.Data, KeyKey)
	if _, err := cs.CoreV1().Secrets(ns).Update(context.Background(), s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if r := issue(t, cs, cfg)["demo-user-mtls"]; r.Action != "renewed" || !strings.Contains(r.Reason, "tls.key") {
		t.Errorf("no key: %s", r)
	}
}

// Every leaf names the CA Secret as its owner, so that deleting the CA
// (the post-delete hook) takes the leaves with it through the garbage
// collector, and the hook needs no right to list Secrets. A leaf made
// before owners were set gets one, without a new certificate.
func TestLeavesAreOwnedByTheCA(t *testing.T) {
	now := t0
	cs := fake.NewClientset()
	cfg := config(&now)
	issue(t, cs, cfg)
	for _, l := range cfg.Leaves {
		refs := secret(t, cs, l.Secret).OwnerReferences
		if len(refs) != 1 || refs[0].Kind != "Secret" || refs[0].Name != cfg.CASecret {
			t.Errorf("%s is owned by %v, want the CA Secret %s", l.Secret, refs, cfg.CASecret)
		}
	}
	old := secret(t, cs, "demo-user-mtls")
	old.OwnerReferences = nil
	if _, err := cs.CoreV1().Secrets(ns).Update(context.Background(), old, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	r := issue(t, cs, cfg)["demo-user-mtls"]
	if r.Action != "kept" || !strings.Contains(r.Reason, "owner set") {
		t.Errorf("a leaf without an owner: %s", r)
	}
	if now := secret(t, cs, "demo-user-mtls"); len(now.OwnerReferences) != 1 || string(now.Data[CertKey]) != string(old.Data[CertKey]) {
		t.Errorf("owner %v, certificate changed: %v", now.OwnerReferences, string(now.Data[CertKey]) != string(old.Data[CertKey]))
	}
}

// The post-delete hook deletes the CA Secret by name and nothing else.
func TestDelete(t *testing.T) {
	now := t0
	other := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "someone-elses", Namespace: ns, Labels: map[string]string{"app.kubernetes.io/instance": "demo"}}}
	cs := fake.NewClientset(other)
	cfg := config(&now)
	issue(t, cs, cfg)
	deleted, err := Delete(context.Background(), cs, ns, cfg.CASecret)
	if err != nil || !deleted {
		t.Fatalf("Delete: %v, %v", deleted, err)
	}
	if _, err := cs.CoreV1().Secrets(ns).Get(context.Background(), cfg.CASecret, metav1.GetOptions{}); err == nil {
		t.Error("the CA Secret is still there")
	}
	if _, err := cs.CoreV1().Secrets(ns).Get(context.Background(), "someone-elses", metav1.GetOptions{}); err != nil {
		t.Errorf("another Secret went too: %v", err)
	}
	if deleted, err := Delete(context.Background(), cs, ns, cfg.CASecret); deleted || err != nil {
		t.Errorf("a second Delete: %v, %v; want nothing to delete", deleted, err)
	}
	if _, err := Delete(context.Background(), cs, ns, ""); err == nil {
		t.Error("an empty name was accepted")
	}
}

func TestParseArgs(t *testing.T) {
	cmd, err := ParseArgs([]string{"issue", "--namespace=shop", "--ca-secret=demo-mtls-ca", "--lifetime=36h", "--rotation=r1",
		"--leaf=demo-user-mtls=spiffe://td/ns/shop/sa/demo-user", "--label", "a=b"})
	if err != nil {
		t.Fatal(err)
	}
	c := cmd.Config
	if cmd.Name != "issue" || c.Lifetime != 36*time.Hour || c.Rotation != "r1" || len(c.Leaves) != 1 || c.Leaves[0].SPIFFEID != "spiffe://td/ns/shop/sa/demo-user" || c.Labels["a"] != "b" {
		t.Errorf("%+v", cmd)
	}
	for _, bad := range [][]string{
		nil, {"renew"},
		{"issue", "--namespace=shop", "--ca-secret=ca", "--leaf=x=https://not/spiffe"},
		{"issue", "--namespace=shop", "--ca-secret=ca", "--leaf=x=spiffe://td/a", "--lifetime=30m"},
		{"issue", "--namespace=shop", "--ca-secret=ca"},
		{"delete", "--namespace=shop"},
		{"delete", "--namespace=shop", "--selector=app=x"},
	} {
		if _, err := ParseArgs(bad); err == nil {
			t.Errorf("ParseArgs(%q) accepted", bad)
		}
	}
}

// The PEM the leaf Secrets carry as ca.crt is the CA Secret's certificate.
func TestLeafCarriesTheCA(t *testing.T) {
	now := t0
	cs := fake.NewClientset()
	issue(t, cs, config(&now))
	ca := secret(t, cs, "demo-mtls-ca").Data[CertKey]
	b, _ := pem.Decode(secret(t, cs, "demo-user-mtls").Data[CAKey])
	c, _ := pem.Decode(ca)
	if b == nil || c == nil || string(b.Bytes) != string(c.Bytes) {
		t.Error("ca.crt is not the CA's certificate")
	}
}
