package serve

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubeharden/kubeharden/internal/cli/cmdutil"
	"github.com/kubeharden/kubeharden/internal/testcluster"
)

func TestScannerUsage(t *testing.T) {
	cmd := newCommand(cmdutil.Streams{In: strings.NewReader(""), Out: &bytes.Buffer{}, Err: &bytes.Buffer{}}, hooks{})
	cmd.SetArgs([]string{"--scanner", "--leader-elect", "--namespace", "", "--bind-address", "127.0.0.1:0", "--metrics-bind-address", "0"})
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	err := cmd.Execute()
	var exit *cmdutil.ExitError
	if !errors.As(err, &exit) || exit.Code != 2 || !strings.Contains(err.Error(), "--leader-elect needs") {
		t.Errorf("err = %v, want exit 2 naming --leader-elect", err)
	}
}

// "serve --scanner" without certificate flags watches the test cluster,
// serves /metrics and the probes on --metrics-bind-address, and a
// privileged pod shows in the metrics.
// serveScanner runs "serve --scanner" in-process against the shared test
// cluster, with args added, on free loopback ports until the test ends
// (then it must have stopped cleanly); it returns the metrics address,
// the HTTPS address once listening, and the server's standard error.
func serveScanner(t *testing.T, c *testcluster.Cluster, args ...string) (metricsAddr string, https net.Addr, stderr *lockedBuffer) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	metricsAddr = ln.Addr().String()
	ln.Close()
	sv := runServe(t, append([]string{"--scanner", "--bind-address", "127.0.0.1:0", "--metrics-bind-address", metricsAddr,
		"--kubeconfig", c.KubeconfigPath(testcluster.Admin), "--policy-reports=false"}, args...)...)
	return metricsAddr, sv.addr, sv.stderr
}

func TestServeScanner(t *testing.T) {
	c := testcluster.Shared(t)
	metricsAddr, _, _ := serveScanner(t, c)
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + metricsAddr + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	testcluster.WaitFor(t, "serve --scanner to be ready", func() bool {
		code, _ := get("/readyz")
		return code == 200
	})
	if code, body := get("/healthz"); code != 200 {
		t.Errorf("/healthz: %d %s", code, body)
	}

	kube := kubernetes.NewForConfigOrDie(c.AdminConfig())
	const ns = "serve-scanner"
	if _, err := kube.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kube.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	yes := true
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "priv", Namespace: ns},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app:1", SecurityContext: &corev1.SecurityContext{Privileged: &yes}}}}}
	start := time.Now()
	if _, err := kube.CoreV1().Pods(ns).Create(context.Background(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	want := `kubeharden_findings{check="privileged-container",severity="critical",namespace="` + ns + `",kind="Pod"} 1`
	testcluster.WaitFor(t, "the privileged pod in /metrics", func() bool {
		_, body := get("/metrics")
		return strings.Contains(body, want)
	})
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the finding took %v to reach /metrics, want at most 2s", d)
	}
}
