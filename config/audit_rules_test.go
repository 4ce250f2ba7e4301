package config

import (
	"strings"
	"testing"
)

func TestAuditRules(t *testing.T) {
	known := func(id string) bool { return id == "privileged-container" }
	cfg, err := Parse([]byte(`
auditRules:
- id: deletes-namespace
  severity: high
  expression: event.verb == 'delete' && event.objectRef.resource == 'namespaces'
  message: a namespace was deleted
  verbs: [delete]
  resources: [namespaces]
exceptions:
- check: deletes-namespace
  name: scratch-*
  reason: scratch namespaces come and go
- check: audit-exec-into-pod
  namespace: dev
  reason: developers debug their pods
`), "k.yaml", known)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.AuditRules) != 1 || cfg.AuditRules[0].Line != 3 || cfg.AuditRules[0].File != "k.yaml" || cfg.AuditRules[0].Verbs[0] != "delete" {
		t.Fatalf("rules %+v", cfg.AuditRules)
	}
	if len(cfg.Exceptions) != 2 {
		t.Fatalf("exceptions %+v", cfg.Exceptions)
	}
	for _, tc := range []struct{ doc, want string }{
		{"auditRules:\n- id: x\n  severity: high\n  expresion: 'true'\n  message: m\n", `k.yaml:2: audit rule: unknown field "expresion"`},
		{"auditRules:\n- id: x\n  severity: severe\n  expression: 'true'\n  message: m\n", `k.yaml:2: audit rule "x"`},
		{"auditRules:\n- id: audit-exec-into-pod\n  severity: high\n  expression: 'true'\n  message: m\n", `already taken`},
		{"auditRules:\n- severity: high\n  expression: 'true'\n  message: m\n", `k.yaml:2: audit rule has no id`},
		{"auditRules:\n- id: x\n  severity: high\n  expression: 'true'\n", `has no message`},
		{"exceptions:\n- check: audit-nope\n  reason: r\n", `unknown check "audit-nope"`},
	} {
		_, err := Parse([]byte(tc.doc), "k.yaml", known)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.doc, err, tc.want)
		}
	}
}
