package version

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/version"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
)

func apiServer(v string) *inventory.Object {
	return &inventory.Object{
		Ref:   inventory.Ref{APIVersion: "kubeharden.io/v1", Kind: inventory.APIServerKind, Name: "x"},
		Typed: &inventory.APIServer{ObjectMeta: metav1.ObjectMeta{Name: "x"}, Version: version.Info{GitVersion: v}},
	}
}

func node(v string) *inventory.Object {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n"}}
	n.Status.NodeInfo.KubeletVersion = v
	return &inventory.Object{Ref: inventory.Ref{APIVersion: "v1", Kind: "Node", Name: "n"}, Typed: n}
}

func TestVulnerableMessages(t *testing.T) {
	c := KubernetesVersionVulnerable
	tests := []struct {
		obj        *inventory.Object
		path       string
		want, deny []string
	}{
		{apiServer("v1.12.2"), "version.gitVersion", []string{
			"API server v1.12.2 is affected by ", "CVE-2018-1002105 (critical), ", " and ", " more.",
			"No 1.12 release fixes ", "upgrade to a supported minor release.", "Within 1.12, 1.12.6 fixes the rest.",
			"(CVE database of ",
		}, []string{"backported"}},
		{node("v1.30.2"), "status.nodeInfo.kubeletVersion", []string{
			"kubelet v1.30.2 is affected by 4 known Kubernetes CVEs: CVE-2024-10220 (high)",
			"Upgrade to 1.30.10 or later (the fix on 1.30).",
		}, []string{"No 1.30 release"}},
		{node("v1.24.17"), "status.nodeInfo.kubeletVersion", []string{"No 1.24 release fixes them: upgrade to a supported minor release."}, []string{"Within"}},
		{apiServer("v1.28.3-eks-4f4795d"), "version.gitVersion", []string{"EKS builds may carry backported fixes", "check EKS's security bulletins"}, nil},
		{node("v1.28.5+rke2r1"), "status.nodeInfo.kubeletVersion", []string{"RKE2 builds may carry backported fixes"}, nil},
		{node("v1.27.6+f67aeb3"), "status.nodeInfo.kubeletVersion", []string{`Vendor build (suffix "f67aeb3")`}, nil},
	}
	for _, tt := range tests {
		res := c.Object(&check.Env{}, tt.obj)
		if len(res) != 1 {
			t.Fatalf("%s: want one finding, got %d", tt.obj.Ref, len(res))
		}
		if res[0].Path != tt.path {
			t.Errorf("path = %q, want %q", res[0].Path, tt.path)
		}
		for _, w := range tt.want {
			if !strings.Contains(res[0].Message, w) {
				t.Errorf("message %q\n  lacks %q", res[0].Message, w)
			}
		}
		for _, d := range tt.deny {
			if strings.Contains(res[0].Message, d) {
				t.Errorf("message %q\n  must not contain %q", res[0].Message, d)
			}
		}
	}
}

func TestEOLMessages(t *testing.T) {
	c := KubernetesVersionEOL
	res := c.Object(&check.Env{}, apiServer("v1.27.8-gke.1067004"))
	if len(res) != 1 {
		t.Fatalf("want one finding, got %v", res)
	}
	for _, w := range []string{"Kubernetes 1.27 (API server v1.27.8-gke.1067004) reached end of life on 2024-07-16", "final patch 1.27.16", "GKE may support it longer", "(as of the CVE database of "} {
		if !strings.Contains(res[0].Message, w) {
			t.Errorf("message %q lacks %q", res[0].Message, w)
		}
	}
	for _, v := range []string{"", "not-a-version", "v1.37.0", "v1.99.1"} {
		if res := c.Object(&check.Env{}, node(v)); len(res) != 0 {
			t.Errorf("kubelet %q: want no finding, got %v", v, res)
		}
	}
	// An APIServer kind in another group is not ours.
	o := apiServer("v1.12.2")
	o.APIVersion = "example.com/v1"
	if res := c.Object(&check.Env{}, o); len(res) != 0 {
		t.Errorf("foreign APIServer kind: want no finding, got %v", res)
	}
}
