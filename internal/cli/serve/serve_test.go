package serve

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubeharden/kubeharden/internal/cli/cmdutil"
	"github.com/kubeharden/kubeharden/server/servertest"
)

// Usage and configuration errors exit 2 before anything listens.
func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	certs := servertest.Write(t, dir, "x")
	badCfg := filepath.Join(dir, "bad.yaml")
	os.WriteFile(badCfg, []byte("checks: [no-such-check]\n"), 0o600)
	tls := []string{"--tls-cert-file", certs.CertFile, "--tls-private-key-file", certs.KeyFile, "--bind-address", "127.0.0.1:0"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{tls, "nothing to serve"},
		{[]string{"--admission"}, "--tls-cert-file and --tls-private-key-file are required"},
		{append([]string{"--admission", "--deny-severity", "severe"}, tls...), "--deny-severity"},
		{append([]string{"--admission", "--min-severity", "severe"}, tls...), "--min-severity"},
		{append([]string{"--admission", "--checks", "no-such-check"}, tls...), "unknown check"},
		{append([]string{"--admission", "--config", badCfg}, tls...), "unknown check"},
		{append([]string{"--admission", "--checks", "namespace-without-default-deny"}, tls...), "cannot run on single live objects"},
		{append([]string{"--admission", "--log-format", "xml"}, tls...), "--log-format"},
		{[]string{"--admission", "--tls-cert-file", filepath.Join(dir, "missing.crt"), "--tls-private-key-file", certs.KeyFile}, "missing.crt"},
	} {
		cmd := newCommand(cmdutil.Streams{In: strings.NewReader(""), Out: &bytes.Buffer{}, Err: &bytes.Buffer{}}, hooks{})
		cmd.SetArgs(tc.args)
		cmd.SilenceErrors, cmd.SilenceUsage = true, true
		err := cmd.Execute()
		var exit *cmdutil.ExitError
		if !errors.As(err, &exit) || exit.Code != 2 || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want exit 2 with %q", tc.args, err, tc.want)
		}
	}
}

// served is an in-process "kubeharden serve" of a test.
type served struct {
	addr           net.Addr // of the HTTPS port
	stdout, stderr *lockedBuffer
}

// runServe runs "kubeharden serve" in-process with args until the test
// ends (it must then stop cleanly; its log is shown when the test failed),
// and returns once it listens.
func runServe(t *testing.T, args ...string) served {
	t.Helper()
	sv := served{stdout: &lockedBuffer{}, stderr: &lockedBuffer{}}
	addrc := make(chan net.Addr, 1)
	cmd := newCommand(cmdutil.Streams{In: strings.NewReader(""), Out: sv.stdout, Err: sv.stderr}, hooks{listening: func(a net.Addr) { addrc <- a }})
	cmd.SetArgs(args)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		if t.Failed() {
			t.Logf("serve log:\n%s", sv.stderr.String())
		}
	})
	select {
	case sv.addr = <-addrc:
	case err := <-done:
		done <- err // for the cleanup
		t.Fatalf("serve exited: %v\n%s", err, sv.stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not listen")
	}
	return sv
}

// lockedBuffer collects a server's output for the test to read.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startServe runs "serve" in-process on a loopback port with args added,
// waits until it is ready, and returns its base URL and a client trusting
// its certificate.
func startServe(t *testing.T, args ...string) (string, *http.Client) {
	t.Helper()
	dir := t.TempDir()
	certs := servertest.Write(t, dir, "kubeharden-webhook")
	addr := runServe(t, append([]string{"--admission", "--bind-address", "127.0.0.1:0", "--tls-cert-file", certs.CertFile, "--tls-private-key-file", certs.KeyFile}, args...)...).addr
	base := "https://" + addr.String()
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: certs.Pool}, ForceAttemptHTTP2: true}}
	pctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	poll(pctx, t, "/readyz", func() (bool, error) {
		resp, err := hc.Get(base + "/readyz")
		if err != nil {
			return false, err
		}
		resp.Body.Close()
		return resp.StatusCode == 200, nil
	})
	return base, hc
}

// Malformed and oversized AdmissionReviews sent to the real server get a
// clear error response, and the server goes on answering.
func TestMalformedAndOversizedReviews(t *testing.T) {
	base, hc := startServe(t, "--max-request-bytes", "65536")
	const head = `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u1","kind":{"version":"v1","kind":"Pod"},"namespace":"shop","operation":"CREATE","object":`
	valid := head + `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"a","image":"x:1","securityContext":{"privileged":true}}]}}}}`
	big := head + `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","annotations":{"a":"` + strings.Repeat("x", 70000) + `"}}}}}`
	deep := head + strings.Repeat("[", 30000) + strings.Repeat("]", 30000) + "}}"
	for _, tc := range []struct {
		name    string
		body    io.Reader
		code    int
		message string
	}{
		{"declared too large", strings.NewReader(big), 413, "exceeds the limit of 65536 bytes"},
		{"chunked too large", io.MultiReader(strings.NewReader(big)), 413, "AdmissionReview exceeds the limit of 65536 bytes"},
		{"not JSON", strings.NewReader("{{{"), 400, "not an AdmissionReview"},
		{"truncated", strings.NewReader(valid[:len(valid)/2]), 400, "not an AdmissionReview"},
		{"nested too deep", strings.NewReader(deep), 400, "not an AdmissionReview"},
		{"wrong version", strings.NewReader(strings.Replace(valid, "admission.k8s.io/v1", "admission.k8s.io/v1beta1", 1)), 400, "set admissionReviewVersions: [v1]"},
		{"object of the wrong shape", strings.NewReader(head + `{"apiVersion":"v1","kind":"Pod","spec":{"containers":7}}}}`), 200, "kubeharden cannot decode the object"},
		{"valid, after all that", strings.NewReader(valid), 200, `"allowed":false`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := hc.Post(base+"/validate", "application/json", tc.body)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.code || !strings.Contains(string(body), tc.message) {
				t.Errorf("HTTP %d %.300s, want %d with %q", resp.StatusCode, body, tc.code, tc.message)
			}
		})
	}
}
