package runtime

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/yaml"

	"github.com/kubeharden/kubeharden/internal/cli/cmdutil"
	"github.com/kubeharden/kubeharden/internal/testcluster"
	"github.com/kubeharden/kubeharden/procwatch"
)

func TestMain(m *testing.M) { testcluster.Main(m) }

func run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := NewCommand(cmdutil.Streams{In: strings.NewReader(""), Out: &out, Err: &errb})
	cmd.SetArgs(args)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	err := cmd.Execute()
	var exit *cmdutil.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		code = exit.Code
		errb.WriteString(err.Error())
	default:
		code = 1
		errb.WriteString(err.Error())
	}
	return out.String(), errb.String(), code
}

func TestBadInput(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "allow.yaml")
	os.WriteFile(bad, []byte("apiVersion: kubeharden.io/v1alpha1\nkind: RuntimeAllowlist\nspec:\n  workloads:\n  - {namespace: a, kind: Pod, name: p, containers: {c: [sleep]}}\n"), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"watch", "-f", bad, "--no-api"}, bad + `:5: spec.workloads[0].containers.c: "sleep" is not an absolute path`},
		{[]string{"learn", "-f", bad, "--no-api"}, bad + ":5:"},
		{[]string{"watch", "-o", "xml"}, `unknown output format "xml"`},
		{[]string{"watch", "-f", filepath.Join(t.TempDir(), "missing.yaml")}, "reading the allow-list"},
	} {
		_, stderr, code := run(t, tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
}

func requireConnector(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: the proc connector needs CAP_NET_ADMIN")
	}
	c, err := procwatch.OpenConnector()
	if err != nil {
		t.Skipf("the proc connector is not available: %v", err)
	}
	c.Close()
}

// watchShell runs watch --host with args while a shell runs on the host,
// and returns stdout, stderr and the shell's PID.
func watchShell(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	type result struct {
		out, err string
		code     int
	}
	done := make(chan result, 1)
	go func() {
		o, e, c := run(t, append([]string{"watch", "--host", "--no-api", "--no-writes", "-o", "jsonl", "--duration", "2500ms"}, args...)...)
		done <- result{o, e, c}
	}()
	time.Sleep(time.Second)
	sh := exec.Command("/bin/sh", "-c", "sleep 0.3; true")
	if err := sh.Run(); err != nil {
		t.Fatal(err)
	}
	var r result
	select {
	case r = <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("watch did not stop after --duration")
	}
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.err)
	}
	if !strings.Contains(r.err, "kubeharden: runtime: connector;") {
		t.Errorf("no summary on stderr: %q", r.err)
	}
	return r.out, r.err, sh.Process.Pid
}

// watch -o jsonl streams alerts in the documented shape: a shell on the
// host, judged because --host asks for it.
func TestWatchJSONLines(t *testing.T) {
	requireConnector(t)
	noConfig := filepath.Join(t.TempDir(), "kubeharden.yaml")
	os.WriteFile(noConfig, []byte("failOn: high\n"), 0o644)
	out, _, pid := watchShell(t, "--config", noConfig)
	found := false
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("not a JSON line: %q: %v", sc.Text(), err)
		}
		for _, k := range []string{"rule", "severity", "time", "pid", "ppid", "uid", "exe", "args", "container", "pod", "workload", "message"} {
			if _, ok := m[k]; !ok {
				t.Errorf("alert without %q: %s", k, sc.Text())
			}
		}
		if int(m["pid"].(float64)) == pid && m["rule"] == "runtime-shell-in-container" && m["severity"] == "high" &&
			strings.Contains(m["message"].(string), "the host") {
			found = true
		}
	}
	if !found {
		t.Errorf("no runtime-shell-in-container alert for pid %d in:\n%s", pid, out)
	}
}

// Exceptions of the configuration file cover runtime rules as they cover
// checks; a misspelt rule is an error with file and line.
func TestExceptions(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("exceptions:\n- check: runtime-shell\n  reason: typo\n"), 0o644)
	if _, stderr, code := run(t, "watch", "--config", bad, "--no-api"); code != 2 || !strings.Contains(stderr, bad+`:2: exception names unknown check "runtime-shell"`) {
		t.Errorf("bad config: exit %d, %q", code, stderr)
	}
	requireConnector(t)
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("exceptions:\n- check: runtime-shell-in-container\n  reason: the node's operators use shells\n"), 0o644)
	out, stderr, pid := watchShell(t, "--config", good)
	if strings.Contains(out, fmt.Sprintf(`"pid":%d,`, pid)) || !regexp.MustCompile(`[1-9][0-9]* excepted`).MatchString(stderr) {
		t.Errorf("excepted shell reported: %s\n%s", out, stderr)
	}
}

// deploy/runtime-daemonset.yaml is accepted by a real API server and its
// pod is admitted in the namespace it makes.
func TestDaemonSetIsAdmitted(t *testing.T) {
	c := testcluster.Shared(t)
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "deploy", "runtime-daemonset.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := c.AdminConfig()
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, doc := range strings.Split(string(data), "\n---\n") {
		var u unstructured.Unstructured
		if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
			t.Fatal(err)
		}
		if u.Object == nil {
			continue
		}
		gvk := u.GroupVersionKind()
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			t.Fatal(err)
		}
		var ri dynamic.ResourceInterface = dyn.Resource(m.Resource)
		if u.GetNamespace() != "" {
			ri = dyn.Resource(m.Resource).Namespace(u.GetNamespace())
		}
		if _, err := ri.Create(ctx, &u, metav1.CreateOptions{}); err != nil {
			t.Fatalf("%s %s: %v", gvk.Kind, u.GetName(), err)
		}
		t.Cleanup(func() { ri.Delete(context.Background(), u.GetName(), metav1.DeleteOptions{}) })
	}
	cs := kubernetes.NewForConfigOrDie(cfg)
	ds, err := cs.AppsV1().DaemonSets("kubeharden-runtime").Get(ctx, "kubeharden-runtime", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{GenerateName: "kubeharden-runtime-", Namespace: "kubeharden-runtime", Labels: ds.Spec.Template.Labels},
		Spec: ds.Spec.Template.Spec}
	pod.Spec.NodeName = "kh-dry-run"
	if _, err := cs.CoreV1().Pods("kubeharden-runtime").Create(ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
		t.Errorf("its pod is not admitted: %v", err)
	}
	caps := ds.Spec.Template.Spec.Containers[0].SecurityContext.Capabilities
	if len(caps.Add) != 2 || caps.Add[0] != "NET_ADMIN" || caps.Add[1] != "SYS_ADMIN" || len(caps.Drop) != 1 || caps.Drop[0] != "ALL" {
		t.Errorf("capabilities %+v, want all dropped and exactly NET_ADMIN and SYS_ADMIN added", caps)
	}
}

// learn merges into an existing allow-list and writes it to -o; without
// the API nothing can be named, and it says so.
func TestLearnMergesAndWrites(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "base.yaml")
	os.WriteFile(base, []byte(`{"apiVersion":"kubeharden.io/v1alpha1","kind":"RuntimeAllowlist","spec":{"workloads":[{"namespace":"shop","kind":"Deployment","name":"web","containers":{"web":["/app/*","/bin/sleep"]}}]}}`), 0o644)
	out := filepath.Join(dir, "learned.yaml")
	_, stderr, code := run(t, "learn", "--no-api", "--poll", "50ms", "--duration", "300ms", "-f", base, "-o", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want := "# Written by kubeharden runtime learn: review before use.\napiVersion: kubeharden.io/v1alpha1\nkind: RuntimeAllowlist\nspec:\n  workloads:\n" +
		"    - namespace: shop\n      kind: Deployment\n      name: web\n      containers:\n        web:\n          - /app/*\n          - /bin/sleep\n"
	if string(data) != want {
		t.Errorf("learned:\n%s\nwant:\n%s", data, want)
	}
	if !strings.Contains(stderr, "learned 1 workloads (Deployment shop/web)") {
		t.Errorf("stderr %q", stderr)
	}
}
