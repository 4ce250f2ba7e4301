package audit

import (
	"fmt"

	"github.com/kubeharden/kubeharden/auditpolicy"
	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
)

// AuditPolicyLogsRequestReceived is check audit-policy-logs-request-received.
// The RequestReceived stage must be omitted (by the policy, or by every
// rule that logs something): it doubles the events without adding
// anything the ResponseComplete event lacks.
var AuditPolicyLogsRequestReceived = registry.Add(&check.Check{
	ID:       "audit-policy-logs-request-received",
	Title:    "Audit policy logs the RequestReceived stage",
	Severity: check.Low,
	Refs:     []check.Ref{cisMinimal, nsaLogging},
	Description: "Unless the stage is omitted, the API server writes an event when a request is received, and another " +
		"when its response is complete (a third when a long-running request starts its response). The RequestReceived " +
		"event carries nothing the ResponseComplete event does not — it lacks even the response code — so it doubles the " +
		"volume of the log, its cost and the load on the API server's audit backends, and makes every detection see each " +
		"request twice. The check reports every rule that logs some request (level other than None, reachable) without " +
		"omitting RequestReceived, when the policy does not omit it for all rules.",
	Remediation: "Add `omitStages: [RequestReceived]` at the top level of the policy (it applies to every rule), or to " +
		"each rule that logs.",
	Kinds: policyKinds,
	Object: func(_ *check.Env, o *inventory.Object) []check.Result {
		p := policyOf(o)
		if p == nil || p.Omits(-1, auditpolicy.StageRequestReceived) {
			return nil
		}
		a := auditpolicy.Analyze(p)
		var out []check.Result
		for i, r := range p.Rules {
			if r.Level == auditpolicy.LevelNone || p.Omits(i, auditpolicy.StageRequestReceived) {
				continue
			}
			if _, _, unreachable := a.Unreachable(i); unreachable {
				continue
			}
			out = append(out, check.Result{Path: rulePath(i), Message: fmt.Sprintf("%s does not omit the RequestReceived stage, "+
				"so every request it logs is written twice; add omitStages: [RequestReceived] to the policy", ruleName(p, i))})
		}
		return out
	},
})
