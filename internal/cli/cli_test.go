package cli_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubeharden/kubeharden/internal/cli"
)

type result struct {
	code           int
	stdout, stderr string
}

func run(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Main(args, cli.Streams{In: strings.NewReader(stdin), Out: &out, Err: &errb})
	return result{code, out.String(), errb.String()}
}

type doc struct {
	Findings []struct {
		Check    string
		Severity string
		Object   struct{ Kind, Namespace, Name string }
		Location struct {
			File string
			Line int
		}
		Message, Remediation string
	}
	Suppressed []struct{ Check string }
	Objects    []struct {
		Object struct{ Kind, Name string }
		PSS    *struct {
			Level   string
			Failing []string
		}
	}
	Errors []struct {
		File    string
		Line    int
		Message string
	}
	Notices []struct{ Kind, File string }
	Summary struct {
		Objects, Findings, Suppressed, Errors, Skipped int
	}
}

func parse(t *testing.T, r result) doc {
	t.Helper()
	var d doc
	if err := json.Unmarshal([]byte(r.stdout), &d); err != nil {
		t.Fatalf("output is not JSON: %v\n%s\nstderr: %s", err, r.stdout, r.stderr)
	}
	return d
}

const repo = "../.."

func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const privileged = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: example.org/web:latest
        securityContext:
          privileged: true
`

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	f := write(t, dir, "dep.yaml", privileged)
	if r := run(t, "", "scan", f, "-o", "json"); r.code != 0 {
		t.Errorf("default --fail-on none: exit %d, want 0", r.code)
	}
	if r := run(t, "", "scan", f, "-o", "json", "--fail-on", "critical"); r.code != 1 {
		t.Errorf("--fail-on critical with a privileged container: exit %d, want 1", r.code)
	}
	if r := run(t, "", "scan", f, "-o", "json", "--fail-on", "critical", "--skip", "privileged-container"); r.code != 0 {
		t.Errorf("--skip the only critical check: exit %d, want 0 (%s)", r.code, r.stdout[:min(len(r.stdout), 300)])
	}
	for _, args := range [][]string{
		{"scan"},
		{"scan", f, "-o", "xml"},
		{"scan", f, "--checks", "no-such-check"},
		{"scan", f, "--fail-on", "severe"},
		{"scan", f, "--min-severity", "huge"},
		{"scan", f, "--checks", "privileged-container", "--skip", "privileged-container"},
		{"scan", f, "--no-such-flag"},
		{"checks", "explain", "no-such-check"},
		{"frobnicate"},
	} {
		if r := run(t, "", args...); r.code != 2 || r.stderr == "" {
			t.Errorf("%v: exit %d, stderr %q; want 2 with a message", args, r.code, r.stderr)
		}
	}
}

func TestChecksAndMinSeverity(t *testing.T) {
	f := write(t, t.TempDir(), "dep.yaml", privileged)
	d := parse(t, run(t, "", "scan", f, "-o", "json", "--checks", "privileged-container,image-tag-latest"))
	for _, fd := range d.Findings {
		if fd.Check != "privileged-container" && fd.Check != "image-tag-latest" {
			t.Errorf("--checks ran %s", fd.Check)
		}
	}
	if len(d.Findings) != 2 {
		t.Errorf("got %d findings, want 2", len(d.Findings))
	}
	d = parse(t, run(t, "", "scan", f, "-o", "json", "--min-severity", "critical"))
	for _, fd := range d.Findings {
		if fd.Severity != "critical" {
			t.Errorf("--min-severity critical reported %s (%s)", fd.Check, fd.Severity)
		}
	}
}

func TestStdinAndBadInputInEveryFormat(t *testing.T) {
	dir := t.TempDir()
	bad := write(t, dir, "bad.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\nspec: [unclosed\n")
	good := write(t, dir, "good.yaml", privileged)
	r := run(t, privileged, "scan", "-", "-o", "json")
	if d := parse(t, r); len(d.Findings) == 0 || d.Findings[0].Location.File != "<stdin>" {
		t.Errorf("stdin not scanned or not named: %+v", d.Findings)
	}
	for _, format := range []string{"json", "table", "sarif", "junit"} {
		r := run(t, "", "scan", bad, good, "-o", format)
		if r.code != 2 {
			t.Errorf("-o %s: malformed input exited %d, want 2", format, r.code)
		}
		if !strings.Contains(r.stdout, "bad.yaml") || !strings.Contains(r.stdout, "5") {
			t.Errorf("-o %s: output does not name bad.yaml and its line:\n%s", format, r.stdout)
		}
		if !strings.Contains(r.stdout, "privileged-container") {
			t.Errorf("-o %s: the good file was not scanned next to the bad one", format)
		}
		if strings.Contains(r.stderr, "panic") {
			t.Errorf("-o %s: panic: %s", format, r.stderr)
		}
	}
	d := parse(t, run(t, "", "scan", bad, good, "-o", "json"))
	if len(d.Errors) != 1 || !strings.HasSuffix(d.Errors[0].File, "bad.yaml") || d.Errors[0].Line != 5 {
		t.Errorf("errors: %+v", d.Errors)
	}
}

func TestConfigExceptions(t *testing.T) {
	dir := t.TempDir()
	f := write(t, dir, "dep.yaml", privileged)
	cfg := write(t, dir, "kh.yaml", `exceptions:
- check: privileged-container
  kind: Deployment
  namespace: shop
  name: "w*"
  reason: needs raw devices until TICKET-9 lands
- checks: [image-tag-latest]
  name: web
  reason: temporary
  expires: 2020-01-01
- check: host-pid
  namespace: nowhere
  reason: matches nothing
`)
	d := parse(t, run(t, "", "scan", f, "-o", "json", "--config", cfg, "--show-suppressed"))
	for _, fd := range d.Findings {
		if fd.Check == "privileged-container" {
			t.Error("exception did not suppress privileged-container")
		}
	}
	latest := false
	for _, fd := range d.Findings {
		latest = latest || fd.Check == "image-tag-latest"
	}
	if !latest {
		t.Error("an expired exception must stop suppressing")
	}
	if d.Summary.Suppressed != 1 || len(d.Suppressed) != 1 {
		t.Errorf("suppressed: summary %d, listed %d", d.Summary.Suppressed, len(d.Suppressed))
	}
	kinds := map[string]bool{}
	for _, n := range d.Notices {
		kinds[n.Kind] = true
	}
	if !kinds["expired-exception"] || !kinds["unused-exception"] {
		t.Errorf("notices: %+v", d.Notices)
	}

	// A config mistake is an error with file and line, exit 2.
	badCfg := write(t, dir, "bad.yaml", "exceptions:\n- check: privileged-container\n  namesapce: shop\n  reason: x\n- check: no-such-check\n  reason: y\n- check: host-pid\n")
	r := run(t, "", "scan", f, "--config", badCfg)
	if r.code != 2 || !strings.Contains(r.stderr, "bad.yaml:2") || !strings.Contains(r.stderr, "namesapce") ||
		!strings.Contains(r.stderr, "bad.yaml:5") || !strings.Contains(r.stderr, "bad.yaml:7") || !strings.Contains(r.stderr, "reason") {
		t.Errorf("bad config: exit %d stderr %s", r.code, r.stderr)
	}
}

func TestConfigFoundUpward(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "a", "b")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	f := write(t, dir, "dep.yaml", privileged)
	write(t, dir, ".kubeharden.yaml", "skip: [privileged-container]\n")
	wd, _ := os.Getwd()
	t.Cleanup(func() { os.Chdir(wd) })
	if err := os.Chdir(sub); err != nil {
		t.Fatal(err)
	}
	d := parse(t, run(t, "", "scan", f, "-o", "json"))
	for _, fd := range d.Findings {
		if fd.Check == "privileged-container" {
			t.Fatal(".kubeharden.yaml in a parent directory was not used")
		}
	}
}

func TestAnnotationNeedsReason(t *testing.T) {
	src := strings.Replace(privileged, "  namespace: shop\n", "  namespace: shop\n  annotations:\n    kubeharden.io/ignore: privileged-container\n", 1)
	f := write(t, t.TempDir(), "dep.yaml", src)
	d := parse(t, run(t, "", "scan", f, "-o", "json"))
	found := false
	for _, fd := range d.Findings {
		found = found || fd.Check == "privileged-container"
	}
	if !found || len(d.Notices) == 0 {
		t.Errorf("an ignore annotation without a reason must not suppress, and must be reported: %+v", d.Notices)
	}
}

func TestPSSLevels(t *testing.T) {
	d := parse(t, run(t, "", "scan", filepath.Join(repo, "examples"), "-o", "json"))
	levels := map[string]string{}
	for _, o := range d.Objects {
		if o.PSS != nil {
			levels[o.Object.Name] = o.PSS.Level
		}
	}
	if levels["vulnerable-app"] != "privileged" || levels["backend"] != "restricted" {
		t.Errorf("PSS levels: %v", levels)
	}
}

func TestHardenedExamplesScanClean(t *testing.T) {
	r := run(t, "", "scan", filepath.Join(repo, "examples", "hardened"), "-o", "json", "--fail-on", "info")
	d := parse(t, r)
	for _, f := range d.Findings {
		t.Errorf("%s:%d: %s: %s", f.Location.File, f.Location.Line, f.Check, f.Message)
	}
	if r.code != 0 || d.Summary.Objects < 10 {
		t.Errorf("exit %d, %d objects", r.code, d.Summary.Objects)
	}
}

func TestInsecureExamplesFire(t *testing.T) {
	d := parse(t, run(t, "", "scan", filepath.Join(repo, "examples", "insecure"), "-o", "json"))
	got := map[string]bool{}
	for _, f := range d.Findings {
		got[f.Check] = true
		if f.Location.File == "" || f.Location.Line < 1 || f.Remediation == "" {
			t.Errorf("finding without file:line or remediation: %+v", f)
		}
	}
	for _, id := range []string{"privileged-container", "run-as-root", "secret-in-env", "image-tag-latest", "missing-resource-limits",
		"host-network", "host-pid", "host-path-volume", "host-port", "dangerous-capabilities-added", "secret-in-configmap",
		"secret-manifest-plaintext", "cluster-admin-binding", "rbac-wildcard", "rbac-secrets-access", "rbac-exec-attach",
		"rbac-anonymous-binding", "netpol-allow-all", "ingress-without-tls", "ingress-nginx-snippet", "ingress-cors-wildcard",
		"service-nodeport", "service-external-ips", "namespace-without-pss-enforce", "workload-in-default-namespace", "pod-not-isolated"} {
		if !got[id] {
			t.Errorf("insecure examples do not trigger %s", id)
		}
	}
}

func TestChecksCommand(t *testing.T) {
	r := run(t, "", "checks", "-o", "json")
	var list []struct{ ID, Severity, Remediation string }
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || len(list) < 47 {
		t.Fatalf("checks -o json: %v, %d checks", err, len(list))
	}
	r = run(t, "", "checks", "explain", "privileged-container")
	for _, want := range []string{"Severity: critical", "Remediation", "CIS 5.2.2", "kubeharden.io/ignore"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("explain lacks %q:\n%s", want, r.stdout)
		}
	}
}

// Our own in-cluster manifests pass our own checks: no findings, and the
// only suppression is the documented one on the scanner's ClusterRole.
func TestDeployManifestsScanClean(t *testing.T) {
	r := run(t, "", "scan", filepath.Join(repo, "deploy"), "-o", "json", "--show-suppressed", "--fail-on", "info")
	d := parse(t, r)
	for _, f := range d.Findings {
		t.Errorf("deploy/ %s:%d: %s: %s", f.Location.File, f.Location.Line, f.Check, f.Message)
	}
	// Suppressed: the ClusterRoles' list on secrets, and what the node
	// DaemonSets need (hostPID, read-only hostPaths, root, no probe; the
	// privileged namespace they run in), each with its reason in the file.
	var suppressed struct {
		Suppressed []struct {
			Check    string
			Location struct{ File string }
		}
	}
	json.Unmarshal([]byte(r.stdout), &suppressed)
	nodeAgent := map[string]bool{"host-pid": true, "host-path-volume": true, "run-as-root": true, "run-as-root-group": true,
		"missing-liveness-probe": true, "missing-readiness-probe": true, "namespace-without-pss-enforce": true}
	// The runtime DaemonSet (runtime-daemonset.yaml): hostPID, hostNetwork,
	// NET_ADMIN and SYS_ADMIN, root, no probe; its privileged namespace.
	runtimeAgent := map[string]bool{"host-pid": true, "host-network": true, "dangerous-capabilities-added": true, "run-as-root": true,
		"run-as-root-group": true, "missing-liveness-probe": true, "missing-readiness-probe": true, "namespace-without-pss-enforce": true}
	secrets, agent, runtimeSuppressed := 0, 0, 0
	for _, s := range suppressed.Suppressed {
		switch {
		case s.Check == "rbac-secrets-access":
			secrets++
		case filepath.Base(s.Location.File) == "node-daemonset.yaml" && nodeAgent[s.Check]:
			agent++
		case filepath.Base(s.Location.File) == "runtime-daemonset.yaml" && runtimeAgent[s.Check]:
			runtimeSuppressed++
		default:
			t.Errorf("unexpected suppression %s in %s", s.Check, s.Location.File)
		}
	}
	if r.code != 0 || secrets == 0 || agent != 32 {
		t.Errorf("exit %d, suppressed %d rbac-secrets-access (want some) and %d in node-daemonset.yaml (want 32)", r.code, secrets, agent)
	}
	if runtimeSuppressed != 9 {
		t.Errorf("suppressed %d in runtime-daemonset.yaml, want 9 (two capabilities, six other pod checks, the namespace)", runtimeSuppressed)
	}
	// The one notice: the webhook's registration, the disruption budgets
	// (the webhook's, the scanner's, and the scanner's again in the Helm
	// chart under deploy/chart, rendered with its default values),
	// the cert-manager objects, the PolicyReport CRDs, the scanner's
	// PrometheusRule and the audit webhook's kubeconfig are of kinds no
	// check covers.
	var notices struct {
		Notices []struct{ Kind, Message string }
	}
	json.Unmarshal([]byte(r.stdout), &notices)
	const uncovered = "kinds no kubeharden check covers were not checked: Certificate.cert-manager.io (2), Config (1), " +
		"CustomResourceDefinition.apiextensions.k8s.io (2), Issuer.cert-manager.io (2), " +
		"PodDisruptionBudget.policy (3), PrometheusRule.monitoring.coreos.com (1), " +
		"ValidatingWebhookConfiguration.admissionregistration.k8s.io (1)"
	if len(notices.Notices) != 1 || notices.Notices[0].Kind != "uncovered-kinds" || !strings.HasSuffix(notices.Notices[0].Message, uncovered) {
		t.Errorf("notices %+v, want one uncovered-kinds notice ending %q", notices.Notices, uncovered)
	}
}

// A repository as users have it (issue 13): tool configuration next to the
// manifests, symlinks in and out of the tree and back up it, ignored
// trees, nested Lists, YAML 1.1 values. The scan reports what the
// manifests hold, says what it skipped, and is no input error.
func TestRepositoryAsUsersHaveIt(t *testing.T) {
	fixture := filepath.Join(repo, "source", "manifest", "testdata", "repo")
	r := run(t, "", "scan", fixture, "-o", "json")
	d := parse(t, r)
	if r.code != 0 || len(d.Errors) != 0 {
		t.Fatalf("exit %d, errors %+v, stderr %s", r.code, d.Errors, r.stderr)
	}
	if d.Summary.Objects != 7 || d.Summary.Skipped != 4 {
		t.Errorf("summary %+v, want 7 objects and 4 skipped files", d.Summary)
	}
	notices := map[string]string{}
	for _, n := range d.Notices {
		notices[filepath.ToSlash(strings.TrimPrefix(n.File, fixture+string(filepath.Separator)))] = n.Kind
	}
	for file, kind := range map[string]string{
		"docker-compose.yml": "not-kubernetes", "package.json": "not-kubernetes", "tsconfig.json": "not-kubernetes",
		"k8s/patch-ops.yaml": "not-kubernetes", "k8s/loop": "symlink-loop", "again": "repeated-path",
	} {
		if notices[file] != kind {
			t.Errorf("no %s notice for %s: %v", kind, file, notices)
		}
	}
	// The privileged pod written with YAML 1.1 booleans is checked.
	found := map[string]int{}
	for _, f := range d.Findings {
		if strings.HasSuffix(f.Location.File, "yaml11.yaml") {
			found[f.Check] = f.Location.Line
		}
	}
	for check, line := range map[string]int{"privileged-container": 20, "host-pid": 11, "privilege-escalation-allowed": 21, "writable-root-filesystem": 22} {
		if found[check] != line {
			t.Errorf("%s on yaml11.yaml:%d, want line %d (%v)", check, found[check], line, found)
		}
	}
	if r := run(t, "", "scan", fixture, "-o", "json", "--fail-on", "critical"); r.code != 1 {
		t.Errorf("--fail-on critical: exit %d, want 1", r.code)
	}
	// --exclude keeps a path out, relative to the named directory.
	d = parse(t, run(t, "", "scan", fixture, "-o", "json", "--exclude", "k8s/yaml11.yaml", "--exclude", "vendored"))
	if d.Summary.Objects != 5 {
		t.Errorf("--exclude: %d objects, want 5", d.Summary.Objects)
	}
	// The table lists the notices too.
	if r := run(t, "", "scan", fixture); r.code != 0 || !strings.Contains(r.stdout, "not a Kubernetes object") || !strings.Contains(r.stdout, "loop") {
		t.Errorf("table: exit %d\n%s", r.code, r.stdout)
	}
}

// A scan that reads no Kubernetes object at all fails: in CI, "0 objects
// scanned" must not pass. An input that is empty next to one that is not
// is a notice.
func TestNothingScannedFails(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "docker-compose.yml", "services: {web: {image: x}}\n")
	r := run(t, "", "scan", dir, "-o", "json")
	d := parse(t, r)
	if r.code != 2 || !strings.Contains(r.stderr, "no Kubernetes object") || len(d.Notices) != 2 {
		t.Errorf("only non-Kubernetes YAML: exit %d, stderr %q, notices %+v", r.code, r.stderr, d.Notices)
	}
	if r := run(t, "", "scan", t.TempDir()); r.code != 2 || !strings.Contains(r.stdout, "no .yaml") {
		t.Errorf("empty directory: exit %d\n%s", r.code, r.stdout)
	}
	if r := run(t, "", "scan", "-"); r.code != 2 {
		t.Errorf("empty standard input: exit %d", r.code)
	}
	good := write(t, t.TempDir(), "dep.yaml", privileged)
	r = run(t, "", "scan", dir, good, "-o", "json")
	if d := parse(t, r); r.code != 0 || len(d.Notices) != 2 {
		t.Errorf("an empty input next to a good one: exit %d, notices %+v", r.code, d.Notices)
	}
	// kubectl get in an empty namespace prints an empty List: an answer.
	if r := run(t, "apiVersion: v1\nkind: List\nitems: []\n", "scan", "-"); r.code != 0 {
		t.Errorf("empty List: exit %d\n%s", r.code, r.stdout)
	}
}

// A selection that leaves nothing to run is a usage error, not a pass.
func TestZeroChecksIsAUsageError(t *testing.T) {
	f := write(t, t.TempDir(), "dep.yaml", privileged)
	for _, args := range [][]string{
		{"--checks", "privileged-container", "--skip", "privileged-container"},
		{"--checks", "image-tag-latest", "--min-severity", "critical"},
		// Needs a whole live cluster: never runs on manifests.
		{"--checks", "namespace-without-default-deny"},
	} {
		r := run(t, "", append([]string{"scan", f}, args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, "no check left to run") {
			t.Errorf("%v: exit %d, stderr %q", args, r.code, r.stderr)
		}
	}
	dir := t.TempDir()
	write(t, dir, ".kubeharden.yaml", "minSeverity: critical\nchecks: [image-tag-latest]\n")
	wd, _ := os.Getwd()
	t.Cleanup(func() { os.Chdir(wd) })
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	if r := run(t, "", "scan", f); r.code != 2 || !strings.Contains(r.stderr, "no check left to run") {
		t.Errorf("from the config file: exit %d, stderr %q", r.code, r.stderr)
	}
}
