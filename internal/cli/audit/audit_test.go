package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kubeharden/kubeharden/internal/cli/cmdutil"
	"github.com/kubeharden/kubeharden/internal/cli/scan"
)

type result struct {
	code           int
	stdout, stderr string
}

// run runs "audit ARGS..." and returns its exit code as cli.Main would.
func run(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := NewCommand(cmdutil.Streams{In: strings.NewReader(stdin), Out: &out, Err: &errb}, "test")
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	code := 0
	if err := cmd.Execute(); err != nil {
		var exit *cmdutil.ExitError
		code = 2
		if errors.As(err, &exit) {
			code = exit.Code
		}
		errb.WriteString(err.Error())
	}
	return result{code, out.String(), errb.String()}
}

type doc struct {
	Findings []struct {
		Check    string
		Location struct {
			File string
			Line int
		}
		Message string
	}
	Errors []struct {
		File    string
		Line    int
		Message string
	}
	Notices []struct{ Kind, File, Message string }
	Summary struct{ Objects, Findings, Errors int }
}

func parse(t *testing.T, r result) doc {
	t.Helper()
	var d doc
	if err := json.Unmarshal([]byte(r.stdout), &d); err != nil {
		t.Fatalf("output is not JSON: %v\n%s\nstderr: %s", err, r.stdout, r.stderr)
	}
	return d
}

// The recommended policy shipped in deploy/ passes every audit-policy
// check, in every output format, and --fail-on info does not fail it.
func TestRecommendedPolicyIsClean(t *testing.T) {
	file := filepath.Join("..", "..", "..", "deploy", "audit-policy.yaml")
	for _, format := range []string{"table", "json", "sarif", "junit"} {
		r := run(t, "", "policy", file, "-o", format, "--fail-on", "info")
		if r.code != 0 {
			t.Errorf("-o %s: exit %d\n%s%s", format, r.code, r.stdout, r.stderr)
		}
	}
	d := parse(t, run(t, "", "policy", file, "-o", "json"))
	if d.Summary.Objects != 1 || len(d.Findings) != 0 || len(d.Errors) != 0 {
		t.Errorf("summary %+v, findings %+v, errors %+v", d.Summary, d.Findings, d.Errors)
	}
}

// Findings carry file:line; --fail-on decides exit 1; objects that are
// not policies are skipped with a notice, not checked.
func TestFindingsAndExitCodes(t *testing.T) {
	file := filepath.Join("testdata", "findings.yaml")
	r := run(t, "", "policy", file, "-o", "json")
	if r.code != 0 {
		t.Fatalf("without --fail-on: exit %d\n%s", r.code, r.stderr)
	}
	d := parse(t, r)
	got := map[string]int{}
	for _, f := range d.Findings {
		got[f.Check] = f.Location.Line
		if f.Location.File != file {
			t.Errorf("%s: file %q", f.Check, f.Location.File)
		}
	}
	want := map[string]int{
		"audit-policy-leaks-secrets":         4,
		"audit-policy-logs-request-received": 4,
	}
	for id, line := range want {
		if got[id] != line {
			t.Errorf("%s at line %d, want %d (findings %+v)", id, got[id], line, d.Findings)
		}
	}
	if _, ok := got["audit-policy-no-catch-all"]; ok {
		t.Errorf("a policy ending in an unconditional rule has a catch-all: %+v", d.Findings)
	}
	if d.Summary.Objects != 1 || len(d.Notices) != 1 || !strings.Contains(d.Notices[0].Message, "ConfigMap") {
		t.Errorf("summary %+v, notices %+v: the ConfigMap is skipped with a notice", d.Summary, d.Notices)
	}
	if r := run(t, "", "policy", file, "--fail-on", "high"); r.code != 1 || !strings.Contains(r.stdout, "findings.yaml:4") {
		t.Errorf("--fail-on high: exit %d\n%s", r.code, r.stdout)
	}
	if r := run(t, "", "policy", file, "--fail-on", "critical"); r.code != 0 {
		t.Errorf("--fail-on critical: exit %d (no critical finding)", r.code)
	}
	if r := run(t, "", "policy", file, "--checks", "audit-policy-shadowed-rule", "--fail-on", "info"); r.code != 0 {
		t.Errorf("--checks: only the selected check runs: exit %d\n%s", r.code, r.stdout)
	}
	if r := run(t, "", "policy", file, "--checks", "privileged-container"); r.code != 2 {
		t.Errorf("a check outside the audit-policy domain is a usage error: exit %d", r.code)
	}
	if r := run(t, "", "policy", file, "-o", "yaml"); r.code != 2 {
		t.Errorf("-o yaml: exit %d", r.code)
	}
}

// Standard input works, and input with no policy at all fails (exit 2).
func TestStdinAndNoPolicy(t *testing.T) {
	policy, err := os.ReadFile(filepath.Join("testdata", "findings.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if r := run(t, string(policy), "policy", "-", "--fail-on", "high"); r.code != 1 || !strings.Contains(r.stdout, "<stdin>:4") {
		t.Errorf("stdin: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r := run(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n", "policy", "-")
	if r.code != 2 || !strings.Contains(r.stderr, "no audit policy") {
		t.Errorf("no policy: exit %d, stderr %q", r.code, r.stderr)
	}
}

// A kube-apiserver manifest leads to the policy its --audit-policy-file
// names: through the pod's hostPath volume to the node's path, found in a
// copy of the node's file system above the manifest. Findings point into
// the policy file. Named twice (the manifest and the file), it is linted
// once.
func TestFollowsAuditPolicyFlag(t *testing.T) {
	manifest := filepath.Join("testdata", "node", "etc", "kubernetes", "manifests", "kube-apiserver.yaml")
	policy := filepath.Join("testdata", "node", "etc", "kubernetes", "audit", "audit.yaml")
	r := run(t, "", "policy", manifest, "-o", "json")
	d := parse(t, r)
	if r.code != 0 || len(d.Errors) != 0 || d.Summary.Objects != 1 {
		t.Fatalf("exit %d, errors %+v, summary %+v\n%s", r.code, d.Errors, d.Summary, r.stderr)
	}
	shadowed := false
	for _, f := range d.Findings {
		if !strings.HasSuffix(f.Location.File, policy) {
			t.Errorf("%s points at %s, not the policy file", f.Check, f.Location.File)
		}
		if f.Check == "audit-policy-shadowed-rule" && f.Location.Line == 6 {
			shadowed = true
		}
	}
	if !shadowed {
		t.Errorf("the RBAC rule after the catch-all is shadowed: %+v", d.Findings)
	}
	both := parse(t, run(t, "", "policy", policy, manifest, "-o", "json"))
	if both.Summary.Objects != 1 || len(both.Findings) != len(d.Findings) {
		t.Errorf("policy named twice: summary %+v, %d findings, want 1 object and %d", both.Summary, len(both.Findings), len(d.Findings))
	}
}

// What cannot be followed is an input error (exit 2) at the manifest's
// line: a policy file that cannot be read here, an API server with no
// policy (audit logging off), a path no volume mounts.
func TestUnfollowableFlags(t *testing.T) {
	file := filepath.Join("testdata", "broken", "kube-apiserver.yaml")
	r := run(t, "", "policy", file, "-o", "json")
	d := parse(t, r)
	if r.code != 2 {
		t.Errorf("exit %d, want 2", r.code)
	}
	want := map[int]string{
		15: "the policy file cannot be read here (looked for ",
		32: "sets no --audit-policy-file: audit logging is off",
		49: "is on no volume of the kube-apiserver container",
	}
	for _, e := range d.Errors {
		if e.File != file {
			t.Errorf("error in %s, want %s: %s", e.File, file, e.Message)
		}
		if w, ok := want[e.Line]; ok && strings.Contains(e.Message, w) {
			delete(want, e.Line)
		} else {
			t.Errorf("unexpected error at line %d: %s", e.Line, e.Message)
		}
	}
	for line, w := range want {
		t.Errorf("want an error at line %d containing %q", line, w)
	}
	if !strings.Contains(r.stdout, "/nonexistent-kubeharden-test/etc/kubernetes/missing-policy.yaml") {
		t.Errorf("the message names the node's path through the hostPath volume:\n%s", r.stdout)
	}
}

// A policy the API server would refuse is an input error at the line of
// each offending field.
func TestInvalidPolicy(t *testing.T) {
	file := filepath.Join("testdata", "broken", "invalid-policy.yaml")
	r := run(t, "", "policy", file, "-o", "json")
	d := parse(t, r)
	if r.code != 2 {
		t.Errorf("exit %d, want 2", r.code)
	}
	want := map[int][]string{
		3:  {`unknown stage "Sometimes"`},
		5:  {`unknown level "Everything"`},
		10: {"both resources"},
		12: {`"healthz" must begin with '/'`, `"/a*b": a '*' wildcard must be the last`},
		15: {`"apps/v1" is not an API group name`},
		17: {"resourceNames need at least one resource"},
		19: {"apiVersion audit.k8s.io/v1beta1: the API server reads only audit.k8s.io/v1"},
	}
	got := map[int][]string{}
	for _, e := range d.Errors {
		got[e.Line] = append(got[e.Line], e.Message)
	}
	for line, ws := range want {
		for _, w := range ws {
			if !strings.Contains(strings.Join(got[line], "\n"), w) {
				t.Errorf("line %d: want an error containing %q, got %q", line, w, got[line])
			}
		}
	}
	if len(d.Errors) != 8 {
		t.Errorf("%d errors, want 8: %+v", len(d.Errors), d.Errors)
	}
}

// A misspelt field is an input error at its line: the API server would
// ignore it (lenient decoding), and the rule would match more than it says.
func TestUnknownFields(t *testing.T) {
	file := filepath.Join("testdata", "broken", "typo-policy.yaml")
	r := run(t, "", "policy", file, "-o", "json")
	d := parse(t, r)
	if r.code != 2 {
		t.Errorf("exit %d, want 2", r.code)
	}
	want := map[int]string{4: `unknown field "omitStage" in the policy`, 7: `unknown field "resource" in rule`, 14: `unknown field "resourceName" in resources entry`}
	for _, e := range d.Errors {
		if w, ok := want[e.Line]; ok && strings.Contains(e.Message, w) {
			delete(want, e.Line)
			continue
		}
		t.Errorf("unexpected error at line %d: %s", e.Line, e.Message)
	}
	for line, w := range want {
		t.Errorf("want an error at line %d containing %q", line, w)
	}
	if len(d.Findings) == 0 {
		t.Error("the policy is still linted as the API server reads it (the first rule swallows everything)")
	}
}

// kubeharden scan lints the audit policies it meets, with the same checks.
func TestScanLintsPolicies(t *testing.T) {
	var out, errb bytes.Buffer
	cmd := scan.NewCommand(cmdutil.Streams{In: strings.NewReader(""), Out: &out, Err: &errb}, "test")
	file := filepath.Join("..", "..", "..", "checks", "audit", "testdata", "audit-policy-no-catch-all", "fail", "no-catch-all.yaml")
	cmd.SetArgs([]string{file, "-o", "json", "--checks", "audit-policy-no-catch-all"})
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	if err := cmd.Execute(); err != nil {
		t.Fatalf("scan: %v\n%s", err, errb.String())
	}
	d := parse(t, result{stdout: out.String()})
	var lines []int
	for _, f := range d.Findings {
		lines = append(lines, f.Location.Line)
	}
	if !slices.Equal(lines, []int{5, 15, 28}) {
		t.Errorf("scan finds audit-policy-no-catch-all at lines %v, want 5, 15 and 28", lines)
	}
}
