package audit

import (
	"bufio"
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/checks"
)

var rbacFixtures = filepath.Join("testdata", "rbac")

// markedLines maps the marker comments of the RBAC fixture ("# ROLE
// rules[I]:") to their lines: where the findings of those rules belong.
func markedLines(t *testing.T, file string) map[string]int {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	lines := map[string]int{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		if _, c, ok := strings.Cut(sc.Text(), "# "); ok {
			if k, _, ok := strings.Cut(c, ":"); ok && strings.Contains(k, "rules[") {
				lines[k] = n
			}
		}
	}
	return lines
}

// Unused permissions are findings at the rule that grants them: a used
// permission gives none, a rule never (or partly) used one naming what is
// unused, per resource name where the rule lists names, one per rule for
// wildcards; roles bound to others and the bootstrap policy give none.
func TestAuditRBACUnusedFindings(t *testing.T) {
	events, roles := filepath.Join(rbacFixtures, "events.jsonl"), filepath.Join(rbacFixtures, "rbac.yaml")
	r := run(t, "", "rbac", events, "--serviceaccount", "app:ci", "-f", roles, "-o", "json")
	if r.code != 0 {
		t.Fatalf("exit %d (want 0: --fail-on defaults to none)\n%s", r.code, r.stderr)
	}
	d := parse(t, r)
	lines := markedLines(t, roles)
	want := map[string]string{ // marker → what the message must say
		"app-role rules[1]":  "rules[1], granted in namespace app through RoleBinding/app/app-ci, never used: delete pods (",
		"app-role rules[2]":  "rules[2], granted in namespace app through RoleBinding/app/app-ci, never used: get secrets s2 (",
		"app-role rules[3]":  "rules[3], granted in namespace app through RoleBinding/app/app-ci, never used: get deployments.apps, list deployments.apps, watch deployments.apps (",
		"wild rules[0]":      "rules[0], granted cluster-wide through ClusterRoleBinding/wild-ci, has wildcards of which only these were used: get configmaps, get secrets, list nodes, list pods (",
		"wild rules[1]":      "rules[1], granted cluster-wide through ClusterRoleBinding/wild-ci, never used: get /metrics (",
		"batch-all rules[0]": "rules[0], granted in namespace app through RoleBinding/app/ci-batch, never used: * jobs.batch, * cronjobs.batch (",
	}
	byLine := map[int]string{}
	for _, f := range d.Findings {
		if f.Check != UnusedPermission.ID {
			t.Errorf("finding of check %s", f.Check)
		}
		if f.Location.File != roles {
			t.Errorf("finding in %q, want %s: %s", f.Location.File, roles, f.Message)
		}
		if prev, ok := byLine[f.Location.Line]; ok {
			t.Errorf("two findings at line %d (one per rule and binding, not per permission):\n%s\n%s", f.Location.Line, prev, f.Message)
		}
		byLine[f.Location.Line] = f.Message
		if !strings.Contains(f.Message, "(window: 2026-03-01T09:00:00Z to 2026-03-01T11:00:00Z, 8 events, 5 authorized requests by the identity)") {
			t.Errorf("finding without its window: %s", f.Message)
		}
	}
	for marker, text := range want {
		line := lines[marker]
		if line == 0 {
			t.Fatalf("no marker %q in %s", marker, roles)
		}
		if msg, ok := byLine[line]; !ok {
			t.Errorf("no finding at %s:%d (%s)", roles, line, marker)
		} else if !strings.Contains(msg, text) {
			t.Errorf("%s: message %q lacks %q", marker, msg, text)
		}
	}
	if len(d.Findings) != len(want) {
		t.Errorf("%d findings, want %d (rules[0] of app-role is used; roles of others and system:basic-user are not the identity's):\n%+v", len(d.Findings), len(want), d.Findings)
	}
	if d.Summary.Findings != len(want) || d.Summary.Objects != 3 {
		t.Errorf("summary %+v, want %d findings on 3 roles", d.Summary, len(want))
	}

	// --fail-on as for scan; the YAML keeps the roles and lists the findings as comments.
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"--fail-on", "low"}, 1},
		{[]string{"--fail-on", "medium"}, 0},
		{[]string{"-o", "table", "--fail-on", "low"}, 1},
		{[]string{"-o", "sarif"}, 0},
		{[]string{"-o", "junit"}, 0},
		{[]string{"-o", "xml"}, 2},
		{[]string{"--fail-on", "nonsense"}, 2},
	} {
		r := run(t, "", append([]string{"rbac", events, "--serviceaccount", "app:ci", "-f", roles}, tc.args...)...)
		if r.code != tc.code {
			t.Errorf("%v: exit %d, want %d\n%s", tc.args, r.code, tc.code, r.stderr)
		}
		switch {
		case r.code == 2:
		case len(tc.args) < 2 || tc.args[0] != "-o":
			if !strings.Contains(r.stdout, "kind: Role\n") || !strings.Contains(r.stdout, "# unused: "+roles+":"+itoa(lines["app-role rules[1]"])+" Role/app/app-role: rules[1], granted in namespace app through RoleBinding/app/app-ci, never used: delete pods (window: ") {
				t.Errorf("%v: YAML lacks the roles or the findings as comments:\n%s", tc.args, r.stdout)
			}
		case tc.args[1] == "sarif":
			var s struct {
				Runs []struct {
					Results []struct {
						RuleID string `json:"ruleId"`
					} `json:"results"`
				} `json:"runs"`
			}
			if err := json.Unmarshal([]byte(r.stdout), &s); err != nil || len(s.Runs) != 1 || len(s.Runs[0].Results) != len(want) || s.Runs[0].Results[0].RuleID != UnusedPermission.ID {
				t.Errorf("SARIF: %v\n%s", err, r.stdout)
			}
		case tc.args[1] == "junit": // one test case per role, every finding in its failure
			if err := xml.Unmarshal([]byte(r.stdout), new(any)); err != nil || strings.Count(r.stdout, "<failure") != 3 || strings.Count(r.stdout, " in rules[") != len(want) {
				t.Errorf("JUnit: %v\n%s", err, r.stdout)
			}
		case tc.args[1] == "table":
			if !strings.Contains(r.stdout, "audit-rbac-unused-permission") {
				t.Errorf("table lacks the findings:\n%s", r.stdout)
			}
		}
	}
	// A findings report needs the identity's RBAC.
	if r := run(t, "", "rbac", events, "--serviceaccount", "app:ci", "-o", "json"); r.code != 2 || !strings.Contains(r.stderr, "-f FILE") {
		t.Errorf("-o json without -f or --cluster: exit %d\n%s", r.code, r.stderr)
	}
	// Without RBAC, the roles alone, as before.
	if r := run(t, "", "rbac", events, "--serviceaccount", "app:ci", "--fail-on", "low"); r.code != 0 || strings.Contains(r.stdout, "# unused") {
		t.Errorf("without -f: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// A binding whose role is not in the input is a notice, not a finding.
	partial := filepath.Join(t.TempDir(), "partial.yaml")
	data, _ := os.ReadFile(roles)
	docs := strings.Split(string(data), "\n---\n")
	if err := os.WriteFile(partial, []byte(strings.Join(docs[1:], "\n---\n")), 0o644); err != nil { // without Role app-role
		t.Fatal(err)
	}
	d = parse(t, run(t, "", "rbac", events, "--serviceaccount", "app:ci", "-f", partial, "-o", "json"))
	if len(d.Findings) != 3 || len(d.Notices) != 1 || !strings.Contains(d.Notices[0].Message, "RoleBinding/app/app-ci refers to Role/app/app-role, which is not in the input") {
		t.Errorf("without the Role: findings %+v notices %+v", d.Findings, d.Notices)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// The check is not in the scan catalogue (its findings come from audit
// events), its ID does not collide with one there, and its references are
// valid ones.
func TestUnusedPermissionCheck(t *testing.T) {
	if checks.ByID(UnusedPermission.ID) != nil {
		t.Errorf("%s is also a catalogue check", UnusedPermission.ID)
	}
	if err := check.ValidateRefs([]*check.Check{UnusedPermission}); err != nil || len(UnusedPermission.Refs) == 0 {
		t.Errorf("references: %v", err)
	}
	if UnusedPermission.Description == "" || UnusedPermission.Remediation == "" || UnusedPermission.Title == "" {
		t.Error("the check lacks its documentation")
	}
}

// A user's groups come from its events: a binding to one of them is the
// user's, a binding to a group it was never seen in is not.
func TestAuditRBACUserGroups(t *testing.T) {
	dir := t.TempDir()
	events := filepath.Join(dir, "audit.log")
	roles := filepath.Join(dir, "rbac.yaml")
	ev := `{"auditID":"1","stage":"ResponseComplete","verb":"get","requestURI":"/api/v1/namespaces/x/pods/p","user":{"username":"alice","groups":["devs","system:authenticated"]},"objectRef":{"resource":"pods","namespace":"x","name":"p"},"responseStatus":{"code":200},"stageTimestamp":"2026-03-01T10:00:00Z"}` + "\n"
	rb := func(name, group string) string {
		return "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: " + name + "}\n" +
			"roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: pods}\nsubjects:\n- {kind: Group, name: " + group + "}\n"
	}
	yml := "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: pods}\nrules:\n- apiGroups: ['']\n  resources: [pods]\n  verbs: [get, delete]\n---\n" +
		rb("devs-pods", "devs") + "---\n" + rb("ops-pods", "ops")
	if err := os.WriteFile(events, []byte(ev), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(roles, []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	d := parse(t, run(t, "", "rbac", events, "--user", "alice", "-f", roles, "-o", "json"))
	if len(d.Findings) != 1 || !strings.Contains(d.Findings[0].Message, "rules[0], granted cluster-wide through ClusterRoleBinding/devs-pods, never used: delete pods (") || d.Findings[0].Location.Line != 5 {
		t.Errorf("findings %+v, want delete pods at line 5 through devs-pods only", d.Findings)
	}
}
