package rbac_test

import (
	"slices"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeharden/kubeharden/rbac"
)

func TestRuleAllows(t *testing.T) {
	rule := func(verbs, groups, resources, names []string) *rbacv1.PolicyRule {
		return &rbacv1.PolicyRule{Verbs: verbs, APIGroups: groups, Resources: resources, ResourceNames: names}
	}
	l := func(s ...string) []string { return s }
	for _, c := range []struct {
		rule *rbacv1.PolicyRule
		q    rbac.Request
		want bool
	}{
		{rule(l("get"), l(""), l("pods"), nil), rbac.Request{Verb: "get", Resource: "pods"}, true},
		{rule(l("*"), l("*"), l("*"), nil), rbac.Request{Verb: "get", Group: "apps", Resource: "deployments", Subresource: "scale"}, true},
		{rule(l("get"), l(""), l("pods"), nil), rbac.Request{Verb: "get", Resource: "pods", Subresource: "log"}, false},
		{rule(l("get"), l(""), l("pods/*"), nil), rbac.Request{Verb: "get", Resource: "pods", Subresource: "log"}, false},
		{rule(l("get"), l(""), l("pods/*"), nil), rbac.Request{Verb: "get", Resource: "pods", Subresource: "*"}, true},
		{rule(l("get"), l(""), l("*/log"), nil), rbac.Request{Verb: "get", Resource: "pods", Subresource: "log"}, true},
		{rule(l("get"), l(""), l("*/log"), nil), rbac.Request{Verb: "get", Resource: "log"}, false},
		{rule(l("get"), l("apps"), l("pods"), nil), rbac.Request{Verb: "get", Resource: "pods"}, false},
		{rule(l("get", "create", "list"), l(""), l("pods"), l("a")), rbac.Request{Verb: "get", Resource: "pods", Name: "a"}, true},
		{rule(l("get", "create", "list"), l(""), l("pods"), l("a")), rbac.Request{Verb: "list", Resource: "pods", Name: "a"}, true},
		{rule(l("get", "create", "list"), l(""), l("pods"), l("a")), rbac.Request{Verb: "list", Resource: "pods"}, false},
		{rule(l("get", "create", "list"), l(""), l("pods"), l("a")), rbac.Request{Verb: "create", Resource: "pods"}, false},
		{&rbacv1.PolicyRule{Verbs: l("get"), NonResourceURLs: l("/logs/*")}, rbac.Request{Verb: "get", Path: "/logs/x/y"}, true},
		{&rbacv1.PolicyRule{Verbs: l("get"), NonResourceURLs: l("/logs/*")}, rbac.Request{Verb: "get", Path: "/logs"}, false},
		{&rbacv1.PolicyRule{Verbs: l("get"), NonResourceURLs: l("/x**")}, rbac.Request{Verb: "get", Path: "/xy"}, true},
		{&rbacv1.PolicyRule{Verbs: l("get"), NonResourceURLs: l("*")}, rbac.Request{Verb: "get", Path: "/anything"}, true},
		{&rbacv1.PolicyRule{Verbs: l("get"), NonResourceURLs: l("/healthz")}, rbac.Request{Verb: "post", Path: "/healthz"}, false},
	} {
		if got := rbac.RuleAllows(c.rule, c.q); got != c.want {
			t.Errorf("%+v allows %+v: got %v", c.rule, c.q, got)
		}
	}
}

func TestAuthorize(t *testing.T) {
	s := rbac.NewSet()
	rules := []rbacv1.PolicyRule{{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"pods"}}}
	ref := rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "read"}
	s.Add(&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "read"}, Rules: rules})
	s.Add(&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "b"}, RoleRef: ref,
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "sa"}}})
	s.Add(&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "c"}, RoleRef: ref,
		// A ServiceAccount without a namespace names nobody cluster-wide.
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "sa"}}})
	s.Add(&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "d"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "gone"},
		Subjects: []rbacv1.Subject{{Kind: "Group", Name: "g"}}})
	get := func(ns string) rbac.Request { return rbac.Request{Verb: "get", Resource: "pods", Namespace: ns} }
	sa := rbac.ServiceAccountUser("a", "sa")
	if d := s.Authorize(sa, get("a")); !d.Allowed || d.Grants[0].Binding.String() != "RoleBinding/a/b" {
		t.Errorf("sa in a: %+v", d)
	}
	if d := s.Authorize(sa, get("")); d.Allowed {
		t.Errorf("sa cluster-wide: %+v", d)
	}
	if d := s.Authorize(rbac.User{Name: "u", Groups: []string{"g"}}, get("a")); d.Allowed ||
		d.ServerReason() != `rbac: RBAC: clusterrole.rbac.authorization.k8s.io "gone" not found` {
		t.Errorf("dangling: %+v", d)
	}
	if d := s.Authorize(rbac.User{Groups: []string{rbac.MastersGroup}}, rbac.Request{Verb: "delete", Resource: "nodes"}); !d.Allowed {
		t.Errorf("system:masters: %+v", d)
	}
	who := s.WhoCan(get("a"))
	if len(who) != 1 || who[0].Subject != (rbac.Subject{Kind: "ServiceAccount", Name: "sa", Namespace: "a"}) {
		t.Errorf("who-can: %+v", who)
	}
}

func TestImpersonate(t *testing.T) {
	for _, c := range []struct {
		name   string
		groups []string
		want   []string
	}{
		{"alice", nil, []string{"system:authenticated"}},
		{"alice", []string{"g"}, []string{"g", "system:authenticated"}},
		{"alice", []string{"system:unauthenticated"}, []string{"system:unauthenticated"}},
		{"system:anonymous", nil, []string{"system:unauthenticated"}},
		{"system:serviceaccount:ns:sa", nil, []string{"system:serviceaccounts", "system:serviceaccounts:ns", "system:authenticated"}},
		{"system:serviceaccount:ns:sa", []string{"g"}, []string{"g", "system:authenticated"}},
	} {
		if got := rbac.Impersonate(c.name, c.groups); !slices.Equal(got.Groups, c.want) {
			t.Errorf("%s %v: got %v, want %v", c.name, c.groups, got.Groups, c.want)
		}
	}
}
