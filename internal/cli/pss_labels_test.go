package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

const pssLabelsFiles = `apiVersion: v1
kind: Namespace
metadata: {name: quiet}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: sys}
spec:
  selector: {matchLabels: {app: a}}
  template:
    metadata: {labels: {app: a}}
    spec:
      hostNetwork: true
      containers:
      - {name: a, image: x:1, securityContext: {privileged: true}}
---
apiVersion: v1
kind: Pod
metadata: {name: lone}
spec:
  containers:
  - {name: w, image: x:1}
`

func TestPSSLabelsFromFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.yaml")
	if err := os.WriteFile(path, []byte(pssLabelsFiles), 0o600); err != nil {
		t.Fatal(err)
	}

	r := run(t, "", "policy", "pss-labels", path)
	for _, want := range []string{
		"default    1          baseline    restricted  1",
		"quiet      0          restricted  restricted  0",
		"sys        1          privileged  baseline    1",
		"sys: baseline is blocked by\n  DaemonSet/sys/agent\n    hostNamespaces: host namespaces (hostNetwork=true)\n    privileged: privileged",
		"kubectl label --overwrite namespace sys pod-security.kubernetes.io/enforce=privileged pod-security.kubernetes.io/enforce-version=v1.37 pod-security.kubernetes.io/audit=baseline",
	} {
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Errorf("table (exit %d) lacks %q:\n%s%s", r.code, want, r.stdout, r.stderr)
		}
	}

	r = run(t, "", "policy", "pss-labels", "-o", "yaml", path)
	if r.code != 0 {
		t.Fatalf("yaml: exit %d: %s", r.code, r.stderr)
	}
	labels := map[string]map[string]string{}
	for _, doc := range strings.Split(r.stdout, "\n---\n")[1:] {
		var ns corev1.Namespace
		if err := yaml.UnmarshalStrict([]byte(doc), &ns); err != nil || ns.Kind != "Namespace" || ns.APIVersion != "v1" {
			t.Fatalf("yaml document is not a Namespace (%v):\n%s", err, doc)
		}
		labels[ns.Name] = ns.Labels
	}
	if l := labels["default"]; len(labels) != 3 || len(l) != 6 || l["pod-security.kubernetes.io/enforce"] != "baseline" ||
		l["pod-security.kubernetes.io/warn"] != "restricted" || l["pod-security.kubernetes.io/audit-version"] != "v1.37" {
		t.Errorf("yaml labels %v", labels)
	}
	if !strings.Contains(r.stdout, "#   Pod/lone\n#     allowPrivilegeEscalation: allowPrivilegeEscalation != false") {
		t.Errorf("yaml does not name the blocker in a comment:\n%s", r.stdout)
	}

	r = run(t, pssLabelsFiles, "policy", "pss-labels", "-o", "json", "-")
	var out pssLabelsOutput
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || r.code != 0 {
		t.Fatalf("json (exit %d): %v\n%s", r.code, err, r.stderr)
	}
	if len(out.Namespaces) != 3 || out.Namespaces[0].Namespace != "default" || len(out.Namespaces[0].Blockers) != 1 ||
		out.Namespaces[0].Blockers[0].Failures[0].ID != "allowPrivilegeEscalation" {
		t.Errorf("json: %+v", out)
	}

	// A partial view must not give a proposal: what was not read could break.
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("apiVersion: v1\nkind: Pod\nmetadata: {name: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := run(t, "", "policy", "pss-labels", path, bad); r.code != 2 || r.stdout != "" || !strings.Contains(r.stderr, "no labels proposed") {
		t.Errorf("unreadable input: exit %d, stdout %q, stderr %q; want 2 and no proposal", r.code, r.stdout, r.stderr)
	}
	for _, args := range [][]string{
		{"policy", "pss-labels"},
		{"policy", "pss-labels", "--cluster", path},
		{"policy", "pss-labels", "--context", "x", path},
		{"policy", "pss-labels", "-o", "sarif", path},
		{"policy", "pss-labels", filepath.Join(dir, "missing.yaml")},
	} {
		if r := run(t, "", args...); r.code != 2 || r.stderr == "" {
			t.Errorf("%v: exit %d stderr %q, want 2 with a message", args, r.code, r.stderr)
		}
	}
}
