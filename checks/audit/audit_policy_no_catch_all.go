package audit

import (
	"fmt"

	"github.com/kubeharden/kubeharden/auditpolicy"
	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
)

// unlisted is a request on a resource no policy names (a custom
// resource of a new operator): where it ends is where everything the
// policy's author did not think of ends.
var unlisted = auditpolicy.Request{
	User: "jane@example.com", Groups: []string{"system:authenticated"}, Verb: "create",
	ResourceRequest: true, APIGroup: "unlisted.kubeharden.io", Resource: "widgets", Namespace: "team",
}

// AuditPolicyNoCatchAll is check audit-policy-no-catch-all. Every request
// must match some rule, and the requests nobody listed must be logged: the
// policy ends with a catch-all rule at Metadata or more.
var AuditPolicyNoCatchAll = registry.Add(&check.Check{
	ID:       "audit-policy-no-catch-all",
	Title:    "Audit policy has no catch-all rule",
	Severity: check.Medium,
	Refs:     []check.Ref{cisMinimal, nsaLogging},
	Description: "A request that no rule of the audit policy matches is not audited at all. Policies written as a list " +
		"of the resources someone thought of leave out everything else: custom resources of operators installed later, " +
		"new API groups after an upgrade, non-resource URLs, verbs nobody listed. The check computes whether every " +
		"request matches some rule, and whether a request on a resource no rule names (a new custom resource) ends at a " +
		"rule that logs it at None.",
	Remediation: "End the policy with a catch-all rule, `- level: Metadata` with no other field (after the rules that " +
		"cap or drop specific requests), so that whatever the earlier rules do not name is logged with its metadata.",
	Kinds: policyKinds,
	Object: func(_ *check.Env, o *inventory.Object) []check.Result {
		p := policyOf(o)
		if p == nil || len(p.Rules) == 0 {
			return nil
		}
		a := auditpolicy.Analyze(p)
		for _, out := range a.Outcomes(auditpolicy.Everything) {
			if out.Rule < 0 {
				return []check.Result{{Path: "rules", Message: fmt.Sprintf("no rule matches some requests (e.g. %s): "+
					"they are not audited; end the policy with a catch-all `- level: Metadata`", out.Example)}}
			}
		}
		if d := p.Evaluate(unlisted); d.Rule >= 0 && d.Level == auditpolicy.LevelNone {
			return []check.Result{{Path: rulePath(d.Rule), Message: fmt.Sprintf("requests no rule names (e.g. %s) end at %s: "+
				"they are not audited; end the policy with a catch-all `- level: Metadata`", unlisted, ruleName(p, d.Rule))}}
		}
		return nil
	},
})
