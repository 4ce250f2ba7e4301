package auditevent

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubeharden/kubeharden/server"
	"github.com/kubeharden/kubeharden/server/servertest"
)

// serveWebhook runs the audit webhook on the server frame on loopback.
func serveWebhook(t *testing.T, opts WebhookOptions) (url string, certs servertest.Certs) {
	t.Helper()
	certs = servertest.Write(t, t.TempDir(), "kubeharden-audit")
	srv, err := server.New(server.Options{Addr: "127.0.0.1:0", CertFile: certs.CertFile, KeyFile: certs.KeyFile})
	if err != nil {
		t.Fatal(err)
	}
	wh, err := NewWebhook(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv.RequestClientCerts()
	srv.Handle("/audit", wh)
	if opts.Metrics != nil {
		srv.Handle("GET /metrics", opts.Metrics)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	return "https://" + ln.Addr().String(), certs
}

func client(roots *x509.CertPool, cert *tls.Certificate) *http.Client {
	cfg := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: 10 * time.Second}
}

func eventListBody(lines ...string) string {
	return `{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[` + strings.Join(lines, ",") + `]}`
}

// Only the API server is heard: by client certificate or bearer token.
// Anyone else gets 401 or 403 and nothing is processed.
func TestWebhookAuthenticatesTheAPIServer(t *testing.T) {
	apiserver := servertest.WriteClient(t, t.TempDir(), "kube-apiserver")
	stranger := servertest.WriteClient(t, t.TempDir(), "kube-apiserver")
	det := newDetector(t, Options{})
	metrics := NewMetrics()
	var mu sync.Mutex
	var alerts []*Alert
	url, certs := serveWebhook(t, WebhookOptions{Detector: det, ClientCAs: apiserver.Pool, Tokens: []string{"s3cret-token"}, Metrics: metrics,
		Alert: func(a *Alert) { mu.Lock(); alerts = append(alerts, a); mu.Unlock() }})
	body := eventListBody(execStarted, strings.Replace(execStarted, `"x1"`, `"x2"`, 1))
	post := func(c *http.Client, token, body string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, url+"/audit", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tc := range []struct {
		name  string
		c     *http.Client
		token string
		want  int
	}{
		{"nothing", client(certs.Pool, nil), "", http.StatusUnauthorized},
		{"wrong token", client(certs.Pool, nil), "guess", http.StatusForbidden},
		{"certificate of another CA", client(certs.Pool, &stranger.Cert), "", http.StatusForbidden},
		{"certificate of another CA and a wrong token", client(certs.Pool, &stranger.Cert), "s3cret-tokenX", http.StatusForbidden},
	} {
		if got := post(tc.c, tc.token, body); got != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, got, tc.want)
		}
	}
	if metrics.Events() != 0 || len(alerts) != 0 {
		t.Fatalf("refused senders were processed: %d events, %d alerts", metrics.Events(), len(alerts))
	}
	if got := post(client(certs.Pool, &apiserver.Cert), "", body); got != http.StatusOK {
		t.Fatalf("API server's certificate: status %d", got)
	}
	if got := post(client(certs.Pool, nil), "s3cret-token", strings.Replace(body, `"x`, `"y`, 2)); got != http.StatusOK {
		t.Fatalf("API server's token: status %d", got)
	}
	if got := post(client(certs.Pool, nil), "s3cret-token", `{"kind":"Event"}`); got != http.StatusBadRequest {
		t.Fatalf("not an EventList: status %d", got)
	}
	mu.Lock()
	n := len(alerts)
	mu.Unlock()
	if metrics.Events() != 4 || n != 4 {
		t.Fatalf("%d events, %d alerts; want 4 and 4", metrics.Events(), n)
	}
	resp, err := client(certs.Pool, nil).Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"kubeharden_audit_events_total 4\n", `kubeharden_audit_alerts_total{rule="audit-exec-into-pod",severity="high"} 4`} {
		if !strings.Contains(string(text), want) {
			t.Errorf("/metrics lacks %q:\n%s", want, text)
		}
	}
}

func TestNewWebhookNeedsAuthentication(t *testing.T) {
	if _, err := NewWebhook(WebhookOptions{Detector: newDetector(t, Options{})}); err == nil {
		t.Fatal("a webhook anyone may post to was built")
	}
}
