package rbac_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/kubeharden/kubeharden/internal/cli"
)

func run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Main(args, cli.Streams{In: strings.NewReader(""), Out: &out, Err: &errb})
	return out.String(), errb.String(), code
}

func TestCanI(t *testing.T) {
	f := "testdata/rbac.yaml"
	for _, c := range []struct {
		args []string
		out  string
		code int
	}{
		{[]string{"get", "pods", "--as", "x", "--as-group", "readers"}, "yes\n", 0},
		{[]string{"get", "pods", "--as", "x"}, "no\n", 1},
		{[]string{"get", "pods/log", "--as", "x", "--as-group", "readers"}, "yes\n", 0},
		{[]string{"get", "pods", "--subresource", "log", "--as", "x", "--as-group", "readers"}, "yes\n", 0},
		{[]string{"get", "pods", "--subresource", "exec", "--as", "x", "--as-group", "readers"}, "no\n", 1},
		{[]string{"list", "pod", "-A", "--as", "system:serviceaccount:ops:monitor"}, "yes\n", 0},
		{[]string{"get", "/logs/kubelet", "--as", "system:serviceaccount:ops:monitor"}, "yes\n", 0},
		{[]string{"get", "/logsx", "--as", "system:serviceaccount:ops:monitor"}, "no\n", 1},
		{[]string{"update", "deployments.apps/web", "--subresource", "scale", "-n", "team", "--as", "alice"}, "yes\n", 0},
		{[]string{"update", "deployments.apps/api", "--subresource", "scale", "-n", "team", "--as", "alice"}, "no\n", 1},
		{[]string{"update", "deployments.apps/web", "--subresource", "scale", "-n", "other", "--as", "alice"}, "no\n", 1},
		{[]string{"update", "deployments.apps/web", "--subresource", "scale", "-n", "team", "--as", "system:serviceaccount:team:deployer"}, "yes\n", 0},
		// The service account groups are implied only without --as-group.
		{[]string{"delete", "secrets", "-n", "team", "--as", "system:serviceaccount:team:x"}, "yes\n", 0},
		{[]string{"delete", "secrets", "-n", "team", "--as", "system:serviceaccount:team:x", "--as-group", "g"}, "no\n", 1},
		{[]string{"create", "pods", "-n", "team", "--as", "bob"}, "no - rbac: RBAC: clusterrole.rbac.authorization.k8s.io \"missing\" not found\n", 1},
		{[]string{"create", "pods", "-n", "team", "--as", "bob", "-q"}, "", 1},
		{[]string{"delete", "nodes", "--as", "root", "--as-group", "system:masters"}, "yes\n", 0},
	} {
		args := append([]string{"rbac", "can-i", "-f", f}, c.args...)
		out, errs, code := run(t, args...)
		if out != c.out || code != c.code {
			t.Errorf("%v: got %q exit %d (stderr %q), want %q exit %d", c.args, out, code, errs, c.out, c.code)
		}
	}
}

func TestCanIUsage(t *testing.T) {
	for _, args := range [][]string{
		{"rbac", "can-i", "get", "pods", "-f", "testdata/rbac.yaml"},
		{"rbac", "can-i", "get", "pods", "--as", "x"},
		{"rbac", "can-i", "get", "/healthz", "--subresource", "x", "--as", "x", "-f", "testdata/rbac.yaml"},
		{"rbac", "can-i", "get", "pods", "--as", "x", "-f", "testdata/nothing.yaml"},
	} {
		if _, errs, code := run(t, args...); code != 2 || errs == "" {
			t.Errorf("%v: exit %d, stderr %q; want 2 and a message", args, code, errs)
		}
	}
}

func TestWhoCan(t *testing.T) {
	out, errs, code := run(t, "rbac", "who-can", "update", "deployments.apps/web", "--subresource", "scale", "-n", "team", "-f", "testdata/rbac.yaml", "-o", "json")
	want := `{
  "subjects": [
    {
      "kind": "Group",
      "name": "system:masters",
      "via": [
        {
          "binding": "(system:masters)",
          "role": "(all access)"
        }
      ]
    },
    {
      "kind": "ServiceAccount",
      "name": "deployer",
      "namespace": "team",
      "via": [
        {
          "binding": "RoleBinding/team/scale-web",
          "role": "ClusterRole/scaler"
        }
      ]
    },
    {
      "kind": "User",
      "name": "alice",
      "via": [
        {
          "binding": "RoleBinding/team/scale-web",
          "role": "ClusterRole/scaler"
        }
      ]
    }
  ]
}
`
	if out != want || code != 0 {
		t.Errorf("exit %d stderr %q\n%s", code, errs, out)
	}
	out, _, code = run(t, "rbac", "who-can", "get", "pods", "-f", "testdata/rbac.yaml")
	wantTable := `KIND            NAME            NAMESPACE  BINDING                     ROLE
Group           readers         -          ClusterRoleBinding/readers  ClusterRole/pod-reader
Group           system:masters  -          (system:masters)            (all access)
Group           system:masters  -          ClusterRoleBinding/admins   ClusterRole/pod-reader
ServiceAccount  monitor         ops        ClusterRoleBinding/readers  ClusterRole/pod-reader
`
	if out != wantTable || code != 0 {
		t.Errorf("exit %d\n%s", code, out)
	}
}
