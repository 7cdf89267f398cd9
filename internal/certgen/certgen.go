// Package certgen keeps the mesh's mTLS certificates in Kubernetes Secrets
// without a control plane: one CA Secret, kept across upgrades, and one
// Secret per workload with its leaf certificate (tls.crt, tls.key) and the
// CA (ca.crt), whose only name is the workload's SPIFFE ID as a URI SAN.
// The chart runs it (services/certgen) as a Helm hook Job before every install
// and upgrade; Envoy reads the Secret's files through file-based SDS, so a
// renewed Secret reaches it without a restart.
//
// A leaf is renewed when it is missing or unreadable, past half its
// lifetime, signed by another CA, for another SPIFFE ID, of another
// lifetime, or when the rotation token the chart passes differs from the
// one it was made with; otherwise it is kept, so an upgrade that changes
// nothing changes no Secret.
//
//	res, err := certgen.Issue(ctx, clientset, certgen.Config{...})
//	for _, r := range res { fmt.Println(r) }
package certgen

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Keys of the Secrets: kubernetes.io/tls's two, and ca.crt as cert-manager
// writes it, so that both sources give Envoy the same three files.
const (
	CertKey = corev1.TLSCertKey       // tls.crt
	KeyKey  = corev1.TLSPrivateKeyKey // tls.key
	CAKey   = "ca.crt"
)

// RotationAnnotation on a leaf Secret holds the rotation token it was made
// with; a different token renews it.
const RotationAnnotation = "envoy-example.io/rotation"

// CALifetime is the CA's: long, since replacing it means every Envoy must
// trust the new one before any presents a certificate from it.
const CALifetime = 10 * 365 * 24 * time.Hour

// backdate is how far in the past NotBefore lies, so that a node whose
// clock runs a little behind the Job's accepts a certificate at once.
const backdate = time.Minute

// Leaf is one workload's certificate: the Secret that holds it and the
// identity it names.
type Leaf struct {
	Secret   string
	SPIFFEID string
}

// Config is what the chart's Job passes.
type Config struct {
	Namespace string
	CASecret  string
	Leaves    []Leaf
	// Lifetime of each leaf; it is renewed past half of it.
	Lifetime time.Duration
	// Rotation is the token of mtls.rotation: a new one renews every leaf.
	Rotation string
	// Labels go on every Secret made (the chart's standard labels).
	Labels map[string]string
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

func (c Config) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Result is what Issue did to one Secret.
type Result struct {
	Secret    string
	Action    string // kept, created or renewed
	Reason    string // why renewed; empty otherwise
	Serial    string // hex
	NotBefore time.Time
	NotAfter  time.Time
}

func (r Result) String() string {
	s := fmt.Sprintf("%s %s: serial %s, valid %s to %s", r.Action, r.Secret, r.Serial,
		r.NotBefore.UTC().Format(time.RFC3339), r.NotAfter.UTC().Format(time.RFC3339))
	if r.Reason != "" {
		s += " (" + r.Reason + ")"
	}
	return s
}

// Issue gets or creates the CA, then creates, renews or keeps each leaf.
func Issue(ctx context.Context, cs kubernetes.Interface, cfg Config) ([]Result, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	secrets := cs.CoreV1().Secrets(cfg.Namespace)
	ca, res, err := getOrCreateCA(ctx, secrets, cfg)
	if err != nil {
		return nil, err
	}
	results := []Result{res}
	for _, leaf := range cfg.Leaves {
		r, err := issueLeaf(ctx, secrets, cfg, ca, leaf)
		if err != nil {
			return results, fmt.Errorf("%s: %w", leaf.Secret, err)
		}
		results = append(results, r)
	}
	return results, nil
}

// Delete removes the CA Secret (the post-delete hook: Helm does not own
// it, so it would leave it behind). Every leaf Secret names the CA Secret
// as its owner, so Kubernetes' garbage collector deletes them after it,
// including the leaves of workloads an upgrade removed: the hook needs no
// right to list Secrets, which would let it read them all. It says whether
// there was a CA Secret to delete.
func Delete(ctx context.Context, cs kubernetes.Interface, namespace, caSecret string) (bool, error) {
	if caSecret == "" {
		return false, errors.New("no CA Secret name")
	}
	background := metav1.DeletePropagationBackground
	err := cs.CoreV1().Secrets(namespace).Delete(ctx, caSecret, metav1.DeleteOptions{PropagationPolicy: &background})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

// ownedByCA makes the CA Secret the owner of a leaf Secret (see Delete).
func ownedByCA(s *corev1.Secret, ca *corev1.Secret) {
	ref := metav1.OwnerReference{APIVersion: "v1", Kind: "Secret", Name: ca.Name, UID: ca.UID}
	for _, r := range s.OwnerReferences {
		if r.UID == ca.UID {
			return
		}
	}
	s.OwnerReferences = append(s.OwnerReferences, ref)
}

// hasOwner says whether the leaf Secret names the CA Secret as its owner.
func hasOwner(s *corev1.Secret, ca *corev1.Secret) bool {
	for _, r := range s.OwnerReferences {
		if r.UID == ca.UID {
			return true
		}
	}
	return false
}

func (c Config) validate() error {
	switch {
	case c.Namespace == "":
		return errors.New("no namespace")
	case c.CASecret == "":
		return errors.New("no CA Secret name")
	case len(c.Leaves) == 0:
		return errors.New("no leaf certificate to issue")
	case c.Lifetime < time.Hour:
		return fmt.Errorf("lifetime %s: at least 1h", c.Lifetime)
	}
	for _, l := range c.Leaves {
		u, err := url.Parse(l.SPIFFEID)
		if err != nil || u.Scheme != "spiffe" || u.Host == "" || u.Path == "" {
			return fmt.Errorf("%s: %q is not a SPIFFE ID (spiffe://<trust domain>/<path>)", l.Secret, l.SPIFFEID)
		}
	}
	return nil
}

type secretsAPI interface {
	Get(ctx context.Context, name string, opts metav1.GetOptions) (*corev1.Secret, error)
	Create(ctx context.Context, s *corev1.Secret, opts metav1.CreateOptions) (*corev1.Secret, error)
	Update(ctx context.Context, s *corev1.Secret, opts metav1.UpdateOptions) (*corev1.Secret, error)
}

// authority is the CA, parsed, and its Secret (the leaves' owner).
type authority struct {
	cert   *x509.Certificate
	key    crypto.Signer
	pem    []byte
	secret *corev1.Secret
}

func getOrCreateCA(ctx context.Context, secrets secretsAPI, cfg Config) (*authority, Result, error) {
	s, err := secrets.Get(ctx, cfg.CASecret, metav1.GetOptions{})
	if err == nil {
		// Kept, whatever its age: a new CA would be trusted by no Envoy
		// running now. Unreadable is an error for a person to look at.
		ca, err := parseCA(s)
		if err != nil {
			return nil, Result{}, fmt.Errorf("CA Secret %s: %w (delete it to start a new CA; every leaf is then renewed)", cfg.CASecret, err)
		}
		return ca, result(cfg.CASecret, "kept", "", ca.cert), nil
	}
	if !apierrors.IsNotFound(err) {
		return nil, Result{}, err
	}
	now := cfg.now()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, Result{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: cfg.CASecret},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(CALifetime),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, Result{}, err
	}
	certPEM, keyPEM, err := encode(der, key)
	if err != nil {
		return nil, Result{}, err
	}
	s = &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: cfg.CASecret, Namespace: cfg.Namespace, Labels: cfg.Labels},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{CertKey: certPEM, KeyKey: keyPEM},
	}
	s, err = secrets.Create(ctx, s, metav1.CreateOptions{})
	if err != nil {
		return nil, Result{}, fmt.Errorf("creating CA Secret %s: %w", cfg.CASecret, err)
	}
	ca, err := parseCA(s)
	if err != nil {
		return nil, Result{}, err
	}
	return ca, result(cfg.CASecret, "created", "", ca.cert), nil
}

func parseCA(s *corev1.Secret) (*authority, error) {
	cert, err := parseCert(s.Data[CertKey])
	if err != nil {
		return nil, err
	}
	if !cert.IsCA {
		return nil, errors.New("its certificate is not a CA")
	}
	key, err := parseKey(s.Data[KeyKey])
	if err != nil {
		return nil, err
	}
	return &authority{cert: cert, key: key, pem: s.Data[CertKey], secret: s}, nil
}

func issueLeaf(ctx context.Context, secrets secretsAPI, cfg Config, ca *authority, leaf Leaf) (Result, error) {
	existing, err := secrets.Get(ctx, leaf.Secret, metav1.GetOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return Result{}, err
	}
	if existing != nil && err == nil {
		why, cert := RenewReason(existing, ca.cert, leaf.SPIFFEID, cfg.Lifetime, cfg.Rotation, cfg.now())
		if why == "" && !hasOwner(existing, ca.secret) {
			// Made before leaves had an owner: give it one, so that
			// Delete's garbage collection reaches it too.
			s := existing.DeepCopy()
			ownedByCA(s, ca.secret)
			if _, err := secrets.Update(ctx, s, metav1.UpdateOptions{}); err != nil {
				return Result{}, err
			}
			return result(leaf.Secret, "kept", "owner set: the CA Secret", cert), nil
		}
		if why == "" {
			return result(leaf.Secret, "kept", "", cert), nil
		}
		cert, data, err := newLeaf(cfg, ca, leaf)
		if err != nil {
			return Result{}, err
		}
		s := existing.DeepCopy()
		s.Data = data
		s.Labels = cfg.Labels
		s.Annotations = map[string]string{RotationAnnotation: cfg.Rotation}
		ownedByCA(s, ca.secret)
		// Update carries the resourceVersion read: a concurrent writer
		// makes it fail rather than be overwritten.
		if _, err := secrets.Update(ctx, s, metav1.UpdateOptions{}); err != nil {
			return Result{}, err
		}
		return result(leaf.Secret, "renewed", why, cert), nil
	}
	cert, data, err := newLeaf(cfg, ca, leaf)
	if err != nil {
		return Result{}, err
	}
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: leaf.Secret, Namespace: cfg.Namespace, Labels: cfg.Labels,
			Annotations: map[string]string{RotationAnnotation: cfg.Rotation}},
		Type: corev1.SecretTypeTLS,
		Data: data,
	}
	ownedByCA(s, ca.secret)
	if _, err := secrets.Create(ctx, s, metav1.CreateOptions{}); err != nil {
		return Result{}, err
	}
	return result(leaf.Secret, "created", "", cert), nil
}

// RenewReason says why the leaf in s must be renewed, or "" to keep it
// (then it returns the parsed certificate).
func RenewReason(s *corev1.Secret, ca *x509.Certificate, spiffeID string, lifetime time.Duration, rotation string, now time.Time) (string, *x509.Certificate) {
	cert, err := parseCert(s.Data[CertKey])
	if err != nil {
		return "unreadable tls.crt: " + err.Error(), nil
	}
	if _, err := parseKey(s.Data[KeyKey]); err != nil {
		return "unreadable tls.key: " + err.Error(), nil
	}
	if err := cert.CheckSignatureFrom(ca); err != nil || string(s.Data[CAKey]) != string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw})) {
		return "signed by another CA", nil
	}
	if len(cert.URIs) != 1 || cert.URIs[0].String() != spiffeID {
		return fmt.Sprintf("its SAN is %v, not %s", cert.URIs, spiffeID), nil
	}
	if got := cert.NotAfter.Sub(cert.NotBefore); got != lifetime+backdate {
		return fmt.Sprintf("lifetime %s, not %s", got-backdate, lifetime), nil
	}
	if half := cert.NotBefore.Add(cert.NotAfter.Sub(cert.NotBefore) / 2); !now.Before(half) {
		return "past half its lifetime", nil
	}
	if s.Annotations[RotationAnnotation] != rotation {
		return fmt.Sprintf("rotation %q, was %q", rotation, s.Annotations[RotationAnnotation]), nil
	}
	return "", cert
}

// newLeaf makes a key and a certificate for leaf: its SPIFFE ID as the one
// URI SAN, for both ends of a TLS connection.
func newLeaf(cfg Config, ca *authority, leaf Leaf) (*x509.Certificate, map[string][]byte, error) {
	id, err := url.Parse(leaf.SPIFFEID)
	if err != nil {
		return nil, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	now := cfg.now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		// No subject: the SPIFFE ID is the name (x509 then marks the SAN
		// extension critical, as RFC 5280 asks).
		URIs:                  []*url.URL{id},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(cfg.Lifetime),
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	certPEM, keyPEM, err := encode(der, key)
	if err != nil {
		return nil, nil, err
	}
	return cert, map[string][]byte{CertKey: certPEM, KeyKey: keyPEM, CAKey: ca.pem}, nil
}

func encode(der []byte, key *ecdsa.PrivateKey) (certPEM, keyPEM []byte, err error) {
	k, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: k}), nil
}

func parseCert(data []byte) (*x509.Certificate, error) {
	b, _ := pem.Decode(data)
	if b == nil || b.Type != "CERTIFICATE" {
		return nil, errors.New("no PEM certificate")
	}
	return x509.ParseCertificate(b.Bytes)
}

func parseKey(data []byte) (crypto.Signer, error) {
	b, _ := pem.Decode(data)
	if b == nil {
		return nil, errors.New("no PEM key")
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, err
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, errors.New("not a signing key")
	}
	return signer, nil
}

// serial is a random 128-bit serial number, as RFC 5280 allows (at most
// 20 octets, positive).
func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return n.Add(n, big.NewInt(1))
}

func result(secret, action, reason string, cert *x509.Certificate) Result {
	return Result{Secret: secret, Action: action, Reason: reason, Serial: hex.EncodeToString(cert.SerialNumber.Bytes()),
		NotBefore: cert.NotBefore, NotAfter: cert.NotAfter}
}
