package audit

import (
	"strings"
	"testing"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/internal/checktest"
)

// Messages name the rules and requests a finding is about.
func TestMessages(t *testing.T) {
	for _, tt := range []struct {
		check *check.Check
		file  string
		line  int
		want  []string
	}{
		{AuditPolicyShadowedRule, "testdata/audit-policy-shadowed-rule/fail/shadowed.yaml", 42,
			[]string{"rule 3 (level RequestResponse) is never used: rules 1 and 2 together match every request it matches"}},
		{AuditPolicyShadowedRule, "testdata/audit-policy-shadowed-rule/fail/shadowed.yaml", 24,
			[]string{"rule 3 (level RequestResponse) is never used: rules 1 and 2 together"}},
		{AuditPolicyShadowedRule, "testdata/audit-policy-shadowed-rule/fail/shadowed.yaml", 63,
			[]string{"rule 5 (level Request) is never used: rules 3 and 4 together"}},
		{AuditPolicyShadowedRule, "testdata/audit-policy-shadowed-rule/fail/shadowed.yaml", 7,
			[]string{"rule 2 (level RequestResponse) is never used: rule 1 (level Metadata) matches every request"}},
		{AuditPolicyShadowedRule, "testdata/audit-policy-shadowed-rule/fail/shadowed.yaml", 73,
			[]string{"matches no request"}},
		{AuditPolicyLeaksSecrets, "testdata/audit-policy-leaks-secrets/fail/leaks.yaml", 6,
			[]string{"rule 1 (level RequestResponse) logs the bodies of requests on Secrets, ConfigMaps, service account tokens (serviceaccounts/token) and TokenReviews"}},
		{AuditPolicyLeaksSecrets, "testdata/audit-policy-leaks-secrets/fail/leaks.yaml", 56,
			[]string{"on service account tokens (serviceaccounts/token) (e.g. get serviceaccounts/token"}},
		{AuditPolicyMissesSensitive, "testdata/audit-policy-misses-sensitive/fail/missed.yaml", 16,
			[]string{"rule 3 (level None) keeps exec, attach and port-forward into pods and ephemeral containers (pods/ephemeralcontainers) out of the audit log"}},
		{AuditPolicyDetectionBlind, "testdata/audit-policy-detection-blind/fail/blind.yaml", 6,
			[]string{"4 detections", "audit-privileged-pod cannot see writes of pods and pod templates (logged at Metadata, needs Request)", "audit-cluster-admin-binding", "audit-rbac-wildcard-role", "audit-nodeport-service"}},
		{AuditPolicyDetectionBlind, "testdata/audit-policy-detection-blind/fail/blind.yaml", 11,
			[]string{"because of the policy's omitStages", "audit-exec-into-pod cannot see exec, attach and port-forward into pods (stage ResponseStarted omitted)"}},
		{AuditPolicyNoCatchAll, "testdata/audit-policy-no-catch-all/fail/no-catch-all.yaml", 28,
			[]string{"end at rule 2 (level None)"}},
	} {
		rep := checktest.Scan(t, []*check.Check{tt.check}, tt.file)
		found := false
		for _, f := range rep.Findings {
			if int(f.Location.Line) != tt.line {
				continue
			}
			found = true
			for _, w := range tt.want {
				if !strings.Contains(f.Message, w) {
					t.Errorf("%s:%d: message %q\n  lacks %q", tt.file, tt.line, f.Message, w)
				}
			}
		}
		if !found {
			t.Errorf("%s:%d: no %s finding", tt.file, tt.line, tt.check.ID)
		}
	}
}
