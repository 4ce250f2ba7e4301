package identity

import (
	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
)

// DefaultServiceAccount is check default-service-account. A pod must run as a service account of its own, not as its namespace's
// "default" one: serviceAccountName (or, when that is empty, the deprecated
// serviceAccount) must name another account. This holds even when the
// token is not mounted (service-account-token-automounted covers the
// token): the pod still shares an identity that anyone may later grant
// rights to, or mount.
var DefaultServiceAccount = registry.Add(&check.Check{
	ID:       "default-service-account",
	Title:    "Pod runs as the default service account",
	Severity: check.Medium,
	Refs: []check.Ref{
		{Framework: check.CIS, ID: "5.1.5", Title: "Ensure that default service accounts are not actively used"},
		{Framework: check.NSA, ID: "Authentication and authorization", Title: "Role-based access control"},
	},
	Description: "Every pod that names no service account runs as the namespace's default one, so they all share one " +
		"identity. A role bound to it for one workload is granted to all of them, audit logs cannot tell them apart, " +
		"and compromising any pod of the namespace yields the same rights.",
	Remediation: "Create a ServiceAccount per workload (with automountServiceAccountToken: false unless it needs the API), " +
		"set serviceAccountName to it, bind it only the Role it needs, and leave the default account without bindings " +
		"and with automounting disabled.",
	Kinds: kinds.Pods,
	Object: check.ForPods(func(o *inventory.Object, p *inventory.PodTemplate) []check.Result {
		name, path := podServiceAccount(p)
		if name != "default" {
			return nil
		}
		if path == "" {
			// At the field the API server sets (its ServiceAccount admission
			// plugin names "default" in a Pod), which resolves at the spec in
			// a manifest.
			return []check.Result{{Path: p.At("serviceAccountName"),
				Message: "the pod names no service account (serviceAccountName is not set), so it runs as the namespace's default one"}}
		}
		return []check.Result{{Path: path, Message: "the pod runs as the namespace's default service account"}}
	}),
})
