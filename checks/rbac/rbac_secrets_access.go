package rbac

import (
	"github.com/kubeharden/kubeharden/check"
)

// RBACSecretsAccess is check rbac-secrets-access. No rule of a Role or ClusterRole may grant get, list or watch on Secrets
// of the core group (directly, or through "*" verbs, resources or API
// groups) unless it names the Secrets in resourceNames. A rule with
// resourceNames passes for all three verbs: the authorizer then allows
// list and watch only with a metadata.name field selector that picks one
// of the named Secrets, so they reveal no more than get does. Exempt: the
// API server's built-in defaults (labelled
// kubernetes.io/bootstrapping=rbac-defaults), whose findings nobody can
// act on; aggregated ClusterRoles are judged on the rules they carry.
var RBACSecretsAccess = registry.Add(&check.Check{
	ID:       "rbac-secrets-access",
	Title:    "Role can read Secrets",
	Severity: check.High,
	Refs: []check.Ref{
		{Framework: check.CIS, ID: "5.1.2", Title: "Minimize access to secrets"},
		{Framework: check.NSA, ID: "Authentication and authorization", Title: "Role-based access control"},
	},
	Description: "Reports Role and ClusterRole rules that allow get, list or watch on Secrets in the core group, also through \"*\", " +
		"without resourceNames. Secrets hold credentials: service account tokens, registry and cloud keys, TLS keys, database " +
		"passwords. Reading all of them in a namespace, or in the cluster through a ClusterRoleBinding, hands over every " +
		"identity stored there, often more powerful service accounts, so it is a direct path to privilege escalation; list " +
		"and watch return the contents just as get does. A rule that names its Secrets passes: list and watch are then only " +
		"allowed with a field selector for those names. The API server's built-in roles are not reported.",
	Remediation: "Grant get on the specific Secrets the subject needs with resourceNames, or mount them into the workload " +
		"instead of reading them through the API. Remove \"*\" from verbs, resources and apiGroups of rules that reach the core group.",
	Kinds: roleKinds,
	Object: ruleGrants("can read Secrets not limited by resourceNames",
		request{group: "", resource: "secrets", verbs: []string{"get", "list", "watch"}, accept: listsNames},
	),
})

// listsNames accepts a rule limited to the objects it names.
func listsNames(resourceNames []string) bool { return len(resourceNames) > 0 }
