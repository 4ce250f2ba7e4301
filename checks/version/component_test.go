package version

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/vulndb"
)

func workload(image string) *inventory.Object {
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "ingress-nginx-controller", Namespace: "ingress-nginx"}}
	d.Spec.Template.Spec.Containers = []corev1.Container{{Name: "controller", Image: image}}
	return &inventory.Object{Ref: inventory.Ref{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "ingress-nginx", Name: d.Name}, Typed: d}
}

func runtimeNode(rt string) *inventory.Object {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n"}}
	n.Status.NodeInfo.ContainerRuntimeVersion = rt
	return &inventory.Object{Ref: inventory.Ref{APIVersion: "v1", Kind: "Node", Name: "n"}, Typed: n}
}

func TestComponentVulnerableMessage(t *testing.T) {
	res := ComponentVersionVulnerable.Object(&check.Env{}, workload("registry.k8s.io/ingress-nginx/controller:v1.11.3"))
	if len(res) != 1 {
		t.Fatalf("want one finding, got %v", res)
	}
	r := res[0]
	if r.Path != "spec.template.spec.containers[0].image" {
		t.Errorf("path %q", r.Path)
	}
	for _, w := range []string{
		`container "controller" runs ingress-nginx controller 1.11.3 (image tag "v1.11.3"), affected by `,
		"CVE-2025-1974 (critical, fixed in 1.11.5, 1.12.1)", " and 6 more.",
		"Upgrade to ingress-nginx controller 1.13.9 or later, the lowest release that fixes all of them (no 1.11 release does",
		"(CVE database of ",
	} {
		if !strings.Contains(r.Message, w) {
			t.Errorf("message %q\n  lacks %q", r.Message, w)
		}
	}
	// The structured list is complete where the message abbreviates.
	d := r.Details
	if d == nil || d.Component == nil || d.Component.Name != "ingress-nginx" || d.Component.Version != "1.11.3" || d.Component.UpgradeTo != "1.13.9" {
		t.Fatalf("details %+v", d)
	}
	want := map[string]string{"CVE-2025-1974": "critical", "CVE-2025-1097": "high", "CVE-2025-1098": "high", "CVE-2025-24514": "high",
		"CVE-2025-24513": "medium", "CVE-2025-15566": "high", "CVE-2026-24512": "high", "CVE-2026-24513": "low", "CVE-2026-1580": "high", "CVE-2026-24514": "medium", "CVE-2026-3288": "high", "CVE-2026-4342": "high"}
	got := map[string]string{}
	for _, c := range d.CVEs {
		got[c.ID] = c.Severity
		if c.ID == "CVE-2026-24512" && strings.Join(c.FixedIn, ",") != "1.13.7,1.14.3" {
			t.Errorf("CVE-2026-24512 fixedIn %v", c.FixedIn)
		}
	}
	for id, sev := range want {
		if got[id] != sev {
			t.Errorf("details: %s = %q, want %q (all %v)", id, got[id], sev, got)
		}
	}
	if len(d.CVEs) <= maxListed {
		t.Errorf("want more CVEs in the details (%d) than the message lists (%d)", len(d.CVEs), maxListed)
	}
	if d.CVEs[0].ID != "CVE-2025-1974" {
		t.Errorf("most severe first: %v", d.CVEs[0])
	}
}

func TestRuntimeMessage(t *testing.T) {
	res := ContainerRuntimeVulnerable.Object(&check.Env{}, runtimeNode("containerd://1.7.12"))
	if len(res) != 1 {
		t.Fatalf("want one finding, got %v", res)
	}
	for _, w := range []string{"Container runtime containerd 1.7.12 is affected by 3 known CVEs: ", "CVE-2024-40635 (medium, fixed in 1.6.38, 1.7.27, 2.0.4)",
		"Upgrade to containerd 1.7.29 or later, the lowest release that fixes all of them.", "check it on the node against CVE-2024-21626 (fixed in 1.1.12)"} {
		if !strings.Contains(res[0].Message, w) {
			t.Errorf("message %q\n  lacks %q", res[0].Message, w)
		}
	}
	if res[0].Path != "status.nodeInfo.containerRuntimeVersion" || res[0].Details.Component.UpgradeTo != "1.7.29" {
		t.Errorf("result %+v", res[0])
	}
}

// A component database of the environment is what the checks judge by.
func TestComponentChecksReadTheirEnvironment(t *testing.T) {
	cs, err := vulndb.ParseComponents([]byte(`{"schemaVersion": 1, "generated": "2026-01-01", "sources": [],
	  "components": [{"name": "containerd", "title": "containerd", "kind": "runtime", "project": "p",
	    "advisories": [{"id": "CVE-2099-0003", "title": "t", "severity": "critical", "url": "u", "source": "s", "verified": true, "affected": [{"fixed": "9.0.0"}]}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	env := &check.Env{VulnDB: vulndb.Embedded().WithComponents(cs)}
	res := ContainerRuntimeVulnerable.Object(env, runtimeNode("containerd://2.2.1"))
	if len(res) != 1 || !strings.Contains(res[0].Message, "CVE-2099-0003") || strings.Contains(res[0].Message, "runc") {
		t.Errorf("with the test database: %v", res)
	}
	if res := ContainerRuntimeVulnerable.Object(&check.Env{}, runtimeNode("containerd://2.2.1")); len(res) != 0 {
		t.Errorf("with the embedded database: %v", res)
	}
}

func TestKubernetesDetails(t *testing.T) {
	res := KubernetesVersionVulnerable.Object(&check.Env{}, node("v1.30.2"))
	if len(res) != 1 || res[0].Details == nil {
		t.Fatalf("want one finding with details, got %v", res)
	}
	d := res[0].Details
	if d.Component.Name != vulndb.Kubelet || d.Component.Version != "1.30.2" || d.Component.UpgradeTo != "1.30.10" {
		t.Errorf("component %+v", d.Component)
	}
	found := false
	for _, c := range d.CVEs {
		if c.ID == "CVE-2025-0426" {
			found = true
			if strings.Join(c.FixedIn, ",") != "1.29.14,1.30.10,1.31.6,1.32.2" {
				t.Errorf("CVE-2025-0426 fixedIn %v", c.FixedIn)
			}
		}
	}
	if !found {
		t.Errorf("CVE-2025-0426 not in %v", d.CVEs)
	}
	res = KubernetesVersionEOL.Object(&check.Env{}, apiServer("v1.27.8-gke.1067004"))
	if len(res) != 1 || res[0].Details == nil || res[0].Details.EndOfLife != "2024-07-16" {
		t.Errorf("eol details: %+v", res)
	}
}

func TestComponentEOLMessages(t *testing.T) {
	res := ComponentVersionEOL.Object(&check.Env{}, workload("registry.k8s.io/ingress-nginx/controller:v1.14.3"))
	if len(res) != 1 || !strings.Contains(res[0].Message, "project was retired on 2026-03-31") || res[0].Details.EndOfLife != "2026-03-31" {
		t.Errorf("ingress-nginx: %v", res)
	}
	res = ComponentVersionEOL.Object(&check.Env{}, runtimeNode("containerd://1.7.27"))
	if len(res) != 1 || !strings.Contains(res[0].Message, "the containerd 1.7 release line reached end of life on 2026-03-10") {
		t.Errorf("containerd 1.7: %v", res)
	}
}
