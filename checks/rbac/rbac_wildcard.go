package rbac

import (
	"fmt"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
)

// RBACWildcard is check rbac-wildcard. No rule of a Role or ClusterRole may use a wildcard: "*" in apiGroups,
// resources or verbs, "*/<subresource>" in resources, or a nonResourceURLs
// entry that matches every non-resource URL. One finding per rule, at its
// first wildcard in the order apiGroups, resources, nonResourceURLs, verbs
// (the order kubectl prints them in). Exempt: the API server's built-in
// defaults (labelled kubernetes.io/bootstrapping=rbac-defaults), whose
// findings nobody can act on; aggregated ClusterRoles are judged on the
// rules they carry.
//
// The RBAC authorizer matches a nonResourceURLs entry "*" against every
// URL, and an entry ending in "*" as a prefix. "*" and "/*" (every path
// starts with "/") therefore grant every non-resource endpoint: /logs (the
// API server host's log files), /debug/pprof and /debug/flags, /metrics,
// and any endpoint a future release adds. Narrower prefixes such as
// "/apis/*", "/openapi/*" or "/healthz/*" are not reported: they are what
// the API server's own system:discovery role grants, and they reach one
// family of endpoints.
var RBACWildcard = registry.Add(&check.Check{
	ID:       "rbac-wildcard",
	Title:    "Role uses wildcards",
	Severity: check.High,
	Refs: []check.Ref{
		{Framework: check.CIS, ID: "5.1.3", Title: "Minimize wildcard use in Roles and ClusterRoles"},
		{Framework: check.NSA, ID: "Authentication and authorization", Title: "Role-based access control"},
	},
	Description: "Reports Role and ClusterRole rules with \"*\" in apiGroups, resources or verbs, a \"*/<subresource>\" resource, " +
		"or \"*\" or \"/*\" in nonResourceURLs, which match every non-resource endpoint (/logs, /debug, /metrics...). " +
		"A wildcard grants every group, resource or verb, including those that upgrades and CustomResourceDefinitions add " +
		"later, so the rule usually reaches far more than intended (Secrets, pods/exec, escalate, impersonate) and keeps " +
		"growing. High rather than critical because one wildcard can still be bounded by the other fields; with all three " +
		"the rule comes close to cluster-admin. Narrower non-resource prefixes such as \"/apis/*\" are not reported. The API " +
		"server's built-in roles are not reported.",
	Remediation: "Replace each \"*\" with the explicit API groups, resources, non-resource URLs (such as /metrics or " +
		"/healthz) and verbs the subject uses (kubectl auth can-i --list and the audit log show what it needs), and re-list " +
		"new resources deliberately when they appear.",
	Kinds: roleKinds,
	Object: func(_ *check.Env, o *inventory.Object) []check.Result {
		rules, ok := roleRules(o)
		if !ok {
			return nil
		}
		var out []check.Result
		for i, r := range rules {
			var fields []string
			at := ""
			for _, f := range []struct {
				name     string
				entries  []string
				wildcard func(string) bool
			}{
				{"apiGroups", r.APIGroups, wildcard},
				{"resources", r.Resources, wildcard},
				{"nonResourceURLs", r.NonResourceURLs, everyURL},
				{"verbs", r.Verbs, wildcard},
			} {
				for j, e := range f.entries {
					if f.wildcard(e) {
						fields = append(fields, fmt.Sprintf("%s (%q)", f.name, e))
						if at == "" {
							at = inventory.Join(inventory.Index("rules", i), inventory.Index(f.name, j))
						}
						break
					}
				}
			}
			if at != "" {
				out = append(out, check.Result{
					Path:    at,
					Message: fmt.Sprintf("%s %q rules[%d] uses a wildcard in %s", o.Kind, o.Name, i, strings.Join(fields, ", ")),
				})
			}
		}
		return out
	},
})

// everyURL reports whether a nonResourceURLs entry matches every
// non-resource URL: "*", or the prefix wildcard "/*".
func everyURL(s string) bool {
	return s == rbacv1.NonResourceAll || s == "/*"
}
