package rbac_test

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const pathsFile = "testdata/paths.yaml"

func TestPaths(t *testing.T) {
	out, errs, code := run(t, "rbac", "paths", "-f", pathsFile, "--fail")
	want := `ServiceAccount:build:ci: 1 hop(s) to cluster-admin
  1. ServiceAccount:build:ci → cluster-admin: cluster-admin grant (*/*/*)
       * *.*: ClusterRoleBinding/ci-admin → ClusterRole/cluster-admin rule 0

ServiceAccount:shop:web: 2 hop(s) to cluster-admin
  exposed: Deployment/shop/web
  1. ServiceAccount:shop:web → ServiceAccount:build:ci: read a token Secret (ci-token)
       get secrets ci-token in build: RoleBinding/build/web-reads → Role/build/secret-reader rule 1
  2. ServiceAccount:build:ci → cluster-admin: cluster-admin grant (*/*/*)
       * *.*: ClusterRoleBinding/ci-admin → ClusterRole/cluster-admin rule 0

User:bob: 2 hop(s) to cluster-admin
  1. User:bob → ServiceAccount:build:ci: read a token Secret (ci-token)
       get secrets ci-token in build: RoleBinding/build/web-reads → Role/build/secret-reader rule 1
  2. ServiceAccount:build:ci → cluster-admin: cluster-admin grant (*/*/*)
       * *.*: ClusterRoleBinding/ci-admin → ClusterRole/cluster-admin rule 0
`
	if out != want || code != 1 {
		t.Errorf("exit %d (stderr %q), got\n%s\nwant\n%s", code, errs, out, want)
	}
	// carol may only get pods/exec: exec needs create. No path.
	out, _, code = run(t, "rbac", "paths", "User:carol", "-f", pathsFile, "--fail")
	if out != "No escalation path to cluster-admin-equivalent power.\n" || code != 0 {
		t.Errorf("carol: exit %d, %q", code, out)
	}
	out, _, code = run(t, "rbac", "paths", "system:serviceaccount:shop:web", "-f", pathsFile, "-o", "json")
	var got struct {
		Paths []struct {
			Subject string
			Exposed []string `json:"exposedWorkloads"`
			Hops    []struct {
				To    string
				Steps []struct {
					Binding, Role string
					Rule          int
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil || code != 0 {
		t.Fatalf("json: %v, exit %d: %s", err, code, out)
	}
	if len(got.Paths) != 1 || len(got.Paths[0].Hops) != 2 || got.Paths[0].Hops[0].Steps[0].Rule != 1 ||
		got.Paths[0].Exposed[0] != "Deployment/shop/web" || got.Paths[0].Hops[1].To != "cluster-admin" {
		t.Errorf("json: %+v", got)
	}
	out, _, _ = run(t, "rbac", "paths", "User:bob", "-f", pathsFile, "-o", "dot")
	if !strings.Contains(out, `"User:bob" -> "ServiceAccount:build:ci" [label="read a token Secret (ci-token)"];`) {
		t.Errorf("dot:\n%s", out)
	}
	out, _, _ = run(t, "rbac", "paths", "User:bob", "-f", pathsFile, "-o", "mermaid")
	if !strings.Contains(out, `n0 -->|"read a token Secret (ci-token)"| n1`) {
		t.Errorf("mermaid:\n%s", out)
	}
}

func TestAccess(t *testing.T) {
	out, errs, code := run(t, "rbac", "access", "User:bob", "-f", pathsFile)
	want := `NAMESPACE  VERBS  RESOURCES   RESOURCE NAMES  NON-RESOURCE URLS  VIA
build      get    configmaps  -               -                  RoleBinding/build/web-reads → Role/build/secret-reader
build      get    secrets     ci-token        -                  RoleBinding/build/web-reads → Role/build/secret-reader
`
	if out != want || code != 0 {
		t.Errorf("exit %d (stderr %q), got\n%s\nwant\n%s", code, errs, out, want)
	}
	out, _, code = run(t, "rbac", "access", "ServiceAccount:build:ci", "-f", pathsFile, "-o", "json")
	for _, s := range []string{`"groups": [`, `"system:serviceaccounts:build"`, `"nonResourceURLs": [`, `"ClusterRoleBinding/ci-admin → ClusterRole/cluster-admin"`} {
		if !strings.Contains(out, s) || code != 0 {
			t.Errorf("json lacks %s (exit %d):\n%s", s, code, out)
		}
	}
	out, _, _ = run(t, "rbac", "access", "User:nobody", "-f", pathsFile)
	if out != "No binding grants this subject anything.\n" {
		t.Errorf("nobody: %q", out)
	}
}

func TestAccessPathsUsage(t *testing.T) {
	for _, args := range [][]string{
		{"rbac", "access", "alice", "-f", pathsFile},
		{"rbac", "access", "User:alice"},
		{"rbac", "access", "User:alice", "-f", pathsFile, "-o", "dot"},
		{"rbac", "paths", "Kind:x", "-f", pathsFile},
		{"rbac", "paths", "-f", pathsFile, "-o", "yaml"},
	} {
		if _, errs, code := run(t, args...); code != 2 || errs == "" {
			t.Errorf("%v: exit %d, stderr %q; want 2 and a message", args, code, errs)
		}
	}
}

// rbac paths -f and the rbac-escalation-path check of a scan report the
// same subjects on the check's fixtures (the check leaves out direct,
// unexposed */*/* grants, which are no escalation), both assuming the
// built-in roles and the bound ServiceAccounts the files do not carry.
func TestPathsAgreeWithCheck(t *testing.T) {
	fixtures, err := filepath.Glob("../../../checks/rbac/testdata/rbac-escalation-path/*/*.yaml")
	if err != nil || len(fixtures) < 6 {
		t.Fatalf("fixtures: %v, %d", err, len(fixtures))
	}
	withPaths := 0
	for _, f := range fixtures {
		out, errs, code := run(t, "rbac", "paths", "-f", f, "-o", "json")
		if code != 0 {
			t.Fatalf("%s: paths exit %d: %s", f, code, errs)
		}
		var paths struct {
			Paths []struct {
				Subject string
				Exposed []string `json:"exposedWorkloads"`
				Hops    []struct{ Primitive string }
			}
		}
		if err := json.Unmarshal([]byte(out), &paths); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		var fromPaths []string
		for _, p := range paths.Paths {
			if len(p.Hops) == 1 && strings.HasPrefix(p.Hops[0].Primitive, "cluster-admin grant") && len(p.Exposed) == 0 {
				continue
			}
			fromPaths = append(fromPaths, p.Subject)
		}
		out, errs, code = run(t, "scan", f, "--checks", "rbac-escalation-path", "-o", "json")
		if code != 0 {
			t.Fatalf("%s: scan exit %d: %s", f, code, errs)
		}
		var rep struct{ Findings []struct{ Message string } }
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		var fromCheck []string
		for _, fd := range rep.Findings {
			sub, _, _ := strings.Cut(fd.Message, " ")
			fromCheck = append(fromCheck, strings.TrimSuffix(sub, ","))
		}
		slices.Sort(fromPaths)
		slices.Sort(fromCheck)
		if !slices.Equal(fromPaths, fromCheck) {
			t.Errorf("%s: rbac paths reports %q, the check %q", f, fromPaths, fromCheck)
		}
		if len(fromPaths) > 0 {
			withPaths++
		}
	}
	if withPaths < 5 {
		t.Errorf("only %d fixtures with paths: the test proves little", withPaths)
	}
}

// Node targets in every output: the hop to a node, the hop from it (no
// request), the assumption of each approximate hop, and a node's shape in
// the graph exports.
func TestPathsNodes(t *testing.T) {
	const fixtures = "../../../checks/rbac/testdata/rbac-escalation-path/"
	out, errs, code := run(t, "rbac", "paths", "User:frank", "-f", fixtures+"fail/namespace-relabel.yaml", "--fail")
	want := `User:frank: 2 hop(s) to cluster-admin
  1. User:frank → Node:*: relabel the namespace pod-security.kubernetes.io/enforce=privileged, then create a privileged pod on the node
       patch namespaces apps in apps: RoleBinding/apps/frank-owns-apps → Role/apps/ns-owner rule 1
       create pods in apps: RoleBinding/apps/frank-owns-apps → Role/apps/ns-owner rule 0
  2. Node:* → cluster-admin: root on a control-plane node (admin.conf, PKI, etcd)
       (on the node: no API request)
       (approximation: no Node object read: a kubeadm-like control-plane node (its /etc/kubernetes/admin.conf, PKI and etcd) assumed reachable by a pod pinned with spec.nodeName)
`
	if out != want || code != 1 {
		t.Errorf("exit %d (stderr %q), got\n%s\nwant\n%s", code, errs, out, want)
	}
	// grace may relabel but creates no pods; the restricted namespace
	// stops ivan.
	for _, c := range [][]string{{"User:grace", "fail/namespace-relabel.yaml"}, {"User:ivan", "pass/psa-blocks-node.yaml"}} {
		if out, _, code := run(t, "rbac", "paths", c[0], "-f", fixtures+c[1], "--fail"); code != 0 {
			t.Errorf("%s: exit %d:\n%s", c[0], code, out)
		}
	}
	out, _, code = run(t, "rbac", "paths", "User:heidi", "-f", fixtures+"fail/exec-privileged-pod.yaml", "-o", "json")
	var got struct {
		Paths []struct {
			Hops []struct {
				From, To, Primitive, Assumption string
				Approximate                     bool
				Steps                           []struct{ Request string }
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil || code != 0 {
		t.Fatalf("json: %v, exit %d: %s", err, code, out)
	}
	if len(got.Paths) != 1 || len(got.Paths[0].Hops) != 2 {
		t.Fatalf("json: %s", out)
	}
	h := got.Paths[0].Hops
	if h[0].To != "Node:*" || !h[0].Approximate || h[0].Assumption != "a workload's pods may run on any node" ||
		len(h[0].Steps) != 1 || h[0].Steps[0].Request != "create pods/exec in monitoring" ||
		h[1].From != "Node:*" || h[1].To != "cluster-admin" || len(h[1].Steps) != 0 || !strings.Contains(h[1].Assumption, "kubeadm-like") {
		t.Errorf("json hops: %+v", h)
	}
	out, _, _ = run(t, "rbac", "paths", "User:heidi", "-f", fixtures+"fail/exec-privileged-pod.yaml", "-o", "dot")
	for _, s := range []string{`"Node:*" [label="Node:*", shape=box3d, color=orange];`,
		`"Node:*" -> "cluster-admin" [label="root on a control-plane node (admin.conf, PKI, etcd) (approx.)"];`} {
		if !strings.Contains(out, s) {
			t.Errorf("dot lacks %s:\n%s", s, out)
		}
	}
	out, _, _ = run(t, "rbac", "paths", "User:heidi", "-f", fixtures+"fail/exec-privileged-pod.yaml", "-o", "mermaid")
	if !strings.Contains(out, `n1[("Node:*")]`) || !strings.Contains(out, `n1 -->|"root on a control-plane node (admin.conf, PKI, etcd) (approx.)"| n2`) {
		t.Errorf("mermaid:\n%s", out)
	}
}
