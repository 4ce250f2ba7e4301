package rbac_test

import (
	"strings"
	"testing"

	"github.com/kubeharden/kubeharden/internal/testcluster"
)

func TestMain(m *testing.M) { testcluster.Main(m) }

// The cluster's built-in roles: /healthz is public (system:public-info-viewer),
// secrets are not.
func TestCanIAndWhoCanCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the test cluster")
	}
	tc := testcluster.Shared(t)
	kc := tc.KubeconfigPath(testcluster.Admin)
	if out, errs, code := run(t, "rbac", "can-i", "get", "/healthz", "--as", "nobody", "--cluster", "--kubeconfig", kc); out != "yes\n" || code != 0 {
		t.Errorf("get /healthz: %q exit %d (%s)", out, code, errs)
	}
	if out, errs, code := run(t, "rbac", "can-i", "list", "secrets", "-A", "--as", "nobody", "--cluster", "--kubeconfig", kc); out != "no\n" || code != 1 {
		t.Errorf("list secrets: %q exit %d (%s)", out, code, errs)
	}
	out, errs, code := run(t, "rbac", "who-can", "get", "/healthz", "--cluster", "--kubeconfig", kc)
	if code != 0 || !strings.Contains(out, "Group           system:authenticated") || !strings.Contains(out, "ClusterRoleBinding/system:public-info-viewer") {
		t.Errorf("who-can get /healthz: exit %d (%s)\n%s", code, errs, out)
	}
}
