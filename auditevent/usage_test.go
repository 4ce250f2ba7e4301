package auditevent

import (
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

func TestUsageRoles(t *testing.T) {
	ev := func(id, user, imp, verb, ns, res, sub, name string, code int) string {
		s := `{"auditID":"` + id + `","stage":"ResponseComplete","verb":"` + verb + `","requestURI":"/x","user":{"username":"` + user + `"}`
		if imp != "" {
			s += `,"impersonatedUser":{"username":"` + imp + `"}`
		}
		if res != "" {
			s += `,"objectRef":{"resource":"` + res + `","namespace":"` + ns + `","name":"` + name + `","subresource":"` + sub + `"}`
		} else {
			s = strings.Replace(s, `"/x"`, `"/metrics?x=1"`, 1)
		}
		return s + `,"responseStatus":{"code":` + map[bool]string{true: "403", false: "200"}[code == 403] + `}}`
	}
	u := NewUsage("system:serviceaccount:app:ci")
	dec := NewDecoder()
	var e Event
	for _, l := range []string{
		ev("1", "system:serviceaccount:app:ci", "", "get", "app", "configmaps", "", "a", 200),
		ev("1", "system:serviceaccount:app:ci", "", "get", "app", "configmaps", "", "a", 200), // same request, later stage
		ev("2", "system:serviceaccount:app:ci", "", "get", "app", "configmaps", "", "b", 200),
		ev("3", "system:serviceaccount:app:ci", "", "create", "app", "configmaps", "", "c", 200), // create: no names
		ev("4", "system:serviceaccount:app:ci", "", "get", "app", "secrets", "", "s", 200),
		ev("5", "system:serviceaccount:app:ci", "", "get", "app", "secrets", "", "", 200), // unnamed: all secrets
		ev("6", "system:serviceaccount:app:ci", "", "create", "app", "pods", "exec", "p", 200),
		ev("7", "system:serviceaccount:app:ci", "", "delete", "app", "pods", "", "p", 403), // refused: not a permission it used
		ev("8", "alice", "system:serviceaccount:app:ci", "list", "", "namespaces", "", "", 200),
		ev("9", "system:serviceaccount:app:ci", "bob", "list", "", "nodes", "", "", 200), // as bob, not the account
		ev("10", "system:serviceaccount:app:ci", "", "get", "", "", "", "", 200),
	} {
		if err := dec.Decode([]byte(l), &e); err != nil {
			t.Fatal(err)
		}
		u.Observe(&e)
	}
	if u.Requests != 8 {
		t.Errorf("%d requests counted, want 8", u.Requests)
	}
	var docs []string
	for _, o := range u.Roles("least") {
		b, _ := yaml.Marshal(o)
		docs = append(docs, string(b))
	}
	roles := u.Roles("least")
	if len(roles) != 4 {
		t.Fatalf("want Role, RoleBinding, ClusterRole, ClusterRoleBinding; got\n%s", strings.Join(docs, "---\n"))
	}
	role := roles[0].(*rbacv1.Role)
	want := []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"create"}},
		{APIGroups: []string{""}, Resources: []string{"configmaps"}, ResourceNames: []string{"a", "b"}, Verbs: []string{"get"}},
		{APIGroups: []string{""}, Resources: []string{"pods/exec"}, Verbs: []string{"create"}},
		{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}},
	}
	if got, _ := yaml.Marshal(role.Rules); string(got) != string(must(yaml.Marshal(want))) {
		t.Errorf("role rules:\n%s\nwant\n%s", got, must(yaml.Marshal(want)))
	}
	if b := roles[1].(*rbacv1.RoleBinding); b.Subjects[0].Kind != "ServiceAccount" || b.Subjects[0].Namespace != "app" || b.Subjects[0].Name != "ci" {
		t.Errorf("binding subject %+v", b.Subjects)
	}
	cr := roles[2].(*rbacv1.ClusterRole)
	if len(cr.Rules) != 2 || cr.Rules[0].Resources[0] != "namespaces" || cr.Rules[1].NonResourceURLs[0] != "/metrics" {
		t.Errorf("cluster role rules %+v", cr.Rules)
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// Unused names each permission of a rule no request used, in the rule's
// scope: per resource name where the rule lists names, wildcards as
// written (used when any request they cover was made); Covered lists what
// a rule allowed of the observed requests. The window spans every event.
func TestUsageUnused(t *testing.T) {
	u := NewUsage("alice")
	dec := NewDecoder()
	var e Event
	for _, l := range []string{
		`{"auditID":"1","stage":"ResponseComplete","verb":"get","requestURI":"/api/v1/namespaces/a/secrets/s1","user":{"username":"alice"},"objectRef":{"resource":"secrets","namespace":"a","name":"s1"},"responseStatus":{"code":200},"stageTimestamp":"2026-03-01T10:00:00.5Z"}`,
		`{"auditID":"2","stage":"ResponseComplete","verb":"list","requestURI":"/apis/apps/v1/namespaces/a/deployments","user":{"username":"alice"},"objectRef":{"resource":"deployments","apiGroup":"apps","namespace":"a"},"responseStatus":{"code":200},"stageTimestamp":"2026-03-01T09:00:00Z"}`,
		`{"auditID":"3","stage":"ResponseComplete","verb":"get","requestURI":"/version","user":{"username":"bob"},"responseStatus":{"code":200},"stageTimestamp":"2026-03-01T12:00:00Z"}`,
		`{"auditID":"4","stage":"ResponseComplete","verb":"create","requestURI":"/api/v1/namespaces/a/pods/p/exec","user":{"username":"alice"},"objectRef":{"resource":"pods","subresource":"exec","namespace":"a","name":"p"},"responseStatus":{"code":101},"stageTimestamp":"2026-03-01T11:00:00Z"}`,
	} {
		if err := dec.Decode([]byte(l), &e); err != nil {
			t.Fatal(err)
		}
		u.Observe(&e)
	}
	if u.Events != 4 || u.Requests != 3 || u.First.Format(time.RFC3339) != "2026-03-01T09:00:00Z" || u.Last.Format(time.RFC3339) != "2026-03-01T12:00:00Z" {
		t.Errorf("window: %d events, %d requests, %v to %v", u.Events, u.Requests, u.First, u.Last)
	}
	for _, tc := range []struct {
		ns            string
		rule          rbacv1.PolicyRule
		unused, cover string
	}{
		{"a", rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{"s1", "s2"}, Verbs: []string{"get", "update"}},
			"get secrets s2, update secrets s1, update secrets s2", "get secrets s1"},
		{"b", rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}}, "get secrets", ""}, // other namespace
		{"", rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}}, "", "get secrets"},  // cluster-wide: any namespace
		{"a", rbacv1.PolicyRule{APIGroups: []string{"apps"}, Resources: []string{"deployments", "replicasets"}, Verbs: []string{"list", "watch"}},
			"list replicasets.apps, watch deployments.apps, watch replicasets.apps", "list deployments.apps"},
		{"a", rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"create"}}, "create pods", ""}, // exec is not pods
		{"a", rbacv1.PolicyRule{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}}, "",
			"create pods/exec, get secrets, list deployments.apps"},
		{"a", rbacv1.PolicyRule{APIGroups: []string{"batch"}, Resources: []string{"*"}, Verbs: []string{"*"}}, "* *.batch", ""},
		{"", rbacv1.PolicyRule{NonResourceURLs: []string{"/version", "/metrics"}, Verbs: []string{"get"}}, "get /version, get /metrics", ""}, // bob's request, not alice's
		{"a", rbacv1.PolicyRule{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}}, "", ""},                                      // URLs are not granted in a namespace
	} {
		if got := strings.Join(u.Unused(tc.ns, &tc.rule), ", "); got != tc.unused {
			t.Errorf("Unused(%q, %+v) = %q, want %q", tc.ns, tc.rule, got, tc.unused)
		}
		if got := strings.Join(u.Covered(tc.ns, &tc.rule), ", "); got != tc.cover {
			t.Errorf("Covered(%q, %+v) = %q, want %q", tc.ns, tc.rule, got, tc.cover)
		}
	}
}
