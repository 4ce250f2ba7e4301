package rbac

import (
	"github.com/kubeharden/kubeharden/check"
)

// RBACExecAttach is check rbac-exec-attach. No rule of a Role or ClusterRole may grant create or get on pods/exec or
// pods/attach in the core group ("*" verbs, resources, "*/exec",
// "*/attach" and "*" API groups count). get matters as much as create:
// kubectl and client-go open exec and attach sessions over WebSocket,
// which starts with a GET. resourceNames do not excuse a rule: exec into a
// named pod is still a shell in it. Exempt: the API server's built-in
// defaults (labelled kubernetes.io/bootstrapping=rbac-defaults), whose
// findings nobody can act on; aggregated ClusterRoles are judged on the
// rules they carry. No CIS control covers exec specifically (5.1.4 is about
// creating pods), so only the NSA-CISA guidance is referenced.
var RBACExecAttach = registry.Add(&check.Check{
	ID:       "rbac-exec-attach",
	Title:    "Role can exec or attach into pods",
	Severity: check.High,
	Refs: []check.Ref{
		{Framework: check.NSA, ID: "Authentication and authorization", Title: "Role-based access control"},
	},
	Description: "Reports Role and ClusterRole rules that allow create or get on pods/exec or pods/attach in the core group, also " +
		"through \"*\" or \"*/exec\". exec and attach run commands in, or take over the terminal of, a running container: " +
		"the subject gets everything the container has, its service account token, mounted Secrets, credentials in its " +
		"environment and its network position, and for a privileged or host-mounting pod the node. get counts as much as " +
		"create because exec over WebSocket is a GET request. The API server's built-in roles are not reported.",
	Remediation: "Remove pods/exec and pods/attach (and \"*\" resources covering them) from roles used by workloads and " +
		"day-to-day users. Give debugging access through a separate, time-limited role bound on demand, and prefer " +
		"logs, ephemeral debug containers under admission control, or read-only views.",
	Kinds: roleKinds,
	Object: ruleGrants("can exec or attach into pods",
		request{group: "", resource: "pods/exec", verbs: []string{"create", "get"}},
		request{group: "", resource: "pods/attach", verbs: []string{"create", "get"}},
	),
})
