package serve

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kubeharden/kubeharden/internal/cli/cmdutil"
	"github.com/kubeharden/kubeharden/internal/deploygen"
)

// certsFlags are the flags of "serve certs".
type certsFlags struct {
	service, namespace, secret string
	days                       int
	alsoTrust                  string
	output                     string
	outDir                     string
}

// newCertsCommand builds "serve certs": a self-signed bootstrap of the
// webhook's TLS that needs no privilege in the cluster beyond applying
// its output (no CSR approval, no cert-manager).
func newCertsCommand(streams cmdutil.Streams, now func() time.Time) *cobra.Command {
	f := &certsFlags{}
	cmd := &cobra.Command{
		Use:   "certs [--service NAME] [--namespace NS] [--days N] [--also-trust CA.pem]",
		Short: "Make a CA and a serving certificate for the webhook; print the TLS Secret and the webhook configuration",
		Long: "Generate a new certificate authority and a serving certificate it signs (ECDSA P-256) for\n" +
			"the webhook's Service (NAME, NAME.NS, NAME.NS.svc, NAME.NS.svc.cluster.local), and print,\n" +
			"ready for 'kubectl apply -f -', the kubernetes.io/tls Secret the Deployment of\n" +
			"deploy/webhook.yaml mounts and the ValidatingWebhookConfiguration with its caBundle\n" +
			"filled. The CA's private key is discarded: nothing can sign with it again.\n\n" +
			"The output holds a private key: pipe it to kubectl, do not keep it.\n\n" +
			"Rotation: run the command again before the certificate expires (--days, default 365),\n" +
			"passing the CA in service with --also-trust, so that the API server trusts both CAs while\n" +
			"the pods pick up the new Secret (the server reloads it without a restart):\n\n" +
			"  kubectl get validatingwebhookconfiguration kubeharden \\\n" +
			"    -o jsonpath='{.webhooks[0].clientConfig.caBundle}' | base64 -d > old-ca.pem\n" +
			"  kubeharden serve certs --also-trust old-ca.pem | kubectl apply -f -\n\n" +
			"CAs in --also-trust that have expired are dropped, so bundles do not grow.\n" +
			"With --out-dir, the files (tls.crt, tls.key, ca.crt) are written there instead.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runCerts(streams, f, now()) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.service, "service", deploygen.WebhookService, "the webhook's Service name")
	fl.StringVar(&f.namespace, "namespace", deploygen.WebhookNamespace, "the webhook's namespace")
	fl.StringVar(&f.secret, "secret", deploygen.WebhookSecret, "the name of the TLS Secret")
	fl.IntVar(&f.days, "days", 365, "validity of the CA and the certificate, in days (1 to 3650)")
	fl.StringVar(&f.alsoTrust, "also-trust", "", "PEM file of CA certificates to keep trusting (rotation); expired ones are dropped")
	fl.StringVarP(&f.output, "output", "o", "yaml", "output format: yaml")
	fl.StringVar(&f.outDir, "out-dir", "", "write tls.crt, tls.key and ca.crt to this directory instead of printing YAML")
	return cmd
}

func runCerts(streams cmdutil.Streams, f *certsFlags, now time.Time) error {
	for _, n := range []struct{ flag, value string }{{"--service", f.service}, {"--namespace", f.namespace}, {"--secret", f.secret}} {
		if errs := validation.IsDNS1123Label(n.value); len(errs) > 0 {
			return cmdutil.Usage("%s %q: %s", n.flag, n.value, strings.Join(errs, "; "))
		}
	}
	if f.days < 1 || f.days > 3650 {
		return cmdutil.Usage("--days must be between 1 and 3650, not %d", f.days)
	}
	if f.output != "yaml" {
		return cmdutil.Usage("-o must be yaml, not %q", f.output)
	}
	var trusted []byte
	if f.alsoTrust != "" {
		data, err := os.ReadFile(f.alsoTrust)
		if err != nil {
			return cmdutil.Usage("--also-trust: %v", err)
		}
		if trusted, err = unexpiredCAs(data, now); err != nil {
			return cmdutil.Usage("--also-trust %s: %v", f.alsoTrust, err)
		}
	}
	c, err := newServingCerts(f.service, f.namespace, time.Duration(f.days)*24*time.Hour, now)
	if err != nil {
		return &cmdutil.ExitError{Code: 2, Err: err}
	}
	if f.outDir != "" {
		for _, file := range []struct {
			name string
			data []byte
		}{{"tls.crt", c.cert}, {"tls.key", c.key}, {"ca.crt", c.ca}} {
			if err := os.WriteFile(filepath.Join(f.outDir, file.name), file.data, 0o600); err != nil {
				return &cmdutil.ExitError{Code: 2, Err: err}
			}
		}
		return nil
	}
	return writeCertsYAML(streams.Out, f, c, append(append([]byte(nil), c.ca...), trusted...))
}

// servingCerts are PEM: the CA certificate, the serving certificate and
// its private key.
type servingCerts struct {
	ca, cert, key []byte
	notAfter      time.Time
	dnsNames      []string
}

// serviceNames are the names the API server may use for a Service: it
// dials NAME.NS.svc; the others serve clients inside the cluster.
func serviceNames(service, namespace string) []string {
	return []string{service, service + "." + namespace, service + "." + namespace + ".svc", service + "." + namespace + ".svc.cluster.local"}
}

func newServingCerts(service, namespace string, validity time.Duration, now time.Time) (*servingCerts, error) {
	notBefore := now.Add(-5 * time.Minute) // clock skew between nodes
	notAfter := now.Add(validity)
	serial := func() (*big.Int, error) { return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127)) }
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating the CA key: %w", err)
	}
	caSerial, err := serial()
	if err != nil {
		return nil, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber: caSerial,
		Subject:      pkix.Name{CommonName: fmt.Sprintf("kubeharden webhook CA for %s/%s, %s", namespace, service, now.UTC().Format(time.DateOnly))},
		NotBefore:    notBefore, NotAfter: notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true, IsCA: true, MaxPathLenZero: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("signing the CA certificate: %w", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating the serving key: %w", err)
	}
	certSerial, err := serial()
	if err != nil {
		return nil, err
	}
	names := serviceNames(service, namespace)
	tmpl := &x509.Certificate{
		SerialNumber: certSerial,
		Subject:      pkix.Name{CommonName: names[2]},
		DNSNames:     names,
		NotBefore:    notBefore, NotAfter: notAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("signing the serving certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return &servingCerts{
		ca:       pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		cert:     pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		key:      pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		notAfter: notAfter,
		dnsNames: names,
	}, nil
}

// unexpiredCAs returns the CA certificates of a PEM file that are still
// valid at now, re-encoded. A file with anything but certificates, or
// with none, is an error.
func unexpiredCAs(data []byte, now time.Time) ([]byte, error) {
	var out bytes.Buffer
	n := 0
	for rest := bytes.TrimSpace(data); len(rest) > 0; rest = bytes.TrimSpace(rest) {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return nil, errors.New("not PEM: expected CA certificates (-----BEGIN CERTIFICATE-----)")
		}
		if b.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("a %s block: expected only certificates", b.Type)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", n+1, err)
		}
		n++
		if !c.IsCA || now.After(c.NotAfter) {
			continue
		}
		pem.Encode(&out, &pem.Block{Type: "CERTIFICATE", Bytes: b.Bytes})
	}
	if n == 0 {
		return nil, errors.New("no certificate in the file")
	}
	return out.Bytes(), nil
}

func writeCertsYAML(w io.Writer, f *certsFlags, c *servingCerts, bundle []byte) error {
	b64 := base64.StdEncoding.EncodeToString
	var b strings.Builder
	fmt.Fprintf(&b, "# Generated by kubeharden serve certs: a new CA and a serving certificate for\n")
	fmt.Fprintf(&b, "# %s, valid until %s. This output holds a private key:\n", strings.Join(c.dnsNames, ", "), c.notAfter.UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, "# apply it (kubectl apply -f -), do not store it. Rotate before it expires: see\n")
	fmt.Fprintf(&b, "# kubeharden serve certs --help.\n")
	fmt.Fprintf(&b, "apiVersion: v1\nkind: Secret\nmetadata:\n  name: %s\n  namespace: %s\n", f.secret, f.namespace)
	fmt.Fprintf(&b, "  labels: {app.kubernetes.io/name: %s}\n", f.service)
	fmt.Fprintf(&b, "  annotations: {kubeharden.io/certificate-not-after: %q}\n", c.notAfter.UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, "type: kubernetes.io/tls\ndata:\n  tls.crt: %s\n  tls.key: %s\n  ca.crt: %s\n", b64(c.cert), b64(c.key), b64(c.ca))
	b.WriteString("---\napiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingWebhookConfiguration\nmetadata:\n")
	fmt.Fprintf(&b, "  name: %s\n", deploygen.WebhookConfig)
	b.WriteString(deploygen.Webhooks(deploygen.WebhookOptions{Service: f.service, Namespace: f.namespace, CABundle: bundle}))
	_, err := io.WriteString(w, b.String())
	return err
}
