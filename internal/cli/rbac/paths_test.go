package rbac_test

import (
	"encoding/json"
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
