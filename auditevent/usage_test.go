package auditevent

import (
	"strings"
	"testing"

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
