package serve

import (
	"crypto/tls"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kubeharden/kubeharden/internal/testcluster"
	"github.com/kubeharden/kubeharden/server/servertest"
)

// serve --runtime next to --audit-webhook: both components' counters are
// on the one /metrics, the runtime watcher becomes ready and counts the
// executions it sees (host processes are counted, never judged), and
// with no kubeconfig it warns that alerts name pods by ID only.
func TestServeRuntimeSharesMetrics(t *testing.T) {
	dir := t.TempDir()
	certs := servertest.Write(t, dir, "kubeharden-node")
	tokens := filepath.Join(dir, "tokens")
	os.WriteFile(tokens, []byte("t0ken\n"), 0o600)
	sv := runServe(t, "--runtime", "--runtime-writes=false", "--node", "test-node", "--kubeconfig", filepath.Join(dir, "absent"),
		"--audit-webhook", "--audit-webhook-token-file", tokens,
		"--bind-address", "127.0.0.1:0", "--tls-cert-file", certs.CertFile, "--tls-private-key-file", certs.KeyFile)
	addr, stdout, stderr := sv.addr, sv.stdout, sv.stderr
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: certs.Pool}}}
	get := func(path string) (int, string) {
		resp, err := client.Get("https://" + addr.String() + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	testcluster.WaitFor(t, "/readyz", func() bool { code, _ := get("/readyz"); return code == http.StatusOK })
	execs := regexp.MustCompile(`(?m)^kubeharden_runtime_executions_total (\d+)$`)
	testcluster.WaitFor(t, "executions counted on /metrics", func() bool {
		_ = exec.Command("/bin/true").Run()
		_, body := get("/metrics")
		m := execs.FindStringSubmatch(body)
		if m == nil {
			return false
		}
		n, _ := strconv.Atoi(m[1])
		return n > 0
	})
	_, body := get("/metrics")
	for _, want := range []string{"kubeharden_audit_events_total 0", "kubeharden_runtime_lost_events_total ", "kubeharden_runtime_vanished_total "} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, body)
		}
	}
	if !strings.Contains(stderr.String(), "by ID only") {
		t.Errorf("no warning about naming pods by ID only:\n%s", stderr.String())
	}
	if stdout.String() != "" {
		t.Errorf("host processes raised alerts: %s", stdout.String())
	}
}
