package node

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kubeharden/kubeharden/internal/cli/cmdutil"
	"github.com/kubeharden/kubeharden/internal/nodetest"
	"github.com/kubeharden/kubeharden/report"
)

const roots = "../../../source/node/testdata/roots"

// root lays out a fixture root, with overlays applied in order.
func root(t *testing.T, base string, overlays ...string) string {
	t.Helper()
	dir := nodetest.Layout(t, filepath.Join(roots, base))
	for _, o := range overlays {
		nodetest.Overlay(t, dir, filepath.Join(roots, o))
	}
	return dir
}

type jsonReport struct {
	Findings []struct {
		Check      string `json:"check"`
		References []struct {
			Framework, ID string
		} `json:"references"`
	} `json:"findings"`
	Errors     []json.RawMessage       `json:"errors"`
	Components []componentInfo         `json:"components"`
	Controls   []report.Control        `json:"controls"`
	Sections   []report.SectionSummary `json:"sections"`
}

// run runs kubeharden node with args and returns its exit code, output and report.
func run(t *testing.T, args ...string) (int, string, *jsonReport) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := NewCommand(cmdutil.Streams{In: strings.NewReader(""), Out: &out, Err: &errOut}, "test")
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.ExecuteContext(context.Background())
	code := 0
	var exit *cmdutil.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.Code
	case err != nil:
		t.Fatalf("kubeharden node %v: %v", args, err)
	}
	var rep *jsonReport
	for i, a := range args {
		if (a == "-o" || a == "--output") && i+1 < len(args) && args[i+1] == "json" {
			rep = &jsonReport{}
			if err := json.Unmarshal(out.Bytes(), rep); err != nil {
				t.Fatalf("JSON output does not parse: %v\n%s", err, out.String())
			}
		}
	}
	return code, out.String(), rep
}

// statuses returns the IDs of the CIS controls with the given status and
// type ("" for any type), sorted.
func statuses(rep *jsonReport, status, typ string) []string {
	var ids []string
	for _, c := range rep.Controls {
		if c.Framework == "CIS" && c.Status == status && (typ == "" || c.Type == typ) {
			ids = append(ids, c.ID)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return lessID(ids[i], ids[j]) })
	return ids
}

// extras returns the IDs (check IDs) of the controls beyond the benchmark
// (framework "kubeharden") with the given status, sorted.
func extras(rep *jsonReport, status string) []string {
	var ids []string
	for _, c := range rep.Controls {
		if c.Framework == "kubeharden" && c.Status == status {
			ids = append(ids, c.ID)
		}
	}
	sort.Strings(ids)
	return ids
}

func lessID(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) && i < len(bs); i++ {
		if len(as[i]) != len(bs[i]) {
			return len(as[i]) < len(bs[i])
		}
		if as[i] != bs[i] {
			return as[i] < bs[i]
		}
	}
	return len(as) < len(bs)
}

func control(t *testing.T, rep *jsonReport, id string) report.Control {
	t.Helper()
	for _, c := range rep.Controls {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("no control %s in the report", id)
	return report.Control{}
}

func automatedFails(rep *jsonReport) []string { return statuses(rep, report.ControlFail, "automated") }

func equal(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("%s:\n got  %v\n want %v", what, got, want)
	}
}

// Manual items are never failures.
func noManualFails(t *testing.T, rep *jsonReport) {
	t.Helper()
	if ids := statuses(rep, report.ControlFail, "manual"); len(ids) > 0 {
		t.Errorf("Manual items reported as failures: %v", ids)
	}
}

func TestK3sServer(t *testing.T) {
	code, _, rep := run(t, "--root", root(t, "k3s-server"), "--proc", "none", "-o", "json", "--fail-on", "low")
	if code != 0 {
		t.Errorf("exit %d, want 0", code)
	}
	equal(t, "automated failures", automatedFails(rep), nil)
	noManualFails(t, rep)
	// k3s has no pod specification files, runs no etcd with SQLite (the
	// API server reaches kine over a unix socket) and renews the kubelet's
	// certificates itself: none of that is a failure.
	equal(t, "not applicable", statuses(rep, report.ControlNotApplicable, ""), []string{
		"1.1.1", "1.1.2", "1.1.3", "1.1.4", "1.1.5", "1.1.6", "1.1.7", "1.1.8", "1.1.11", "1.1.12",
		"1.2.23", "1.2.26", "2.1", "2.2", "2.3", "2.4", "2.5", "2.6", "2.7", "4.2.10"})
	// Beyond the benchmark: config.yaml's protect-kernel-defaults passes,
	// the debugging handlers are on (a warning), no etcd to judge.
	equal(t, "kubeharden failures", extras(rep, report.ControlFail), nil)
	equal(t, "kubeharden not applicable", extras(rep, report.ControlNotApplicable), []string{"etcd-cipher-suites"})
	equal(t, "kubeharden manual", extras(rep, report.ControlManual), []string{"kubelet-debugging-handlers"})
	if c := control(t, rep, "kubelet-protect-kernel-defaults"); c.Status != report.ControlPass || c.Source == nil ||
		!strings.HasSuffix(c.Source.File, "/etc/rancher/k3s/config.yaml") || c.Source.Line != 2 {
		t.Errorf("kubelet-protect-kernel-defaults = %+v, want pass from config.yaml line 2", c)
	}
	c := control(t, rep, "1.2.16")
	if c.Source == nil || c.Source.Kind != "config" || !strings.HasSuffix(c.Source.File, "/etc/rancher/k3s/config.yaml") || c.Source.Line != 5 {
		t.Errorf("1.2.16 source = %+v, want config.yaml line 5", c.Source)
	}
	c = control(t, rep, "4.2.1")
	if c.Source == nil || !strings.HasSuffix(c.Source.File, "kubelet.conf.d/00-k3s-defaults.conf") || c.Source.Key != "authentication.anonymous.enabled" {
		t.Errorf("4.2.1 source = %+v, want the k3s kubelet drop-in", c.Source)
	}
	if c := control(t, rep, "1.3.1"); c.Source == nil || c.Source.Kind != "unit" || !strings.HasSuffix(c.Source.File, "k3s.service") {
		t.Errorf("1.3.1 source = %+v, want the flag in k3s.service", c.Source)
	}
	if len(rep.Components) != 5 {
		t.Errorf("components = %+v, want the five k3s embeds with SQLite", rep.Components)
	}
}

func TestK3sServerBroken(t *testing.T) {
	code, _, rep := run(t, "--root", root(t, "k3s-server", "k3s-server-broken"), "--proc", "none", "-o", "json", "--fail-on", "high")
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	equal(t, "automated failures", automatedFails(rep), []string{
		"1.1.13", "1.2.6", "1.2.7", "1.2.8", "1.2.15", "1.2.16", "1.2.17", "1.2.18", "1.2.19", "1.2.30", "4.2.1", "4.2.2"})
	noManualFails(t, rep)
	// The broken config.yaml drops protect-kernel-defaults.
	equal(t, "kubeharden failures", extras(rep, report.ControlFail), []string{"kubelet-protect-kernel-defaults"})
	if c := control(t, rep, "1.2.1"); c.Status != report.ControlManual {
		t.Errorf("1.2.1 (Manual) with --anonymous-auth=true is %s, want manual", c.Status)
	}
	c := control(t, rep, "4.2.1")
	if c.Source == nil || !strings.HasSuffix(c.Source.File, "config.yaml.d/50-kubelet.yaml") || c.Source.Line != 3 {
		t.Errorf("4.2.1 source = %+v, want config.yaml.d/50-kubelet.yaml:3", c.Source)
	}
	// One finding per failing or manual control, referring to its item.
	n := 0
	for _, f := range rep.Findings {
		for _, r := range f.References {
			if r.Framework == "CIS" {
				n++
			}
		}
	}
	if want := len(statuses(rep, report.ControlFail, "")) + len(statuses(rep, report.ControlManual, "")); n != want {
		t.Errorf("%d findings with CIS references, want %d (one per fail or manual control)", n, want)
	}
}

func TestRKE2Server(t *testing.T) {
	_, _, rep := run(t, "--root", root(t, "rke2-server"), "--proc", "none", "-o", "json")
	equal(t, "automated failures", automatedFails(rep), nil)
	noManualFails(t, rep)
	equal(t, "not applicable", statuses(rep, report.ControlNotApplicable, ""), []string{"4.1.9", "4.1.10", "4.2.10"})
	// etcd's configuration file names no cipher suites; config.yaml sets
	// protect-kernel-defaults.
	equal(t, "kubeharden failures", extras(rep, report.ControlFail), []string{"etcd-cipher-suites"})
	if c := control(t, rep, "etcd-cipher-suites"); c.Component != "etcd" || c.Title == "" || c.Check != "etcd-cipher-suites" || c.Remediation == "" {
		t.Errorf("etcd-cipher-suites control = %+v", c)
	}
	// etcd's settings come from its --config-file.
	c := control(t, rep, "2.2")
	if c.Status != report.ControlPass || c.Source == nil || c.Source.Key != "client-transport-security.client-cert-auth" {
		t.Errorf("2.2 = %+v, want pass from the etcd config file", c)
	}
}

func TestRKE2ServerBroken(t *testing.T) {
	_, _, rep := run(t, "--root", root(t, "rke2-server", "rke2-server-broken"), "--proc", "none", "-o", "json")
	// The etcd manifest's --client-cert-auth=true is ignored: etcd reads
	// only its --config-file, which says false.
	equal(t, "automated failures", automatedFails(rep), []string{"1.1.1", "1.1.11", "1.1.12", "2.2", "2.3", "2.4", "2.5"})
	noManualFails(t, rep)
}

func TestWorkerOnly(t *testing.T) {
	_, _, rep := run(t, "--root", root(t, "kubeadm-worker"), "--proc", "none", "-o", "json")
	equal(t, "automated failures", automatedFails(rep), nil)
	noManualFails(t, rep)
	// Beyond the benchmark: the worker's kubelet is judged, etcd is not
	// there.
	equal(t, "kubeharden failures", extras(rep, report.ControlFail), []string{"kubelet-protect-kernel-defaults"})
	equal(t, "kubeharden not applicable", extras(rep, report.ControlNotApplicable), []string{"etcd-cipher-suites"})
	equal(t, "kubeharden manual", extras(rep, report.ControlManual), []string{"kubelet-debugging-handlers"})
	for _, c := range rep.Controls {
		if c.Framework != "CIS" {
			continue
		}
		controlPlane := !strings.HasPrefix(c.ID, "4.")
		if controlPlane && c.Status != report.ControlNotApplicable {
			t.Errorf("%s on a worker is %s, want not-applicable", c.ID, c.Status)
		}
		if !controlPlane && c.Component == "kubelet" && c.Status == report.ControlNotApplicable {
			t.Errorf("kubelet item %s is not-applicable on a node with a kubelet", c.ID)
		}
	}
	// Precedence: /etc/default/kubelet (EnvironmentFile, which wins over
	// Environment=) sets --read-only-port=10255 over the config file's 0;
	// the later drop-in sets seccompDefault true over the earlier false.
	c := control(t, rep, "4.2.4")
	if c.Status != report.ControlManual || c.Source == nil || !strings.HasSuffix(c.Source.File, "/etc/default/kubelet") || c.Source.Key != "KUBELET_EXTRA_ARGS" {
		t.Errorf("4.2.4 = %+v, want manual from /etc/default/kubelet", c)
	}
	if c := control(t, rep, "4.2.14"); c.Status != report.ControlPass || c.Source == nil || !strings.HasSuffix(c.Source.File, "20-seccomp.conf") {
		t.Errorf("4.2.14 = %+v, want pass from the later drop-in", c)
	}
	if c := control(t, rep, "4.2.13"); c.Status != report.ControlPass || c.Source == nil || !strings.HasSuffix(c.Source.File, "10-pids.conf") {
		t.Errorf("4.2.13 = %+v, want pass from 10-pids.conf", c)
	}
	// kubeadm writes streamingConnectionIdleTimeout: 0s, which the config
	// API defaults to 4h.
	if c := control(t, rep, "4.2.5"); c.Status != report.ControlPass {
		t.Errorf("4.2.5 = %+v, want pass (0s in the file is the 4h default)", c)
	}
	if len(rep.Sections) == 0 || rep.Sections[0].Section != "1.1" {
		t.Errorf("sections = %+v", rep.Sections)
	}
	// The controls beyond the benchmark are counted in a section of their
	// own, after the benchmark's.
	last := rep.Sections[len(rep.Sections)-1]
	if last.Section != "kubeharden" || last.Fail != 1 || last.Manual != 1 || last.NotApplicable != 1 || last.Pass != 0 {
		t.Errorf("last section = %+v, want kubeharden with 1 fail, 1 manual, 1 not-applicable", last)
	}
}

func TestNoComponentIsAnError(t *testing.T) {
	code, _, _ := run(t, "--root", t.TempDir(), "--proc", "none")
	if code != 2 {
		t.Errorf("exit %d for a root without any component, want 2", code)
	}
}

func TestBadConfigFileIsAnInputError(t *testing.T) {
	dir := root(t, "kubeadm-worker")
	if err := os.WriteFile(filepath.Join(dir, "var/lib/kubelet/config.yaml"), []byte("kind: KubeletConfiguration\nauthentication: [\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, rep := run(t, "--root", dir, "--proc", "none", "-o", "json")
	if code != 2 || len(rep.Errors) == 0 || !strings.Contains(string(rep.Errors[0]), "/var/lib/kubelet/config.yaml") || !strings.Contains(string(rep.Errors[0]), `"line":`) {
		t.Errorf("exit %d, errors %s: want 2 and the file with its line", code, rep.Errors)
	}
}

func TestTableReadsLikeABenchmark(t *testing.T) {
	_, out, _ := run(t, "--root", root(t, "k3s-server", "k3s-server-broken"), "--proc", "none")
	for _, want := range []string{"CIS Kubernetes Benchmark v1.12", "(k3s node)", "1.2 API Server",
		"[FAIL] 1.2.15", "set in:   /etc/rancher/k3s/config.yaml:3 (config)", "[WARN] 1.2.1 ", "[N/A ] 2.1 ",
		"\nkubeharden Beyond the benchmark\n", "[FAIL] kubelet-protect-kernel-defaults Ensure that the kubelet's protectKernelDefaults is set to true [kubelet]",
		"[N/A ] etcd-cipher-suites ", "Summary", "total"} {
		if !strings.Contains(out, want) {
			t.Errorf("table output lacks %q:\n%s", want, out)
		}
	}
}

// SARIF and JUnit carry the findings of failed and manual controls.
func TestOtherFormats(t *testing.T) {
	dir := root(t, "k3s-server", "k3s-server-broken")
	for _, format := range []string{"sarif", "junit"} {
		code, out, _ := run(t, "--root", dir, "--proc", "none", "-o", format, "--fail-on", "medium")
		if code != 1 {
			t.Errorf("-o %s: exit %d, want 1", format, code)
		}
		for _, want := range []string{"apiserver-authz-always-allow", "kubelet-anonymous-auth", "/etc/rancher/k3s/config.yaml"} {
			if !strings.Contains(out, want) {
				t.Errorf("-o %s output lacks %q", format, want)
			}
		}
	}
	if code, _, _ := run(t, "--root", dir, "--proc", "none", "-o", "yaml"); code != 2 {
		t.Errorf("-o yaml: exit %d, want 2", code)
	}
	if code, _, _ := run(t, "--root", dir, "--proc", "none", "--checks", "no-such-check"); code != 2 {
		t.Errorf("--checks no-such-check: exit %d, want 2", code)
	}
}

// --checks narrows the controls to the selected checks.
func TestChecksSelection(t *testing.T) {
	_, _, rep := run(t, "--root", root(t, "k3s-server"), "--proc", "none", "-o", "json", "--checks", "apiserver-profiling,kubelet-anonymous-auth")
	var ids []string
	for _, c := range rep.Controls {
		ids = append(ids, c.ID)
	}
	equal(t, "controls", ids, []string{"1.2.15", "4.2.1"})
}

// Findings point at the file and line that set the value judged.
func TestFindingLocations(t *testing.T) {
	_, out, _ := run(t, "--root", root(t, "k3s-server", "k3s-server-broken"), "--proc", "none", "-o", "json")
	var doc struct {
		Findings []struct {
			Check    string `json:"check"`
			Location struct {
				File string `json:"file"`
				Line int    `json:"line"`
			} `json:"location"`
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"apiserver-profiling":          "/etc/rancher/k3s/config.yaml:3",
		"kubelet-anonymous-auth":       "/etc/rancher/k3s/config.yaml.d/50-kubelet.yaml:3",
		"admin-kubeconfig-permissions": "/etc/rancher/k3s/k3s.yaml:1",
	}
	for _, f := range doc.Findings {
		if w, ok := want[f.Check]; ok {
			got := f.Location.File + ":" + strconv.Itoa(f.Location.Line)
			if !strings.HasSuffix(got, w) {
				t.Errorf("%s points at %s, want %s", f.Check, got, w)
			}
			delete(want, f.Check)
		}
	}
	for id := range want {
		t.Errorf("no %s finding", id)
	}
}

// --every keeps evaluating the node, one JSON report per run, until the
// context ends (the in-cluster DaemonSet).
func TestEveryRepeatsUntilStopped(t *testing.T) {
	dir := root(t, "k3s-server")
	var out, errOut bytes.Buffer
	cmd := NewCommand(cmdutil.Streams{In: strings.NewReader(""), Out: &out, Err: &errOut}, "test")
	cmd.SetArgs([]string{"--root", dir, "--proc", "none", "-o", "json", "--every", "150ms"})
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	if err := cmd.ExecuteContext(ctx); err != nil {
		t.Fatalf("--every ended with %v", err)
	}
	dec := json.NewDecoder(&out)
	runs := 0
	for dec.More() {
		var rep jsonReport
		if err := dec.Decode(&rep); err != nil {
			t.Fatalf("report %d: %v", runs+1, err)
		}
		if len(rep.Controls) == 0 {
			t.Errorf("report %d has no controls", runs+1)
		}
		runs++
	}
	if runs < 2 {
		t.Errorf("%d reports in 400ms at --every 150ms; stderr: %s", runs, errOut.String())
	}
	for _, bad := range []string{"-1s"} {
		c := NewCommand(cmdutil.Streams{In: strings.NewReader(""), Out: &out, Err: &errOut}, "test")
		c.SetArgs([]string{"--root", dir, "--every", bad})
		c.SilenceUsage, c.SilenceErrors = true, true
		var exit *cmdutil.ExitError
		if err := c.ExecuteContext(context.Background()); !errors.As(err, &exit) || exit.Code != 2 {
			t.Errorf("--every %s: %v", bad, err)
		}
	}
}
