package audit

import (
	"fmt"

	"github.com/kubeharden/kubeharden/auditpolicy"
	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
)

// sensitive are the requests an audit policy must record.
var sensitive = []struct {
	what string
	sel  auditpolicy.Selector
}{
	{"exec, attach and port-forward into pods", auditpolicy.Selector{Resources: []auditpolicy.GroupResources{{Resources: []string{"pods/exec", "pods/attach", "pods/portforward"}}}}},
	{"ephemeral containers (pods/ephemeralcontainers)", auditpolicy.Selector{Resources: []auditpolicy.GroupResources{{Resources: []string{"pods/ephemeralcontainers"}}}}},
	{"RBAC changes", auditpolicy.Selector{Verbs: changeVerbs, Resources: []auditpolicy.GroupResources{{Group: "rbac.authorization.k8s.io"}}}},
	{"token requests (serviceaccounts/token)", auditpolicy.Selector{Verbs: []string{"create"}, Resources: []auditpolicy.GroupResources{{Resources: []string{"serviceaccounts/token"}}}}},
	{"admission webhook and admission policy changes", auditpolicy.Selector{Verbs: changeVerbs, Resources: []auditpolicy.GroupResources{{Group: "admissionregistration.k8s.io"}}}},
	{"Secret access", auditpolicy.Selector{Resources: []auditpolicy.GroupResources{{Resources: []string{"secrets"}}}}},
}

// AuditPolicyMissesSensitive is check audit-policy-misses-sensitive.
// Exec, attach, port-forward, ephemeral containers, RBAC changes, token
// requests, admission configuration changes and Secret access must be
// logged: no rule may decide them at None, and some rule must match them.
var AuditPolicyMissesSensitive = registry.Add(&check.Check{
	ID:       "audit-policy-misses-sensitive",
	Title:    "Audit policy does not record security-sensitive requests",
	Severity: check.High,
	Refs:     []check.Ref{cisCovers, nsaLogging},
	Description: "Some requests are what an incident investigation needs first: exec, attach and port-forward into pods " +
		"and ephemeral containers (the pods/exec, pods/attach, pods/portforward and pods/ephemeralcontainers " +
		"subresources — a rule naming `pods` alone does not match them, `pods/*` does), changes to RBAC, token requests " +
		"for service accounts, changes to admission webhooks and admission policies (the way to switch off policy " +
		"enforcement), and Secret access. The check computes which rule decides each of them, first match wins, and " +
		"reports every rule that logs some of them at None, and the policy when some of them match no rule at all (not " +
		"audited) or are decided by a rule that omits both the RequestReceived and ResponseComplete stages.",
	Remediation: "Log these requests at Metadata at least (Request for RBAC and admission changes, to see what changed): " +
		"narrow the None rule that swallows them (by users, verbs or resources), or add a rule for them before it, and " +
		"end the policy with a catch-all `- level: Metadata`. deploy/audit-policy.yaml is a complete example.",
	Kinds: policyKinds,
	Object: func(_ *check.Env, o *inventory.Object) []check.Result {
		p := policyOf(o)
		if p == nil {
			return nil
		}
		a := auditpolicy.Analyze(p)
		var missed byRule
		for _, s := range sensitive {
			for _, out := range a.Outcomes(s.sel) {
				silent := out.Level == auditpolicy.LevelNone ||
					(p.Omits(out.Rule, auditpolicy.StageRequestReceived) && p.Omits(out.Rule, auditpolicy.StageResponseComplete))
				if silent {
					missed.add(out.Rule, s.what, out.Example)
				}
			}
		}
		return missed.results(func(rule int, what []string, example string) string {
			switch {
			case rule < 0:
				return fmt.Sprintf("no rule matches %s (e.g. %s): they are not audited; add a rule for them or a final catch-all", joinAnd(what), example)
			case p.Rules[rule].Level == auditpolicy.LevelNone:
				return fmt.Sprintf("%s keeps %s out of the audit log (e.g. %s); log them at Metadata or more with an earlier rule, or narrow this one", ruleName(p, rule), joinAnd(what), example)
			}
			return fmt.Sprintf("%s omits the RequestReceived and ResponseComplete stages, so %s leave no event (e.g. %s)", ruleName(p, rule), joinAnd(what), example)
		})
	},
})
