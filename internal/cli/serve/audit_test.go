package serve

import (
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubeharden/kubeharden/internal/cli/cmdutil"
	"github.com/kubeharden/kubeharden/server/servertest"
)

// serve --audit-webhook alone: the API server's token is accepted, its
// events' alerts come out on standard output as JSON lines, anyone else is
// refused, and /metrics counts events and alerts.
func TestServeAuditWebhook(t *testing.T) {
	dir := t.TempDir()
	certs := servertest.Write(t, dir, "kubeharden-audit")
	apiserver := servertest.WriteClient(t, t.TempDir(), "kube-apiserver")
	tokens := filepath.Join(dir, "tokens")
	os.WriteFile(tokens, []byte("# the API server's\nt0ken-of-the-apiserver\n"), 0o600)
	sv := runServe(t, "--audit-webhook", "--audit-webhook-token-file", tokens, "--audit-webhook-client-ca", apiserver.CAFile,
		"--bind-address", "127.0.0.1:0", "--tls-cert-file", certs.CertFile, "--tls-private-key-file", certs.KeyFile)
	addr, stdout := sv.addr, sv.stdout
	base := "https://" + addr.String()
	client := func(cert *tls.Certificate) *http.Client {
		cfg := &tls.Config{RootCAs: certs.Pool}
		if cert != nil {
			cfg.Certificates = []tls.Certificate{*cert}
		}
		return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
	}
	event := `{"level":"Metadata","auditID":"a1","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/app/secrets/db","verb":"get","user":{"username":"alice"},"objectRef":{"resource":"secrets","namespace":"app","name":"db"},"responseStatus":{"code":200},"annotations":{"authorization.k8s.io/decision":"allow"},"stageTimestamp":"2026-12-06T03:00:00Z"}`
	body := `{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[` + event + `]}`
	post := func(c *http.Client, token, body string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, base+"/audit", strings.NewReader(body))
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
	if got := post(client(nil), "", body); got != http.StatusUnauthorized {
		t.Errorf("no credentials: %d, want 401", got)
	}
	if got := post(client(nil), "guess", body); got != http.StatusForbidden {
		t.Errorf("wrong token: %d, want 403", got)
	}
	if stdout.String() != "" {
		t.Fatalf("refused requests made alerts: %s", stdout.String())
	}
	if got := post(client(nil), "t0ken-of-the-apiserver", body); got != http.StatusOK {
		t.Fatalf("API server's token: %d", got)
	}
	if got := post(client(&apiserver.Cert), "", strings.Replace(body, `"a1"`, `"a2"`, 1)); got != http.StatusOK {
		t.Fatalf("API server's client certificate: %d", got)
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 alert lines on stdout, got %q", stdout.String())
	}
	for i, l := range lines {
		var a struct{ Rule, AuditID, Severity string }
		if err := json.Unmarshal([]byte(l), &a); err != nil || a.Rule != "audit-secret-read-by-user" || a.AuditID != []string{"a1", "a2"}[i] || a.Severity != "medium" {
			t.Errorf("alert line %q (%v)", l, err)
		}
	}
	resp, err := client(nil).Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(metrics), "kubeharden_audit_events_total 2") || !strings.Contains(string(metrics), `kubeharden_audit_alerts_total{rule="audit-secret-read-by-user",severity="medium"} 2`) {
		t.Errorf("/metrics:\n%s", metrics)
	}
}

func TestServeAuditWebhookNeedsAuthentication(t *testing.T) {
	certs := servertest.Write(t, t.TempDir(), "kubeharden-audit")
	cmd := newCommand(cmdutil.Streams{In: strings.NewReader(""), Out: io.Discard, Err: io.Discard}, hooks{})
	cmd.SetArgs([]string{"--audit-webhook", "--bind-address", "127.0.0.1:0", "--tls-cert-file", certs.CertFile, "--tls-private-key-file", certs.KeyFile})
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.Execute()
	if err == nil || !strings.Contains(err.Error(), "--audit-webhook-client-ca or --audit-webhook-token-file") {
		t.Fatalf("error %v", err)
	}
}
