package rbac

import (
	"github.com/kubeharden/kubeharden/check"
)

// RBACTokenCreate is check rbac-token-create. No rule of a Role or ClusterRole may grant create on
// serviceaccounts/token in the core group ("*" verbs, resources, "*/token"
// and "*" API groups count). The TokenRequest names its service account,
// so resourceNames narrow the rule to those accounts but do not excuse it:
// minting tokens for one account is acting as that account. Exempt: the API
// server's built-in defaults (labelled
// kubernetes.io/bootstrapping=rbac-defaults), whose findings nobody can act
// on; aggregated ClusterRoles are judged on the rules they carry.
var RBACTokenCreate = registry.Add(&check.Check{
	ID:       "rbac-token-create",
	Title:    "Role can mint service account tokens",
	Severity: check.High,
	Refs: []check.Ref{
		{Framework: check.CIS, ID: "5.1.13", Title: "Minimize access to the service account token creation"},
		{Framework: check.NSA, ID: "Authentication and authorization", Title: "Role-based access control"},
	},
	Description: "Reports Role and ClusterRole rules that allow create on serviceaccounts/token, also through \"*\" or \"*/token\". " +
		"This is the TokenRequest API: it issues a bearer token for a service account with an audience and lifetime the " +
		"caller picks. The subject can then act as that service account, or as any in scope when the rule names none, " +
		"including controllers with cluster-wide rights; resourceNames narrow that but do not remove it. The API server's " +
		"built-in roles are not reported.",
	Remediation: "Remove serviceaccounts/token (and \"*\" resources covering it) from the rule. Let the kubelet project " +
		"tokens into pods through serviceAccountName; where a component must mint tokens, list the exact service " +
		"accounts in resourceNames and record a kubeharden exception with the reason.",
	Kinds: roleKinds,
	Object: ruleGrants("can issue tokens for service accounts",
		request{group: "", resource: "serviceaccounts/token", verbs: []string{"create"}},
	),
})
