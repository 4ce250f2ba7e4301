package server

import (
	"crypto/tls"
	"testing"

	"github.com/kubeharden/kubeharden/server/servertest"
)

// Client certificates are requested only once a component asks, and never
// required: the TLS floor stays 1.2.
func TestRequestClientCerts(t *testing.T) {
	c := servertest.Write(t, t.TempDir(), "kubeharden")
	s, err := New(Options{CertFile: c.CertFile, KeyFile: c.KeyFile})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.TLSConfig().ClientAuth; got != tls.NoClientCert {
		t.Fatalf("client certificates requested by default: %v", got)
	}
	s.RequestClientCerts()
	cfg := s.TLSConfig()
	if cfg.ClientAuth != tls.RequestClientCert || cfg.MinVersion != tls.VersionTLS12 {
		t.Fatalf("ClientAuth %v, MinVersion %x", cfg.ClientAuth, cfg.MinVersion)
	}
}
