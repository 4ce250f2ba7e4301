package audit

import (
	"fmt"

	"github.com/kubeharden/kubeharden/auditpolicy"
	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
)

// AuditPolicyShadowedRule is check audit-policy-shadowed-rule. Every rule
// must be reachable: some request must match it and none of the rules
// before it. Reachability is computed exactly over users, groups, verbs,
// namespaces, API groups, resources, subresources and names (non-resource
// URL prefixes are judged conservatively): a rule is reported only when it
// is proven unreachable.
var AuditPolicyShadowedRule = registry.Add(&check.Check{
	ID:       "audit-policy-shadowed-rule",
	Title:    "Audit policy rule is never used",
	Severity: check.Medium,
	Refs:     []check.Ref{cisCovers, nsaLogging},
	Description: "The API server uses the first rule that matches a request and ignores the rest. A rule whose " +
		"requests are all matched by earlier rules — one broader rule, or several together — never applies, so the " +
		"level its author chose for those requests is not the level they get: a RequestResponse rule for RBAC changes " +
		"placed after a catch-all Metadata rule, a Metadata cap for Secrets placed after a rule that logs the core group " +
		"at Request. The check computes it from the rules' users, groups, verbs, namespaces, resources (\"pods\" does not " +
		"match pods/exec, \"pods/*\" does; \"*/status\" matches every status subresource; group \"*\" every group), " +
		"resource names and non-resource URLs, and never reports a rule some request can reach. It also reports rules " +
		"that match no request at all (a resource pattern such as \"pods/\").",
	Remediation: "Move the rule above the rules that take its requests (the more specific rule first), narrow those " +
		"rules, or delete the rule if the earlier level is the one you want.",
	Kinds: policyKinds,
	Object: func(_ *check.Env, o *inventory.Object) []check.Result {
		p := policyOf(o)
		if p == nil {
			return nil
		}
		a := auditpolicy.Analyze(p)
		var out []check.Result
		for i := range p.Rules {
			by, never, ok := a.Unreachable(i)
			if !ok {
				continue
			}
			var msg string
			switch {
			case never:
				msg = fmt.Sprintf("%s matches no request (its resource patterns name nothing a request can have): it is never used", ruleName(p, i))
			case len(by) == 1:
				msg = fmt.Sprintf("%s is never used: %s matches every request it matches, and the first matching rule wins", ruleName(p, i), ruleName(p, by[0]))
			default:
				msg = fmt.Sprintf("%s is never used: %s together match every request it matches, and the first matching rule wins", ruleName(p, i), ruleList(by))
			}
			out = append(out, check.Result{Path: rulePath(i), Message: msg})
		}
		return out
	},
})
