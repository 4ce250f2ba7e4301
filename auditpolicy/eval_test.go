package auditpolicy

import (
	"testing"

	"sigs.k8s.io/yaml"
)

func mustPolicy(t testing.TB, doc string) *Policy {
	t.Helper()
	var p Policy
	if err := yaml.UnmarshalStrict([]byte(doc), &p); err != nil {
		t.Fatalf("policy does not decode: %v\n%s", err, doc)
	}
	return &p
}

func res(verb, group, resource, sub, ns, name string) Request {
	return Request{User: "jane", Groups: []string{"system:authenticated"}, Verb: verb, ResourceRequest: true,
		APIGroup: group, Resource: resource, Subresource: sub, Namespace: ns, Name: name}
}

func nonRes(verb, path string) Request {
	return Request{User: "jane", Groups: []string{"system:authenticated"}, Verb: verb, Path: path}
}

// The first-match evaluation on the cases where intuition and the API
// server (k8s.io/apiserver/pkg/audit/policy/checker.go) part ways.
func TestEvaluateTrickyCases(t *testing.T) {
	p := mustPolicy(t, `
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: None                  # 0: pods only, not its subresources
  resources: [{group: "", resources: [pods]}]
- level: Request               # 1: pods and every subresource (pods/* also matches pods itself)
  resources: [{group: "", resources: ["pods/*"]}]
- level: Metadata              # 2: status of every resource, in every group
  resources: [{group: "*", resources: ["*/status"]}]
- level: RequestResponse       # 3: one named Secret
  resources: [{group: "", resources: [secrets], resourceNames: [db]}]
- level: Metadata              # 4: the core group only ("" is not a wildcard)
  resources: [{group: ""}]
- level: Request               # 5: cluster-scoped requests and lists across namespaces
  namespaces: [""]
- level: None                  # 6: an exact URL and a prefix
  nonResourceURLs: [/healthz, "/livez*"]
- level: Metadata              # 7: "*" is a literal verb, not a wildcard
  verbs: ["*"]
- level: Request               # 8: a user in either group
  userGroups: [ops, dev]
  omitStages: [ResponseStarted]
- level: RequestResponse       # 9: user AND group
  users: [alice]
  userGroups: [admins]
- level: Metadata              # 10
  users: [bob]
`)
	tests := []struct {
		name string
		r    Request
		rule int
	}{
		{"pods", res("get", "", "pods", "", "team", "web"), 0},
		{"pods/exec is not pods", res("create", "", "pods", "exec", "team", "web"), 1},
		{"pods/status: pods/* comes first", res("update", "", "pods", "status", "team", "web"), 1},
		{"pods in another group, namespaced: no rule", res("get", "metrics.k8s.io", "pods", "", "team", "web"), -1},
		{"deployments/status in apps: */status", res("update", "apps", "deployments", "status", "team", "web"), 2},
		{"*/status does not match the resource itself", res("update", "apps", "deployments", "", "team", "web"), -1},
		{"the named Secret", res("get", "", "secrets", "", "team", "db"), 3},
		{"another Secret: core group rule", res("get", "", "secrets", "", "team", "api"), 4},
		{"a Secret list has no name", res("list", "", "secrets", "", "team", ""), 4},
		{"apps is not the core group", res("create", "apps", "deployments", "", "", ""), 5},
		{"cluster-scoped", res("get", "rbac.authorization.k8s.io", "clusterroles", "", "", "admin"), 5},
		{"namespaced in apps", res("get", "apps", "deployments", "", "team", "web"), -1},
		{"exact URL", nonRes("get", "/healthz"), 6},
		{"not a prefix unless it ends in *", nonRes("get", "/healthz/etcd"), -1},
		{"prefix", nonRes("get", "/livez/ping"), 6},
		{"literal * verb", nonRes("*", "/metrics"), 7},
		{"in one of the groups", Request{User: "carol", Groups: []string{"dev", "system:authenticated"}, Verb: "get", Path: "/metrics"}, 8},
		{"user without the group", Request{User: "alice", Groups: []string{"system:authenticated"}, Verb: "get", Path: "/metrics"}, -1},
		{"user with the group", Request{User: "alice", Groups: []string{"admins"}, Verb: "get", Path: "/metrics"}, 9},
		{"user", Request{User: "bob", Verb: "get", Path: "/metrics"}, 10},
	}
	for _, tt := range tests {
		d := p.Evaluate(tt.r)
		if d.Rule != tt.rule {
			t.Errorf("%s: %s decided by rule %d, want %d", tt.name, tt.r, d.Rule, tt.rule)
		}
		if tt.rule < 0 && d.Level != LevelNone {
			t.Errorf("%s: no rule matched but level is %s", tt.name, d.Level)
		}
	}
	if d := p.Evaluate(Request{User: "carol", Groups: []string{"ops"}, Verb: "get", Path: "/x"}); len(d.OmitStages) != 2 {
		t.Errorf("omitStages are the policy's and the rule's: %v", d.OmitStages)
	}
}

func TestResourceMatches(t *testing.T) {
	tests := []struct {
		pattern, resource, sub string
		want                   bool
	}{
		{"*", "pods", "", true},
		{"*", "pods", "exec", true},
		{"pods", "pods", "", true},
		{"pods", "pods", "exec", false},
		{"pods/exec", "pods", "exec", true},
		{"pods/exec", "pods", "", false},
		{"pods/*", "pods", "", true},
		{"pods/*", "pods", "log", true},
		{"pods/*", "nodes", "log", false},
		{"*/status", "pods", "status", true},
		{"*/status", "pods", "", false},
		{"*/*", "pods", "exec", false},
		{"pods/", "pods", "", false},
	}
	for _, tt := range tests {
		if got := ResourceMatches(tt.pattern, tt.resource, tt.sub); got != tt.want {
			t.Errorf("ResourceMatches(%q, %q, %q) = %v", tt.pattern, tt.resource, tt.sub, got)
		}
	}
}

func TestPathMatches(t *testing.T) {
	for _, tt := range []struct {
		spec, path string
		want       bool
	}{
		{"*", "/anything", true},
		{"/healthz", "/healthz", true},
		{"/healthz", "/healthz/", false},
		{"/healthz*", "/healthz/etcd", true},
		{"/healthz*", "/healthzz", true},
		{"/api/*", "/api", false},
		{"/api/*", "/api/v1", true},
	} {
		if got := PathMatches(tt.path, tt.spec); got != tt.want {
			t.Errorf("PathMatches(%q, %q) = %v", tt.path, tt.spec, got)
		}
	}
}

func TestLevels(t *testing.T) {
	if !LevelRequestResponse.AtLeast(LevelRequest) || LevelMetadata.AtLeast(LevelRequest) || Level("Bogus").AtLeast(LevelNone) {
		t.Error("level order is None < Metadata < Request < RequestResponse; unknown levels are below all")
	}
}
