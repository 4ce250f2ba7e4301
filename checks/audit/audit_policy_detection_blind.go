package audit

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kubeharden/kubeharden/auditpolicy"
	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
)

// AuditPolicyDetectionBlind is check audit-policy-detection-blind. Every
// detection of kubeharden's audit engine (auditpolicy.Detections) must see
// the requests it reads, at the level and with the stages it needs.
var AuditPolicyDetectionBlind = registry.Add(&check.Check{
	ID:       "audit-policy-detection-blind",
	Title:    "Audit policy leaves kubeharden's audit detections blind",
	Severity: check.Medium,
	Refs:     []check.Ref{cisCovers, nsaDetect},
	Description: "kubeharden's detections on the audit stream (`kubeharden audit events`, `kubeharden serve " +
		"--audit-webhook`) read what the audit policy records, nothing more. Detections that judge the object written " +
		"need its body, level Request: a privileged pod (audit-privileged-pod), a binding to cluster-admin " +
		"(audit-cluster-admin-binding), a wildcard Role (audit-rbac-wildcard-role), a NodePort Service " +
		"(audit-nodeport-service). Detections of long-running requests need the ResponseStarted stage: an exec session " +
		"(audit-exec-into-pod) is over, or still running for hours, before its ResponseComplete event. The others need " +
		"Metadata and the ResponseComplete stage (the response code and the authorization decision). The check computes, " +
		"for each detection, which rules decide the requests it reads, and names the detections each rule leaves blind " +
		"and why. ConfigMap bodies are the exception: capping them at Metadata, as audit-policy-leaks-secrets asks, is " +
		"not counted against audit-configmap-credentials (kubeharden's admission webhook covers it).",
	Remediation: "Give the requests the detection names the level and stages it needs: Request for writes of pods, " +
		"workloads, RBAC objects and Services, Metadata for the rest, and omit only RequestReceived (not " +
		"ResponseStarted). deploy/audit-policy.yaml gives every detection what it needs.",
	Kinds: policyKinds,
	Object: func(_ *check.Env, o *inventory.Object) []check.Result {
		p := policyOf(o)
		if p == nil {
			return nil
		}
		a := auditpolicy.Analyze(p)
		var blind byRule
		for i := range auditpolicy.Detections {
			for _, g := range a.Gaps(&auditpolicy.Detections[i]) {
				if g.Reason != "" {
					blind.add(g.Outcome.Rule, fmt.Sprintf("%s cannot see %s (%s)", g.Detection.ID, g.Need.What, g.Reason), g.Outcome.Example)
				}
				for _, s := range g.Omitted {
					// A stage the policy omits for every rule is the
					// policy's omitStages' doing; otherwise the rule's.
					at := g.Outcome.Rule
					if slices.Contains(p.OmitStages, s) {
						at = policyStages
					}
					blind.add(at, fmt.Sprintf("%s cannot see %s (stage %s omitted)", g.Detection.ID, g.Need.What, s), g.Outcome.Example)
				}
			}
		}
		return blind.results(func(rule int, what []string, _ string) string {
			ids := map[string]bool{}
			for _, w := range what {
				ids[w[:strings.IndexByte(w, ' ')]] = true
			}
			var where string
			switch {
			case rule == policyStages:
				where = "because of the policy's omitStages"
			case rule < 0:
				where = "for requests no rule matches"
			default:
				where = "under " + ruleName(p, rule)
			}
			return fmt.Sprintf("%s, %d detection%s of kubeharden's audit engine go%s blind: %s", where, len(ids), plural(len(ids)), goes(len(ids)), strings.Join(what, "; "))
		})
	},
})

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func goes(n int) string {
	if n == 1 {
		return "es"
	}
	return ""
}
