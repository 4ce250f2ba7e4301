package rbac

import (
	"fmt"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
)

// RBACAnonymousBinding is check rbac-anonymous-binding. No RoleBinding or ClusterRoleBinding may have the subject User
// system:anonymous, Group system:unauthenticated or Group system:anonymous:
// whatever the role, it is granted to anyone who can reach the API server.
// One finding per such subject. Exempt: the API server's own
// system:public-info-viewer ClusterRoleBinding (labelled
// kubernetes.io/bootstrapping=rbac-defaults), which exposes only the
// health and version endpoints. Other labelled defaults are reported: a
// cluster created before Kubernetes 1.14 keeps system:unauthenticated in
// its system:discovery and system:basic-user bindings across upgrades, and
// removing it is the fix.
var RBACAnonymousBinding = registry.Add(&check.Check{
	ID:       "rbac-anonymous-binding",
	Title:    "Binding grants access to anonymous users",
	Severity: check.Critical,
	Refs: []check.Ref{
		{Framework: check.NSA, ID: "Authentication and authorization", Title: "Authentication"},
		{Framework: check.NSA, ID: "Authentication and authorization", Title: "Role-based access control"},
	},
	Description: "Reports RoleBindings and ClusterRoleBindings whose subjects include the User system:anonymous or the Group " +
		"system:unauthenticated (or system:anonymous). Requests without credentials are authenticated as exactly these, so " +
		"the binding grants its role to anyone who can reach the API server, with no account or audit trail naming them. " +
		"Critical, because no credential stands between an attacker and those permissions. Only the API server's own " +
		"system:public-info-viewer binding, which exposes health and version endpoints, is not reported.",
	Remediation: "Remove the anonymous subjects from the binding and bind the role to the authenticated users, groups or " +
		"service accounts that need it. Where anonymous requests are not needed at all, also start the API server with " +
		"--anonymous-auth=false.",
	Kinds: bindingKinds,
	Object: func(_ *check.Env, o *inventory.Object) []check.Result {
		b, ok := bindingOf(o)
		if !ok || (builtinDefault(o) && b.roleRef.Name == "system:public-info-viewer") {
			return nil
		}
		var out []check.Result
		for i, s := range b.subjects {
			if (s.Kind == "User" && s.Name == "system:anonymous") ||
				(s.Kind == "Group" && (s.Name == "system:unauthenticated" || s.Name == "system:anonymous")) {
				out = append(out, check.Result{
					Path:    inventory.Join(inventory.Index("subjects", i), "name"),
					Message: fmt.Sprintf("%s %q grants %s %q to unauthenticated users (subjects[%d] is %s %s)", o.Kind, o.Name, b.roleRef.Kind, b.roleRef.Name, i, s.Kind, s.Name),
				})
			}
		}
		return out
	},
})
