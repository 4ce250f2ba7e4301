package deploygen

import (
	"bytes"
	"flag"
	"os"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"

	"github.com/kubeharden/kubeharden/kinds"
)

var update = flag.Bool("update", false, "rewrite the generated blocks of deploy/")

var files = []struct {
	path   string
	marker string
	block  func() string
}{
	{"../../deploy/kubeharden.yaml", Begin, Rules},
	{"../../deploy/README.md", Begin, Table},
	{"../../deploy/README.md", WebhookBegin, WebhookTable},
	{"../../deploy/webhook-cert-manager.yaml", WebhookBegin, func() string { return Webhooks(WebhookOptions{}) }},
}

// TestDeployCurrent fails when a generated block of deploy/ differs from
// what the kind registry gives. Regenerate with: make deploy
func TestDeployCurrent(t *testing.T) {
	for _, f := range files {
		data, err := os.ReadFile(f.path)
		if err != nil {
			t.Fatal(err)
		}
		want, err := ReplaceBlock(data, f.marker, f.block())
		if err != nil {
			t.Fatalf("%s: %v", f.path, err)
		}
		if *update {
			if err := os.WriteFile(f.path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if !bytes.Equal(data, want) {
			t.Errorf("%s is stale: the kind registry or the checks changed; regenerate with: make deploy", f.path)
		}
	}
}

// The generated rules parse as RBAC rules and grant list, only, on
// exactly the kinds a cluster scan lists.
func TestRulesGrantExactlyTheListedKinds(t *testing.T) {
	var role rbacv1.ClusterRole
	if err := yaml.UnmarshalStrict([]byte(Rules()), &role); err != nil {
		t.Fatal(err)
	}
	granted := map[string]bool{}
	for _, r := range role.Rules {
		if len(r.Verbs) != 1 || r.Verbs[0] != "list" {
			t.Errorf("rule %v grants %v, want only list", r.Resources, r.Verbs)
		}
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				granted[g+"/"+res] = true
			}
		}
	}
	for _, k := range kinds.Listed() {
		if !granted[k.Group+"/"+k.Resource] {
			t.Errorf("%s is listed by the scan but not granted", k)
		}
		delete(granted, k.Group+"/"+k.Resource)
	}
	// The custom workload kinds are found from the CRDs' schemas.
	delete(granted, "apiextensions.k8s.io/customresourcedefinitions")
	for g := range granted {
		t.Errorf("%s is granted but never listed", g)
	}
}

func TestReplace(t *testing.T) {
	in := "a\n# " + Begin + "\nold\n# " + End + "\nb\n"
	out, err := Replace([]byte(in), "new\n")
	if err != nil || string(out) != "a\n# "+Begin+"\nnew\n# "+End+"\nb\n" {
		t.Errorf("Replace = %q, %v", out, err)
	}
	if _, err := Replace([]byte("no markers\n"), "x"); err == nil || !strings.Contains(err.Error(), "block") {
		t.Errorf("missing markers: %v", err)
	}
}
