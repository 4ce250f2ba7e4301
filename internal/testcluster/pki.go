package testcluster

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// pki holds the paths of the credentials generated for one cluster.
type pki struct {
	caCert     []byte // PEM
	caCertFile string
	// caKeyFile is the CA's key: the controller manager signs approved
	// client-certificate CSRs with it (--cluster-signing-*-file).
	caKeyFile string

	servingCertFile string
	servingKeyFile  string

	saKeyFile    string // ECDSA private key: signs service-account tokens
	saPubKeyFile string // its public key: verifies them

	tokenFile string // the API server's --token-auth-file
	tokens    map[string]string
}

// writePKI creates, in dir, a self-signed CA, a serving certificate for the
// API server on loopback signed by it, a service-account signing key and the
// static token file with one token per identity.
func writePKI(dir string) (*pki, error) {
	p := &pki{
		caCertFile:      filepath.Join(dir, "ca.crt"),
		caKeyFile:       filepath.Join(dir, "ca.key"),
		servingCertFile: filepath.Join(dir, "apiserver.crt"),
		servingKeyFile:  filepath.Join(dir, "apiserver.key"),
		saKeyFile:       filepath.Join(dir, "sa.key"),
		saPubKeyFile:    filepath.Join(dir, "sa.pub"),
		tokenFile:       filepath.Join(dir, "tokens.csv"),
		tokens:          map[string]string{},
	}

	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "kubeharden-testcluster-ca"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("create CA certificate: %w", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	p.caCert = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})

	servingKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	servingTmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "kube-apiserver"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames: []string{
			"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
			"kubernetes.default.svc.cluster.local",
		},
		// 10.0.0.1 is the "kubernetes" Service's ClusterIP in serviceCIDR.
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback, net.IPv4(10, 0, 0, 1)},
	}
	servingDER, err := x509.CreateCertificate(rand.Reader, servingTmpl, ca, &servingKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("create serving certificate: %w", err)
	}

	saKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	saPub, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	if err != nil {
		return nil, err
	}

	// user "kubeharden-admin" is a cluster admin through system:masters; user
	// "kubeharden-restricted" has no group but the system:authenticated the
	// API server adds, so RBAC grants it only what the bootstrap policy gives
	// every authenticated user.
	var tokens strings.Builder
	for _, id := range []struct{ name, user, groups string }{
		{Admin, AdminUser, "system:masters"},
		{Restricted, RestrictedUser, ""},
	} {
		tok := randomHex(32)
		p.tokens[id.name] = tok
		fmt.Fprintf(&tokens, "%s,%s,%s", tok, id.user, id.user)
		if id.groups != "" {
			fmt.Fprintf(&tokens, ",%q", id.groups)
		}
		tokens.WriteString("\n")
	}

	files := []struct {
		path string
		data []byte
	}{
		{p.caCertFile, p.caCert},
		{p.caKeyFile, ecKeyPEM(caKey)},
		{p.servingCertFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: servingDER})},
		{p.servingKeyFile, ecKeyPEM(servingKey)},
		{p.saKeyFile, ecKeyPEM(saKey)},
		{p.saPubKeyFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: saPub})},
		{p.tokenFile, []byte(tokens.String())},
	}
	for _, f := range files {
		if err := os.WriteFile(f.path, f.data, 0o600); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func ecKeyPEM(k *ecdsa.PrivateKey) []byte {
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		panic(err) // only fails for unsupported curves
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	if err != nil {
		panic(err)
	}
	return n
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}
