package watch

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/kubeharden/kubeharden/kinds"
	"github.com/kubeharden/kubeharden/metrics"
	kscan "github.com/kubeharden/kubeharden/scan"
)

// clusterRole returns the named ClusterRole of deploy/scanner.yaml.
func clusterRole(t *testing.T, name string) *rbacv1.ClusterRole {
	t.Helper()
	data, err := os.ReadFile("../../deploy/scanner.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range strings.Split(string(data), "\n---\n") {
		var r rbacv1.ClusterRole
		if err := yaml.Unmarshal([]byte(doc), &r); err != nil {
			t.Fatalf("deploy/scanner.yaml: %v", err)
		}
		if r.Kind == "ClusterRole" && r.Name == name {
			return &r
		}
	}
	t.Fatalf("deploy/scanner.yaml has no ClusterRole %s", name)
	return nil
}

// The watcher's ClusterRole grants list and watch on exactly the kinds of
// the registry that a cluster can serve, list on CustomResourceDefinitions
// (whose schemas tell which custom kinds are workloads), and nothing else.
func TestDeployedRBACMatchesTheKindRegistry(t *testing.T) {
	const crds = "apiextensions.k8s.io/customresourcedefinitions"
	want := map[string]bool{crds: true}
	for _, k := range kinds.Listed() {
		want[k.Group+"/"+k.Resource] = true
	}
	got := map[string]bool{}
	for _, r := range clusterRole(t, "kubeharden-watcher").Rules {
		wantVerbs := []string{"list", "watch"}
		if len(r.APIGroups) == 1 && len(r.Resources) == 1 && r.APIGroups[0]+"/"+r.Resources[0] == crds {
			wantVerbs = []string{"list"}
		}
		if v := slices.Clone(r.Verbs); !slices.Equal(v, wantVerbs) {
			t.Errorf("rule %v has verbs %v, want exactly %v", r.Resources, r.Verbs, wantVerbs)
		}
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				got[g+"/"+res] = true
			}
		}
	}
	for k := range want {
		if !got[k] {
			t.Errorf("deploy/scanner.yaml: kubeharden-watcher lacks list/watch on %s (a kind in package kinds)", k)
		}
	}
	for k := range got {
		if !want[k] {
			t.Errorf("deploy/scanner.yaml: kubeharden-watcher grants %s, which no kind of package kinds needs", k)
		}
	}
	for _, r := range clusterRole(t, "kubeharden-policyreports").Rules {
		if !slices.Equal(r.APIGroups, []string{"wgpolicyk8s.io"}) {
			t.Errorf("the PolicyReport role reaches beyond wgpolicyk8s.io: %v", r.APIGroups)
		}
	}
}

// Every kind the scanner watches for the built-in checks is one the
// ClusterRole grants (the scanner derives its kinds from the checks).
func TestWatchedKindsAreListed(t *testing.T) {
	s, err := New(Options{Config: &rest.Config{Host: "https://127.0.0.1:1"}, Plan: kscan.Plan{Now: time.Now}})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.watched) < 10 || len(s.groups) < 2 {
		t.Fatalf("the scanner watches %d kinds in %d groups of cross-object checks: the built-in checks need more", len(s.watched), len(s.groups))
	}
	for _, w := range s.watched {
		if w.t.Synthetic {
			t.Errorf("the scanner would watch synthetic kind %s", w.t)
		}
	}
	if !slices.ContainsFunc(s.watched, func(w *watched) bool { return w.t == kinds.Secret }) {
		t.Error("Secrets are not watched")
	}
}

// The namespace-local cross-object checks are recomputed for one
// namespace: those that relate objects across namespaces must not be.
func TestNamespaceLocalChecks(t *testing.T) {
	s, err := New(Options{Config: &rest.Config{Host: "https://127.0.0.1:1"}, Plan: kscan.Plan{Now: time.Now}})
	if err != nil {
		t.Fatal(err)
	}
	var local, global []string
	for _, g := range s.groups {
		for _, c := range g.eng.Checks() {
			if g.local {
				local = append(local, c.ID)
			} else {
				global = append(global, c.ID)
			}
		}
	}
	slices.Sort(local)
	slices.Sort(global)
	for _, id := range []string{"namespace-without-default-deny", "namespace-without-limit-range", "namespace-without-resource-quota", "pod-not-isolated"} {
		if !slices.Contains(local, id) {
			t.Errorf("%s is not namespace-local (local: %v)", id, local)
		}
	}
	for _, id := range []string{"rbac-dangling-subject", "rbac-escalation-path", "rbac-broad-group-binding"} {
		if !slices.Contains(global, id) {
			t.Errorf("%s is not evaluated over the whole cluster (global: %v)", id, global)
		}
	}
	t.Logf("namespace-local: %v; whole cluster: %v", local, global)
}

// The alerts and the dashboard use only metrics kubeharden serves.
func TestMonitoringUsesServedMetrics(t *testing.T) {
	data, err := os.ReadFile("../../deploy/scanner-monitoring.yaml")
	if err != nil {
		t.Fatal(err)
	}
	names := regexp.MustCompile(`kubeharden_[a-z_]+`).FindAllString(string(data), -1)
	if len(names) < 10 {
		t.Fatalf("only %d metric references in deploy/scanner-monitoring.yaml", len(names))
	}
	for _, n := range names {
		if metrics.Lookup(n) == nil {
			t.Errorf("deploy/scanner-monitoring.yaml uses %s, which is not in metrics.Table", n)
		}
	}
}
