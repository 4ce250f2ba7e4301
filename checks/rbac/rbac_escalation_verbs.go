package rbac

import (
	"github.com/kubeharden/kubeharden/check"
)

// RBACEscalationVerbs is check rbac-escalation-verbs. No rule of a Role or ClusterRole may grant the verbs that bypass RBAC's
// own escalation checks: escalate or bind on roles and clusterroles, and
// impersonate on users, groups, serviceaccounts, uids or userextras/*.
// "*" verbs, resources and API groups count. resourceNames do not excuse a
// rule: binding or impersonating one named identity still yields all of its
// rights. Cluster-scoped targets (users, groups, uids, userextras, and
// escalate on clusterroles) are only reported in ClusterRoles, as a Role
// cannot grant them. Exempt: the API server's built-in defaults (labelled
// kubernetes.io/bootstrapping=rbac-defaults), whose findings nobody can act
// on; aggregated ClusterRoles are judged on the rules they carry.
var RBACEscalationVerbs = registry.Add(&check.Check{
	ID:       "rbac-escalation-verbs",
	Title:    "Role can escalate, bind or impersonate",
	Severity: check.High,
	Refs: []check.Ref{
		{Framework: check.CIS, ID: "5.1.8", Title: "Limit use of the Bind, Impersonate and Escalate permissions in the Kubernetes cluster"},
		{Framework: check.NSA, ID: "Authentication and authorization", Title: "Role-based access control"},
	},
	Description: "Reports Role and ClusterRole rules that allow escalate or bind on roles or clusterroles, or impersonate on users, " +
		"groups, serviceaccounts, uids or userextras, also through \"*\". RBAC stops a subject from granting permissions " +
		"it does not hold, except through these verbs: escalate lets it write roles with any permission, bind lets it bind " +
		"roles it does not hold, and impersonate lets it act as another identity. Any of them turns limited access into the " +
		"rights of the most powerful role or identity reachable, up to cluster-admin; resourceNames narrow that but do not " +
		"remove it. Cluster-scoped targets are only reported in ClusterRoles, and the API server's built-in roles not at all.",
	Remediation: "Remove escalate, bind and impersonate from the rule, and any \"*\" that covers them. Where delegation is " +
		"really needed, restrict it with resourceNames to the exact roles that may be handed out or the identities that may " +
		"be impersonated, bind it only to audited administrators, and record a kubeharden exception with the reason.",
	Kinds: roleKinds,
	Object: ruleGrants("can escalate, bind or impersonate",
		request{group: "rbac.authorization.k8s.io", resource: "roles", verbs: []string{"escalate", "bind"}, atVerb: true},
		request{group: "rbac.authorization.k8s.io", resource: "clusterroles", verbs: []string{"bind"}, atVerb: true},
		request{group: "rbac.authorization.k8s.io", resource: "clusterroles", verbs: []string{"escalate"}, cluster: true, atVerb: true},
		request{group: "", resource: "serviceaccounts", verbs: []string{"impersonate"}, atVerb: true},
		request{group: "", resource: "users", verbs: []string{"impersonate"}, cluster: true, atVerb: true},
		request{group: "", resource: "groups", verbs: []string{"impersonate"}, cluster: true, atVerb: true},
		request{group: "authentication.k8s.io", resource: "uids", verbs: []string{"impersonate"}, cluster: true, atVerb: true},
		request{group: "authentication.k8s.io", resource: "userextras/*", verbs: []string{"impersonate"}, cluster: true, atVerb: true},
	),
})
