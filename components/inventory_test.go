package components

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/version"

	"github.com/kubeharden/kubeharden/inventory"
)

func sampleInventory() *Inventory {
	inv := New(nil)
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}}
	n.Status.NodeInfo = corev1.NodeSystemInfo{ContainerRuntimeVersion: "containerd://1.7.12", KubeletVersion: "v1.30.2", OSImage: "Ubuntu 22.04.4 LTS", KernelVersion: "5.15.0-105-generic"}
	inv.Add(&inventory.Object{Ref: inventory.Ref{APIVersion: "v1", Kind: "Node", Name: "n1"}, Origin: inventory.Origin{Source: "cluster", Context: "prod"}, Typed: n})
	inv.Add(&inventory.Object{Ref: inventory.Ref{APIVersion: inventory.APIServerGroup + "/v1", Kind: inventory.APIServerKind, Name: "prod"}, Origin: inventory.Origin{Source: "cluster", Context: "prod"},
		Typed: &inventory.APIServer{ObjectMeta: metav1.ObjectMeta{Name: "prod"}, Version: version.Info{GitVersion: "v1.30.2"}}})
	for _, name := range []string{"a", "b"} {
		o := deployment(nil, "registry.k8s.io/ingress-nginx/controller:v1.11.3")
		o.Ref.Name = name
		o.Origin = inventory.Origin{Source: "cluster", Context: "prod"}
		inv.Add(o)
	}
	inv.Add(deployment(nil, "registry.k8s.io/ingress-nginx/controller@sha256:1"))
	inv.Sort()
	return inv
}

func TestInventory(t *testing.T) {
	inv := sampleInventory()
	var got []string
	for _, it := range inv.Items {
		got = append(got, it.Kind+":"+it.Name+"@"+it.Version)
	}
	want := "node:kernel@5.15.0-105-generic node:kubelet@1.30.2 node:os@Ubuntu 22.04.4 LTS runtime:containerd@1.7.12 control-plane:kube-apiserver@1.30.2 add-on:ingress-nginx@ add-on:ingress-nginx@1.11.3 add-on:ingress-nginx@1.11.3"
	if strings.Join(got, " ") != want {
		t.Errorf("items\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	for _, it := range inv.Items {
		switch {
		case it.Name == "ingress-nginx" && it.Version == "1.11.3":
			if len(it.CVEs) == 0 || it.CVEs[0].ID != "CVE-2025-1974" || !it.EOL || !it.Retired {
				t.Errorf("ingress-nginx 1.11.3: %+v", it.Assessment)
			}
		case it.Name == "ingress-nginx":
			if it.Known() || len(it.CVEs) != 0 || !it.Covered {
				t.Errorf("digest-only ingress-nginx: %+v", it)
			}
		case it.Name == "os":
			if it.Covered {
				t.Error("the operating system is not covered by the databases")
			}
		case it.Name == "kubelet":
			if len(it.CVEs) == 0 || it.UpgradeTo != "1.30.10" {
				t.Errorf("kubelet 1.30.2: %+v", it.Assessment)
			}
		}
	}
	b, err := json.Marshal(inv)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{`"cveDatabase":"`, `"components":[`, `"cves":[{"id":"CVE-2025-1974","severity":"critical","fixedIn":["1.11.5","1.12.1"]}`, `"object":{"apiVersion":"apps/v1","kind":"Deployment","namespace":"n","name":"a"}`, `"covered":true`} {
		if !strings.Contains(string(b), w) {
			t.Errorf("JSON lacks %s", w)
		}
	}
}

func TestCycloneDX(t *testing.T) {
	inv := sampleInventory()
	at := time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)
	bom := inv.CycloneDX(BOMOptions{Name: "prod", ToolVersion: "1.2.3", Time: at})
	if bom.BOMFormat != "CycloneDX" || bom.SpecVersion != "1.6" || bom.Metadata.Timestamp != "2026-12-06T03:00:00Z" || bom.Metadata.Component.Version != "1.30.2" {
		t.Errorf("header %+v", bom.Metadata)
	}
	if !regexp.MustCompile(`^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(bom.SerialNumber) {
		t.Errorf("serial %q", bom.SerialNumber)
	}
	if again := sampleInventory().CycloneDX(BOMOptions{Name: "prod", Time: at.Add(time.Hour)}); again.SerialNumber != bom.SerialNumber {
		t.Error("the serial number depends on more than the content")
	}
	refs := map[string]BOMComponent{}
	for _, c := range bom.Components {
		if refs[c.BOMRef].BOMRef != "" {
			t.Errorf("duplicate bom-ref %s", c.BOMRef)
		}
		refs[c.BOMRef] = c
	}
	// The two Deployments running ingress-nginx 1.11.3 are one component
	// with two locations; the digest-only one is another, without version.
	var nginx, unknown *BOMComponent
	for i, c := range bom.Components {
		if c.Name == "ingress-nginx" && c.Version == "1.11.3" {
			nginx = &bom.Components[i]
		}
		if c.Name == "ingress-nginx" && c.Version == "" {
			unknown = &bom.Components[i]
		}
	}
	if nginx == nil || unknown == nil || nginx.Type != "container" {
		t.Fatalf("components %+v", bom.Components)
	}
	locs := 0
	for _, p := range nginx.Properties {
		if p.Name == "kubeharden:location" {
			locs++
		}
	}
	if locs != 2 {
		t.Errorf("ingress-nginx 1.11.3 has %d locations, want 2", locs)
	}
	seen := false
	for _, v := range bom.Vulnerabilities {
		for _, a := range v.Affects {
			if _, ok := refs[a.Ref]; !ok {
				t.Errorf("%s affects unknown ref %s", v.ID, a.Ref)
			}
		}
		if v.ID == "CVE-2025-1974" {
			seen = true
			if len(v.Affects) != 1 || v.Affects[0].Ref != nginx.BOMRef || v.Ratings[0].Severity != "critical" {
				t.Errorf("CVE-2025-1974: %+v", v)
			}
		}
	}
	if !seen {
		t.Error("CVE-2025-1974 not in the BOM")
	}
}
