package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kubeharden/kubeharden/server/servertest"
)

// start runs a server on a loopback port and returns its base URL and a
// client trusting its CA; the server stops when the test ends.
func start(t *testing.T, opts Options, setup func(*Server)) (*Server, string, *http.Client, func() error) {
	t.Helper()
	certs := servertest.Write(t, t.TempDir(), "kubeharden-test")
	opts.Addr, opts.CertFile, opts.KeyFile = "127.0.0.1:0", certs.CertFile, certs.KeyFile
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if setup != nil {
		setup(s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	stop := func() error { cancel(); return <-done }
	var stopped atomic.Bool
	t.Cleanup(func() {
		if !stopped.Load() {
			stop()
		}
	})
	actx, acancel := context.WithTimeout(ctx, 5*time.Second)
	defer acancel()
	addr, err := s.Addr(actx)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: certs.Pool}}}
	return s, "https://" + addr.String(), client, func() error { stopped.Store(true); return stop() }
}

func get(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestHealthAndReadiness(t *testing.T) {
	var ready atomic.Bool
	_, url, c, _ := start(t, Options{}, func(s *Server) {
		s.AddReadyCheck("engine", func() error {
			if !ready.Load() {
				return errors.New("compiling")
			}
			return nil
		})
	})
	if code, body := get(t, c, url+"/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz: %d %q", code, body)
	}
	if code, body := get(t, c, url+"/readyz"); code != 503 || !strings.Contains(body, "engine: compiling") {
		t.Errorf("/readyz before ready: %d %q", code, body)
	}
	ready.Store(true)
	if code, body := get(t, c, url+"/readyz"); code != 200 {
		t.Errorf("/readyz when ready: %d %q", code, body)
	}
}

func TestTLSVersions(t *testing.T) {
	_, url, c, _ := start(t, Options{}, nil)
	host := strings.TrimPrefix(url, "https://")
	pool := c.Transport.(*http.Transport).TLSClientConfig.RootCAs
	for _, v := range []uint16{tls.VersionTLS10, tls.VersionTLS11} {
		conn, err := tls.Dial("tcp", host, &tls.Config{RootCAs: pool, MinVersion: v, MaxVersion: v})
		if err == nil {
			conn.Close()
			t.Errorf("TLS version %x accepted", v)
		}
	}
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		conn, err := tls.Dial("tcp", host, &tls.Config{RootCAs: pool, MinVersion: v, MaxVersion: v})
		if err != nil {
			t.Errorf("TLS version %x refused: %v", v, err)
			continue
		}
		conn.Close()
	}
}

// A renewed certificate is served without a restart; a half-written pair
// keeps the old one in service.
func TestCertificateReload(t *testing.T) {
	s, url, c, _ := start(t, Options{}, nil)
	if code, _ := get(t, c, url+"/healthz"); code != 200 {
		t.Fatal(code)
	}
	// A new CA and certificate, written over the served files.
	dir := t.TempDir()
	renewed := servertest.Write(t, dir, "kubeharden-renewed")
	copyFile := func(from, to string) {
		b, err := readFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := writeFile(to, b); err != nil {
			t.Fatal(err)
		}
	}
	// First the certificate alone: it does not match the key, the old pair stays.
	copyFile(renewed.CertFile, s.opts.CertFile)
	bump(t, s.opts.CertFile)
	s.certs.Reload()
	if code, _ := get(t, c, url+"/healthz"); code != 200 {
		t.Fatal("the old certificate is no longer served after a half-written renewal")
	}
	copyFile(renewed.KeyFile, s.opts.KeyFile)
	bump(t, s.opts.KeyFile)
	s.certs.Reload()
	fresh := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: renewed.Pool}}}
	if code, _ := get(t, fresh, url+"/healthz"); code != 200 {
		t.Fatal("the renewed certificate is not served")
	}
	old := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: c.Transport.(*http.Transport).TLSClientConfig.RootCAs}}}
	if _, err := old.Get(url + "/healthz"); err == nil {
		t.Fatal("the old certificate is still served")
	} else {
		var unknown x509.UnknownAuthorityError
		if !errors.As(err, &unknown) {
			t.Logf("old CA refused with: %v", err)
		}
	}
}

func TestRequestLimit(t *testing.T) {
	_, url, c, _ := start(t, Options{MaxRequestBytes: 1024}, func(s *Server) {
		s.Handle("POST /echo", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, err := io.ReadAll(r.Body); err != nil {
				var tooLarge *http.MaxBytesError
				if errors.As(err, &tooLarge) {
					http.Error(w, "too large", http.StatusRequestEntityTooLarge)
					return
				}
			}
		}))
	})
	for _, tc := range []struct {
		name string
		body io.Reader
		code int
	}{
		{"small", strings.NewReader("hello"), 200},
		{"declared too large", strings.NewReader(strings.Repeat("x", 2048)), 413},
		{"chunked too large", io.MultiReader(strings.NewReader(strings.Repeat("x", 2048))), 413},
	} {
		resp, err := c.Post(url+"/echo", "text/plain", tc.body)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.code {
			t.Errorf("%s: HTTP %d, want %d", tc.name, resp.StatusCode, tc.code)
		}
	}
}

// On shutdown, a running request finishes and readiness fails at once.
func TestGracefulShutdown(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	s, url, c, stop := start(t, Options{ShutdownTimeout: 5 * time.Second}, func(s *Server) {
		s.Handle("GET /slow", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			close(started)
			<-release
			io.WriteString(w, "done")
		}))
	})
	result := make(chan string, 1)
	go func() {
		resp, err := c.Get(url + "/slow")
		if err != nil {
			result <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		result <- string(b)
	}()
	<-started
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	deadline := time.Now().Add(5 * time.Second)
	for s.Ready() == nil && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if s.Ready() == nil {
		t.Error("still ready while shutting down")
	}
	close(release)
	if got := <-result; got != "done" {
		t.Errorf("in-flight request: %q", got)
	}
	if err := <-stopped; err != nil {
		t.Errorf("shutdown: %v", err)
	}
}

func TestShutdownTimeout(t *testing.T) {
	started := make(chan struct{})
	block := make(chan struct{})
	defer close(block)
	_, url, c, stop := start(t, Options{ShutdownTimeout: 100 * time.Millisecond}, func(s *Server) {
		s.Handle("GET /stuck", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			close(started)
			<-block
		}))
	})
	go c.Get(url + "/stuck")
	<-started
	err := stop()
	if err == nil || !strings.Contains(err.Error(), "shutdown timeout") {
		t.Errorf("shutdown with a stuck request: %v", err)
	}
}
