package policy

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	"sigs.k8s.io/yaml"

	"github.com/kubeharden/kubeharden/internal/cli/cmdutil"
)

// The exceptions of the configuration file become matchConditions of the
// policies of their checks; an expired one is left out with a warning; the
// file's skip list selects as in scan; the checks of other kinds than pods
// get their policies, with rules for their resources.
func TestVAPConfig(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, ".kubeharden.yaml")
	if err := os.WriteFile(file, []byte(`skip: [host-ipc]
exceptions:
- check: host-pid
  namespace: monitoring
  name: node-*
  reason: the node agent
- checks: [rbac-wildcard, host-pid]
  name: old
  reason: gone
  expires: 2020-01-31
`), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	cmd := newVAP(cmdutil.Streams{Out: &out, Err: &errOut})
	cmd.SetArgs([]string{"--config", file, "--checks", "host-pid,host-ipc,rbac-wildcard,service-nodeport"})
	if err := cmd.Execute(); err != nil {
		t.Fatalf("%v: %s", err, errOut.String())
	}
	for _, want := range []string{
		file + ":7: the exception for rbac-wildcard, host-pid expired on 2020-01-31: the policy of host-pid does not include it",
		file + ":7: the exception for rbac-wildcard, host-pid expired on 2020-01-31: the policy of rbac-wildcard does not include it",
	} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut.String())
		}
	}
	policies := map[string]admissionv1.ValidatingAdmissionPolicy{}
	for _, doc := range strings.Split(out.String(), "\n---\n")[1:] {
		var p admissionv1.ValidatingAdmissionPolicy
		if err := yaml.Unmarshal([]byte(doc), &p); err != nil {
			t.Fatal(err)
		}
		if p.Kind == "ValidatingAdmissionPolicy" {
			policies[p.Name] = p
		}
	}
	if len(policies) != 3 {
		t.Fatalf("%d policies, want host-pid, rbac-wildcard and service-nodeport (host-ipc skipped by the file)", len(policies))
	}
	conds := policies["kubeharden-host-pid"].Spec.MatchConditions
	if len(conds) != 1 || conds[0].Expression != `!(request.namespace.matches('^monitoring$') && request.name.matches('^node-[^/]*$'))` {
		t.Errorf("host-pid match conditions %+v", conds)
	}
	if n := len(policies["kubeharden-rbac-wildcard"].Spec.MatchConditions); n != 0 {
		t.Errorf("rbac-wildcard: %d match conditions, want none (its one exception expired)", n)
	}
	rules := policies["kubeharden-rbac-wildcard"].Spec.MatchConstraints.ResourceRules
	if len(rules) != 1 || strings.Join(rules[0].Resources, ",") != "clusterroles,roles" && strings.Join(rules[0].Resources, ",") != "roles,clusterroles" ||
		rules[0].APIGroups[0] != "rbac.authorization.k8s.io" {
		t.Errorf("rbac-wildcard rules %+v", rules)
	}
	if r := policies["kubeharden-service-nodeport"].Spec.MatchConstraints.ResourceRules; len(r) != 1 || r[0].Resources[0] != "services" {
		t.Errorf("service-nodeport rules %+v", r)
	}
}
