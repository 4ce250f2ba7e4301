package serve

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/kubeharden/kubeharden/internal/cli/cmdutil"
	"github.com/kubeharden/kubeharden/server"
)

func runCertsCmd(t *testing.T, now time.Time, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	cmd := newCertsCommand(cmdutil.Streams{In: strings.NewReader(""), Out: &out, Err: &bytes.Buffer{}}, func() time.Time { return now })
	cmd.SetArgs(args)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	err := cmd.Execute()
	return out.String(), err
}

// certsOutput decodes the two documents of "serve certs".
func certsOutput(t *testing.T, out string) (*corev1.Secret, *admissionregistrationv1.ValidatingWebhookConfiguration) {
	t.Helper()
	docs := strings.Split(out, "\n---\n")
	if len(docs) != 2 {
		t.Fatalf("%d documents:\n%s", len(docs), out)
	}
	var sec corev1.Secret
	var vwc admissionregistrationv1.ValidatingWebhookConfiguration
	if err := yaml.UnmarshalStrict([]byte(docs[0]), &sec); err != nil {
		t.Fatalf("Secret: %v", err)
	}
	if err := yaml.UnmarshalStrict([]byte(docs[1]), &vwc); err != nil {
		t.Fatalf("ValidatingWebhookConfiguration: %v", err)
	}
	if sec.Kind != "Secret" || sec.Type != corev1.SecretTypeTLS || vwc.Kind != "ValidatingWebhookConfiguration" || len(vwc.Webhooks) != 1 {
		t.Fatalf("unexpected objects: %s %s %s, %d webhooks", sec.Kind, sec.Type, vwc.Kind, len(vwc.Webhooks))
	}
	return &sec, &vwc
}

func parseCert(t *testing.T, data []byte) *x509.Certificate {
	t.Helper()
	b, _ := pem.Decode(data)
	if b == nil || b.Type != "CERTIFICATE" {
		t.Fatalf("not a PEM certificate: %q", data)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The generated certificate verifies for every name of the Service
// against the caBundle of the webhook configuration, for server auth
// only, and the server loads it and serves it.
func TestCertsForTheService(t *testing.T) {
	now := time.Now()
	out, err := runCertsCmd(t, now, "--service", "guard", "--namespace", "sec", "--days", "30")
	if err != nil {
		t.Fatal(err)
	}
	sec, vwc := certsOutput(t, out)
	if sec.Name != "kubeharden-webhook-tls" || sec.Namespace != "sec" {
		t.Errorf("Secret %s/%s", sec.Namespace, sec.Name)
	}
	w := vwc.Webhooks[0]
	if s := w.ClientConfig.Service; s == nil || s.Name != "guard" || s.Namespace != "sec" {
		t.Errorf("webhook service %+v", w.ClientConfig.Service)
	}
	if !bytes.Equal(w.ClientConfig.CABundle, sec.Data["ca.crt"]) {
		t.Error("caBundle is not the Secret's ca.crt")
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(w.ClientConfig.CABundle) {
		t.Fatal("caBundle holds no certificate")
	}
	cert := parseCert(t, sec.Data["tls.crt"])
	if k, ok := cert.PublicKey.(*ecdsa.PublicKey); !ok || k.Curve != elliptic.P256() {
		t.Errorf("key %T, want ECDSA P-256", cert.PublicKey)
	}
	if d := cert.NotAfter.Sub(now); d < 30*24*time.Hour-time.Minute || d > 30*24*time.Hour+time.Minute {
		t.Errorf("valid for %s, want 30 days", d)
	}
	for _, name := range []string{"guard", "guard.sec", "guard.sec.svc", "guard.sec.svc.cluster.local"} {
		if _, err := cert.Verify(x509.VerifyOptions{DNSName: name, Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for _, name := range []string{"guard.other.svc", "kubernetes.default.svc"} {
		if _, err := cert.Verify(x509.VerifyOptions{DNSName: name, Roots: roots}); err == nil {
			t.Errorf("verifies for %s", name)
		}
	}
	if _, err := cert.Verify(x509.VerifyOptions{DNSName: "guard.sec.svc", Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err == nil {
		t.Error("usable for client auth")
	}
	if _, err := cert.Verify(x509.VerifyOptions{DNSName: "guard.sec.svc", Roots: roots, CurrentTime: now.Add(31 * 24 * time.Hour)}); err == nil {
		t.Error("still valid after 31 days")
	}

	// The server package loads the pair and serves it: a TLS client that
	// trusts only the caBundle connects as the API server would.
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	os.WriteFile(certFile, sec.Data["tls.crt"], 0o600)
	os.WriteFile(keyFile, sec.Data["tls.key"], 0o600)
	srv, err := server.New(server.Options{Addr: "127.0.0.1:0", CertFile: certFile, KeyFile: keyFile})
	if err != nil {
		t.Fatalf("the server does not load the generated certificate: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conn := tls.Client(dialer(t, ln, srv), &tls.Config{RootCAs: roots, ServerName: "guard.sec.svc"})
	if err := conn.Handshake(); err != nil {
		t.Errorf("TLS handshake with the caBundle: %v", err)
	}
	conn.Close()
}

// dialer serves one TLS connection with the server's TLS configuration
// and returns the client end.
func dialer(t *testing.T, ln net.Listener, srv *server.Server) net.Conn {
	t.Helper()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		tc := tls.Server(c, srv.TLSConfig())
		tc.Handshake()
		tc.Close()
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return c
}

// Rotation: --also-trust keeps the CAs in service that have not expired,
// after the new one; --out-dir writes the files.
func TestCertsRotation(t *testing.T) {
	now := time.Now()
	dir := t.TempDir()
	if _, err := runCertsCmd(t, now.Add(-400*24*time.Hour), "--out-dir", dir, "--days", "365"); err != nil {
		t.Fatal(err)
	}
	expired, _ := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if _, err := runCertsCmd(t, now.Add(-10*24*time.Hour), "--out-dir", dir); err != nil {
		t.Fatal(err)
	}
	current, _ := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if _, err := server.NewCertReloader(filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"), nil); err != nil {
		t.Fatalf("--out-dir files do not load: %v", err)
	}
	old := filepath.Join(dir, "old-ca.pem")
	os.WriteFile(old, append(append([]byte(nil), expired...), current...), 0o600)
	out, err := runCertsCmd(t, now, "--also-trust", old)
	if err != nil {
		t.Fatal(err)
	}
	sec, vwc := certsOutput(t, out)
	var got [][]byte
	for rest := vwc.Webhooks[0].ClientConfig.CABundle; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		got = append(got, pem.EncodeToMemory(b))
	}
	if len(got) != 2 || !bytes.Equal(got[0], sec.Data["ca.crt"]) || !bytes.Equal(got[1], current) {
		t.Errorf("caBundle has %d CAs; want the new one, then the one in service, and not the expired one", len(got))
	}
}

func TestCertsUsageErrors(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "x.pem")
	os.WriteFile(notPEM, []byte("hello"), 0o600)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--service", "Bad_Name"}, "--service"},
		{[]string{"--namespace", ""}, "--namespace"},
		{[]string{"--days", "0"}, "--days must be between 1 and 3650"},
		{[]string{"--days", "5000"}, "--days must be between 1 and 3650"},
		{[]string{"-o", "json"}, "-o must be yaml"},
		{[]string{"--also-trust", filepath.Join(dir, "missing.pem")}, "missing.pem"},
		{[]string{"--also-trust", notPEM}, "not PEM"},
	} {
		_, err := runCertsCmd(t, time.Now(), tc.args...)
		var exit *cmdutil.ExitError
		if !errors.As(err, &exit) || exit.Code != 2 || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want exit 2 with %q", tc.args, err, tc.want)
		}
	}
}
