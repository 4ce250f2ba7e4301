package audit

import (
	"fmt"

	"github.com/kubeharden/kubeharden/auditpolicy"
	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
)

// credentialBearing are the requests whose bodies carry credentials. A
// body is logged at Request (the request's, for writes) and at
// RequestResponse (the response's too, for every verb).
var credentialBearing = []struct {
	what string
	gr   auditpolicy.GroupResources
	// inRequest is set when the request body of a write holds the
	// credential (a Secret written, a token under review); a TokenRequest
	// carries it only in its response.
	inRequest bool
}{
	{"Secrets", auditpolicy.GroupResources{Resources: []string{"secrets"}}, true},
	{"ConfigMaps", auditpolicy.GroupResources{Resources: []string{"configmaps"}}, true},
	{"service account tokens (serviceaccounts/token)", auditpolicy.GroupResources{Resources: []string{"serviceaccounts/token"}}, false},
	{"TokenReviews", auditpolicy.GroupResources{Group: "authentication.k8s.io", Resources: []string{"tokenreviews"}}, true},
}

// AuditPolicyLeaksSecrets is check audit-policy-leaks-secrets. Requests on
// Secrets, ConfigMaps, service account tokens and TokenReviews must be
// capped at Metadata by a rule before any rule that logs bodies: at
// Request a write's body is logged, at RequestResponse every response.
var AuditPolicyLeaksSecrets = registry.Add(&check.Check{
	ID:       "audit-policy-leaks-secrets",
	Title:    "Audit policy writes Secret values into the audit log",
	Severity: check.High,
	Refs:     []check.Ref{cisCovers, nsaLogging, nsaSecrets},
	Description: "The audit policy is evaluated rule by rule, first match wins. A request on a Secret, a ConfigMap, a " +
		"service account token (serviceaccounts/token) or a TokenReview that reaches a rule at level Request (for writes) " +
		"or RequestResponse (for any verb) has its body written into the audit log: Secret data, ConfigMap values that " +
		"often hold passwords, freshly minted tokens, the bearer tokens under review. The audit log then becomes a copy " +
		"of every credential in the cluster, kept for months, shipped to log pipelines and readable by everyone who can " +
		"read logs. The check computes, for every such request, the rule that decides it — including rules that match " +
		"them only through a group wildcard (group \"*\"), an empty resources list or no resources at all — and reports " +
		"every rule under which their bodies are logged.",
	Remediation: "Add a rule capping these requests at Metadata before any rule that logs bodies, for example " +
		"`- level: Metadata` with `resources: [{group: \"\", resources: [secrets, configmaps, serviceaccounts/token]}, " +
		"{group: authentication.k8s.io, resources: [tokenreviews]}]`, as near the top of the policy as the None rules " +
		"allow. deploy/audit-policy.yaml is a complete example.",
	Kinds: policyKinds,
	Object: func(_ *check.Env, o *inventory.Object) []check.Result {
		p := policyOf(o)
		if p == nil {
			return nil
		}
		a := auditpolicy.Analyze(p)
		var leaks byRule
		seen := map[[2]any]bool{}
		for _, t := range credentialBearing {
			sels := []auditpolicy.Selector{{Resources: []auditpolicy.GroupResources{t.gr}}}
			if t.inRequest {
				sels = append(sels, auditpolicy.Selector{Verbs: writeVerbs, Resources: []auditpolicy.GroupResources{t.gr}})
			}
			for _, sel := range sels {
				for _, out := range a.Outcomes(sel) {
					logged := out.Level == auditpolicy.LevelRequestResponse ||
						(len(sel.Verbs) > 0 && out.Level == auditpolicy.LevelRequest)
					if k := [2]any{out.Rule, t.what}; out.Rule >= 0 && logged && !seen[k] {
						seen[k] = true
						leaks.add(out.Rule, t.what, out.Example)
					}
				}
			}
		}
		return leaks.results(func(rule int, what []string, example string) string {
			return fmt.Sprintf("%s logs the bodies of requests on %s (e.g. %s): their credentials end up in the audit log; "+
				"cap these resources at Metadata with an earlier rule", ruleName(p, rule), joinAnd(what), example)
		})
	},
})
