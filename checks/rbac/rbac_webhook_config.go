package rbac

import (
	"github.com/kubeharden/kubeharden/check"
)

// RBACWebhookConfig is check rbac-webhook-config. No ClusterRole rule may grant create, update, patch, delete or
// deletecollection on validatingwebhookconfigurations or
// mutatingwebhookconfigurations in admissionregistration.k8s.io ("*"
// verbs, resources and API groups count). deletecollection is included
// because it removes every webhook at once. Reading webhook
// configurations is fine. resourceNames do not excuse update, patch or
// delete of the named webhooks (a controller patching its own caBundle can
// also repoint or disable that webhook); they do keep create and
// deletecollection from being granted, which carry no name. Webhook
// configurations are cluster-scoped, so a Role cannot grant this and Roles
// are not reported. Exempt: the API server's built-in defaults (labelled
// kubernetes.io/bootstrapping=rbac-defaults), whose findings nobody can act
// on; aggregated ClusterRoles are judged on the rules they carry.
var RBACWebhookConfig = registry.Add(&check.Check{
	ID:       "rbac-webhook-config",
	Title:    "Role can change admission webhooks",
	Severity: check.High,
	Refs: []check.Ref{
		{Framework: check.CIS, ID: "5.1.12", Title: "Minimize access to webhook configuration objects"},
		{Framework: check.NSA, ID: "Authentication and authorization", Title: "Role-based access control"},
	},
	Description: "Reports ClusterRole rules that allow create, update, patch, delete or deletecollection on " +
		"validatingwebhookconfigurations or mutatingwebhookconfigurations, also through \"*\". Admission webhooks enforce " +
		"policy (image signing, pod security, tenancy rules) and see every object they match, Secrets included. Whoever can " +
		"write their configurations can switch enforcement off, narrow what it matches, or point a mutating webhook at a " +
		"server of their own that reads and rewrites every matching request. Roles cannot grant this (the configurations are " +
		"cluster-scoped) and the API server's built-in roles are not reported.",
	Remediation: "Grant only get, list and watch on webhook configurations. Leave writing them to the tool that installs " +
		"the cluster's policy engines; a controller that injects its own caBundle should be limited with resourceNames " +
		"and covered by a kubeharden exception with the reason.",
	Kinds: roleKinds,
	Object: ruleGrants("can change admission webhooks",
		request{group: "admissionregistration.k8s.io", resource: "validatingwebhookconfigurations", verbs: writeVerbs, cluster: true, atVerb: true},
		request{group: "admissionregistration.k8s.io", resource: "mutatingwebhookconfigurations", verbs: writeVerbs, cluster: true, atVerb: true},
	),
})

// writeVerbs are the verbs that create, change or remove objects.
var writeVerbs = []string{"create", "update", "patch", "delete", "deletecollection"}
