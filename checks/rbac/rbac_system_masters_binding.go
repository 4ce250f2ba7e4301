package rbac

import (
	"fmt"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
)

// RBACSystemMastersBinding is check rbac-system-masters-binding. No
// RoleBinding or ClusterRoleBinding may have the subject Group
// system:masters. Members of that group are authorized for everything
// before RBAC is consulted, so such a binding grants nothing: it shows that
// credentials in the group are issued or expected. One finding per such
// subject. Exempt: the API server's own cluster-admin ClusterRoleBinding
// (labelled kubernetes.io/bootstrapping=rbac-defaults), which binds the
// group by design.
var RBACSystemMastersBinding = registry.Add(&check.Check{
	ID:       "rbac-system-masters-binding",
	Title:    "Binding names the system:masters group",
	Severity: check.Medium,
	Refs: []check.Ref{
		{Framework: check.CIS, ID: "5.1.7", Title: "Avoid use of system:masters group"},
		{Framework: check.NSA, ID: "Authentication and authorization", Title: "Authentication"},
	},
	Description: "Reports RoleBindings and ClusterRoleBindings whose subjects include the Group system:masters. The API " +
		"server lets every request from a member of system:masters through before RBAC is consulted, and membership " +
		"comes from the credential itself (the organization of a client certificate), so it cannot be taken away by " +
		"editing RBAC and lasts until the certificate expires or the cluster CA is replaced. The binding itself grants " +
		"nothing its subjects do not already have; it is reported because it shows the group in use or planned, usually " +
		"as the target of certificates handed out as \"admin\" credentials. Medium: the risk lies in those credentials, " +
		"which no object shows. The API server's own cluster-admin binding is not reported.",
	Remediation: "Remove the system:masters subject from the binding. Give administrators an ordinary group (bound to " +
		"cluster-admin or, better, a narrower role) that RBAC can revoke, keep system:masters for the break-glass " +
		"credential created at cluster setup, and do not issue further certificates in that group.",
	Kinds: bindingKinds,
	Object: func(_ *check.Env, o *inventory.Object) []check.Result {
		b, ok := bindingOf(o)
		if !ok || builtinDefault(o) {
			return nil
		}
		var out []check.Result
		for i, s := range b.subjects {
			if s.Kind != rbacv1.GroupKind || s.Name != "system:masters" {
				continue
			}
			out = append(out, check.Result{
				Path: subjectPath(i),
				Message: fmt.Sprintf("%s %q binds %s %q to Group system:masters (subjects[%d]), whose members bypass RBAC: "+
					"the binding grants nothing and shows that system:masters credentials are in use", o.Kind, o.Name, b.roleRef.Kind, b.roleRef.Name, i),
			})
		}
		return out
	},
})
