package rbac

import (
	"github.com/kubeharden/kubeharden/check"
)

// RBACNodeProxy is check rbac-node-proxy. No ClusterRole rule may grant get or create on nodes/proxy in the core
// group ("*" verbs, resources, "*/proxy" and "*" API groups count). Those
// are the verbs of the GET and POST requests the kubelet's exec, run and
// attach endpoints accept. Nodes are cluster-scoped, so a Role cannot
// grant this and Roles are not reported. resourceNames do not excuse a
// rule: a named node still exposes every pod on it. Exempt: the API
// server's built-in defaults (labelled
// kubernetes.io/bootstrapping=rbac-defaults), whose findings nobody can act
// on; aggregated ClusterRoles are judged on the rules they carry.
var RBACNodeProxy = registry.Add(&check.Check{
	ID:       "rbac-node-proxy",
	Title:    "Role can proxy to the kubelet API",
	Severity: check.High,
	Refs: []check.Ref{
		{Framework: check.CIS, ID: "5.1.10", Title: "Minimize access to the proxy sub-resource of nodes"},
		{Framework: check.NSA, ID: "Authentication and authorization", Title: "Role-based access control"},
	},
	Description: "Reports ClusterRole rules that allow get or create on nodes/proxy, also through \"*\" or \"*/proxy\". nodes/proxy " +
		"forwards requests through the API server to the kubelet API, which lists pods and runs commands in any container on " +
		"the node. The kubelet sees the call as coming from the API server, so RBAC and admission control on pods/exec never " +
		"apply and audit logs only record a request to the node. get is enough: exec over WebSocket starts with a GET. " +
		"Roles cannot grant this (nodes are cluster-scoped) and the API server's built-in roles are not reported.",
	Remediation: "Remove nodes/proxy (and \"*\" resources covering it) from the rule. Monitoring agents should read the " +
		"kubelet metrics endpoints through nodes/metrics or nodes/stats instead, which do not allow running commands.",
	Kinds: roleKinds,
	Object: ruleGrants("can reach the kubelet API of nodes",
		request{group: "", resource: "nodes/proxy", verbs: []string{"get", "create"}, cluster: true},
	),
})
