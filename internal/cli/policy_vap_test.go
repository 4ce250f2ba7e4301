package cli_test

import (
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	"sigs.k8s.io/yaml"
)

func TestPolicyVAP(t *testing.T) {
	r := run(t, "", "policy", "vap", "--checks", "host-pid,run-as-root,secret-in-env,pod-not-isolated",
		"--action", "Warn,Audit", "--namespace-selector", "env=prod,team=a")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{
		"#   secret-in-env     needs the credential detector",
		"#   pod-not-isolated  cross-object",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	for _, want := range []string{"no admission policy for secret-in-env", "no admission policy for pod-not-isolated"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	docs := strings.Split(r.stdout, "\n---\n")[1:]
	if len(docs) != 4 {
		t.Fatalf("%d documents, want a policy and a binding for each of 2 checks", len(docs))
	}
	var p admissionv1.ValidatingAdmissionPolicy
	if err := yaml.UnmarshalStrict([]byte(docs[2]), &p); err != nil || p.Name != "kubeharden-run-as-root" || p.Kind != "ValidatingAdmissionPolicy" {
		t.Errorf("third document: %v %s/%s", err, p.Kind, p.Name)
	}
	var b admissionv1.ValidatingAdmissionPolicyBinding
	if err := yaml.UnmarshalStrict([]byte(docs[3]), &b); err != nil || b.Spec.PolicyName != "kubeharden-run-as-root" ||
		len(b.Spec.ValidationActions) != 2 || b.Spec.MatchResources.NamespaceSelector.MatchLabels["team"] != "a" {
		t.Errorf("fourth document: %v %+v", err, b.Spec)
	}

	for _, args := range [][]string{
		{"--action", "Deny,Warn"},
		{"--action", "Block"},
		{"--namespace-selector", "env"},
		{"--checks", "no-such-check"},
		{"--checks", "secret-in-env"},
	} {
		if r := run(t, "", append([]string{"policy", "vap"}, args...)...); r.code != 2 {
			t.Errorf("%v: exit %d, want 2: %s", args, r.code, r.stderr)
		}
	}
}
