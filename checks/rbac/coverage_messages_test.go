package rbac

import (
	"strings"
	"testing"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/internal/checktest"
)

// The findings of rbac-broad-group-binding, rbac-workload-update and the
// nonResourceURLs part of rbac-wildcard say what is granted, to whom and
// where.
func TestCoverageMessages(t *testing.T) {
	for _, tt := range []struct {
		c    *check.Check
		want []string
	}{
		{RBACBroadGroupBinding, []string{
			`ClusterRoleBinding "everyone-edits" grants ClusterRole "edit", which can change most objects of every namespace, Secrets and workloads included, to every authenticated user and service account (subjects[1] is Group system:authenticated)`,
			`RoleBinding "team-a-admin" grants ClusterRole "admin", which can change every object of namespace "team-a", Roles and RoleBindings included, to every service account of namespace "team-a" (subjects[0] is Group system:serviceaccounts:team-a)`,
			`ClusterRoleBinding "operators" grants ClusterRole "cluster-admin", which allows every action on every resource, to every service account of the cluster (subjects[1] is Group system:serviceaccounts)`,
			`ClusterRoleBinding "self-service-deploys" grants ClusterRole "deployer", whose rules[1] allows "patch" on "deployments", to every authenticated user and service account (subjects[0] is Group system:authenticated)`,
			`RoleBinding "settings-for-all" grants Role "settings-writer", whose rules[0] allows "update" on "configmaps", to every service account of the cluster (subjects[0] is Group system:serviceaccounts)`,
			`ClusterRoleBinding "log-level-for-all" grants ClusterRole "log-level", whose rules[0] allows "put" on "/debug/flags/v", to every authenticated user and service account (subjects[0] is Group system:authenticated)`,
		}},
		{RBACWorkloadUpdate, []string{
			`Role "rollout" rules[0] can update or patch workloads, rewriting the pod template they start pods from ("patch" on "deployments")`,
			`Role "pod-fixer" rules[0] can update or patch pods, replacing a running container's image with any other ("patch" on "pods")`,
			`ClusterRole "platform" rules[0] can update or patch pods and workloads, changing the images and pod templates they run ("update" on "replicationcontrollers", "pods")`,
		}},
		{RBACWildcard, []string{
			`ClusterRole "endpoints" rules[0] uses a wildcard in nonResourceURLs ("*")`,
			`ClusterRole "endpoints" rules[1] uses a wildcard in nonResourceURLs ("/*")`,
			`ClusterRole "endpoints" rules[2] uses a wildcard in nonResourceURLs ("*"), verbs ("*")`,
		}},
	} {
		rep := checktest.Scan(t, []*check.Check{tt.c}, checktest.Fixtures("testdata", tt.c.ID, "fail")...)
		got := map[string]bool{}
		var all []string
		for _, f := range rep.Findings {
			got[f.Message] = true
			all = append(all, f.Message)
		}
		for _, w := range tt.want {
			if !got[w] {
				t.Errorf("%s: no finding\n  %s\namong\n  %s", tt.c.ID, w, strings.Join(all, "\n  "))
			}
		}
	}
}
