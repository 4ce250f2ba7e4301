package components

import (
	"regexp"
	"strings"
	"testing"

	"github.com/kubeharden/kubeharden/vulndb"
)

// Image references in the forms vendors ship them, with the component,
// upstream version and vendor each must be recognised as.
func TestVendorImages(t *testing.T) {
	tests := []struct {
		image, name, version, vendor string
	}{
		// EKS add-ons: per-region ECR registries, tags "-eksbuild.N".
		{"602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/coredns:v1.11.1-eksbuild.4", "coredns", "1.11.1", VendorEKS},
		{"602401143452.dkr.ecr.eu-west-1.amazonaws.com/eks/kube-proxy:v1.29.0-minimal-eksbuild.1", "kube-proxy", "1.29.0", VendorEKS},
		{"602401143452.dkr.ecr.us-east-1.amazonaws.com/eks/kube-proxy:v1.33.0-eksbuild.2", "kube-proxy", "1.33.0", VendorEKS},
		{"800184023465.dkr.ecr.ap-east-1.amazonaws.com/eks/coredns:v1.10.1-eksbuild.6", "coredns", "1.10.1", VendorEKS},
		{"961992271922.dkr.ecr.cn-northwest-1.amazonaws.com.cn/eks/coredns:v1.11.3-eksbuild.1", "coredns", "1.11.3", VendorEKS},
		{"602401143452.dkr.ecr-fips.us-east-1.amazonaws.com/eks/coredns:v1.11.4-eksbuild.2", "coredns", "1.11.4", VendorEKS},
		// AWS's own driver: the add-on image is the project's build.
		{"602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/aws-ebs-csi-driver:v1.59.0", "aws-ebs-csi-driver", "1.59.0", ""},
		// EKS Distro.
		{"public.ecr.aws/eks-distro/coredns/coredns:v1.8.3-eks-1-20-22", "coredns", "1.8.3", VendorEKSDistro},
		{"public.ecr.aws/eks-distro/etcd-io/etcd:v3.5.16-eks-1-33-10", "etcd", "3.5.16", VendorEKSDistro},
		{"public.ecr.aws/eks-distro/kubernetes/kube-proxy:v1.33.1-eks-1-33-10", "kube-proxy", "1.33.1", VendorEKSDistro},
		// GKE: gke.gcr.io and gcr.io/gke-release, tags "-gke.N".
		{"gke.gcr.io/kube-proxy-amd64:v1.30.5-gke.1014001", "kube-proxy", "1.30.5", VendorGKE},
		{"gke.gcr.io/kube-proxy-arm64:v1.30.5-gke.1014001", "kube-proxy", "1.30.5", VendorGKE},
		{"gke.gcr.io/metrics-server:v0.5.2-gke.3", "metrics-server", "0.5.2", VendorGKE},
		{"gke.gcr.io/cilium/cilium:v1.12.10-gke.25", "cilium", "1.12.10", VendorGKE},
		{"gke.gcr.io/cilium/cilium:v1.11.1-gke3.3", "cilium", "1.11.1", VendorGKE},
		{"gcr.io/gke-release/cilium/cilium:v1.15.10-gke.9", "cilium", "1.15.10", VendorGKE},
		{"gke.gcr.io/calico/node:v3.26.3-gke.13@sha256:c682a6c56c3407d59ecef7bab624b058c9a9d2e2c4feb3dd8c34e667aea47bd0", "calico", "3.26.3", VendorGKE},
		{"gke.gcr.io/gcp-compute-persistent-disk-csi-driver:v1.13.2-gke.0", "gcp-pd-csi-driver", "1.13.2", ""},
		// AKS: mcr.microsoft.com/oss (and /oss/v2), tags "-hotfix.DATE",
		// "-N", or four numbers.
		{"mcr.microsoft.com/oss/kubernetes/kube-proxy:v1.29.4-hotfix.20240527", "kube-proxy", "1.29.4", VendorAKS},
		{"mcr.microsoft.com/oss/kubernetes/kube-proxy:v1.24.9.2", "kube-proxy", "1.24.9", VendorAKS},
		{"mcr.microsoft.com/oss/v2/kubernetes/kube-proxy:v1.31.2-1", "kube-proxy", "1.31.2", VendorAKS},
		{"mcr.microsoft.com/oss/v2/kubernetes/coredns:v1.13.1-20", "coredns", "1.13.1", VendorAKS},
		{"mcr.microsoft.com/oss/kubernetes/coredns:v1.9.4-hotfix.20240704", "coredns", "1.9.4", VendorAKS},
		{"mcr.microsoft.com/oss/calico/node:v3.24.6", "calico", "3.24.6", VendorAKS},
		{"mcr.microsoft.com/oss/cilium/cilium:1.12.10-1", "cilium", "1.12.10", VendorAKS},
		{"mcr.microsoft.com/containernetworking/cilium/operator-generic:v1.18.12-260901", "cilium", "1.18.12", VendorAKS},
		// k3s, RKE: Rancher's verbatim mirrors are the upstream images.
		{"rancher/mirrored-coredns-coredns:1.10.1", "coredns", "1.10.1", ""},
		{"docker.io/rancher/mirrored-metrics-server:v0.7.0", "metrics-server", "0.7.0", ""},
		{"rancher/mirrored-cilium-cilium:v1.18.1", "cilium", "1.18.1", ""},
		{"rancher/mirrored-cilium-operator-generic:v1.19.3", "cilium", "1.19.3", ""},
		{"rancher/mirrored-calico-node:v3.27.2", "calico", "3.27.2", ""},
		{"rancher/mirrored-coreos-flannel:v0.15.1", "flannel", "0.15.1", ""},
		// RKE2's own builds, tags "-buildDATE".
		{"rancher/hardened-coredns:v1.11.1-build20240305", "coredns", "1.11.1", VendorRKE2},
		{"docker.io/rancher/hardened-etcd:v3.5.13-k3s1-build20240531", "etcd", "3.5.13", VendorRKE2},
		{"rancher/hardened-calico:v3.21.4-build20220228", "calico", "3.21.4", VendorRKE2},
		{"rancher/hardened-flannel:v0.17.0-build20220317", "flannel", "0.17.0", VendorRKE2},
		{"rancher/hardened-k8s-metrics-server:v0.5.0-build20211119", "metrics-server", "0.5.0", VendorRKE2},
		// Upstream repositories stay upstream.
		{"quay.io/cilium/cilium:v1.15.1", "cilium", "1.15.1", ""},
		{"registry.k8s.io/coredns/coredns:v1.11.3", "coredns", "1.11.3", ""},
	}
	for _, tt := range tests {
		fs := InObject(deployment(nil, tt.image))
		if len(fs) != 1 {
			t.Errorf("%s: found %d components, want 1", tt.image, len(fs))
			continue
		}
		f := fs[0]
		if _, ok := f.Parsed(); !ok || f.Name != tt.name || f.Version != tt.version || f.Vendor != tt.vendor {
			t.Errorf("%s: got %s=%s vendor %q (%s), want %s=%s vendor %q", tt.image, f.Name, f.Version, f.Vendor, f.VersionFrom, tt.name, tt.version, tt.vendor)
			continue
		}
		img, _ := ParseImage(tt.image)
		if f.Raw != img.Tag {
			t.Errorf("%s: raw %q, want the tag %q", tt.image, f.Raw, img.Tag)
		}
		switch {
		case tt.vendor == "" && f.VersionFrom != FromImageTag:
			t.Errorf("%s: an upstream image's version is from %q", tt.image, f.VersionFrom)
		case tt.vendor != "" && !strings.Contains(f.VersionFrom, tt.vendor+" build") || tt.vendor != "" && !strings.Contains(f.VersionFrom, "backported fixes"):
			t.Errorf("%s: a vendor build's version source %q must name the vendor and the possible backports", tt.image, f.VersionFrom)
		}
		if d, v := LookupVendor(img.Repository); d == nil || d.Name != tt.name || v != tt.vendor {
			t.Errorf("%s: LookupVendor = %v, %q", tt.image, d, v)
		}
	}
}

// Look-alikes are not recognised.
func TestVendorImagesNotRecognised(t *testing.T) {
	for _, ref := range []string{
		"602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni:v1.18.3-eksbuild.1", // VPC CNI: not in the table
		"602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.5",
		"602401143452.dkr.ecr.us-west-2.amazonaws.com/coredns:v1.11.1", // not under eks/
		"123.dkr.ecr.us-west-2.amazonaws.com/eks/coredns:v1.11.1",      // not an account ID
		"evil.example.com/eks/coredns:v1.11.1",
		"602401143452.dkr.ecr.us-west-2.amazonaws.com.evil.example/eks/coredns:v1.11.1",
		"rancher/hardened-cluster-autoscaler:v1.8.10-build20240124", // cluster-proportional-autoscaler
		"gke.gcr.io/k8s-dns-kube-dns:1.22.22-gke.0",
	} {
		if fs := InObject(deployment(nil, ref)); len(fs) != 0 {
			t.Errorf("%s: recognised as %s", ref, fs[0].Name)
		}
	}
}

// Vendor builds are judged by their upstream version for CVEs, but their
// release line's upstream end of life is not reported: the vendor's
// support calendar governs it.
func TestVendorAssessment(t *testing.T) {
	db := vulndb.Embedded()
	inv := New(db)
	inv.Add(deployment(nil, "602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/coredns:v1.11.1-eksbuild.4"))
	inv.Add(deployment(nil, "registry.k8s.io/coredns/coredns:v1.11.1"))
	inv.Add(deployment(nil, "gke.gcr.io/cilium/cilium:v1.16.5-gke.3"))
	inv.Add(deployment(nil, "quay.io/cilium/cilium:v1.16.5"))
	if len(inv.Items) != 4 {
		t.Fatalf("items: %+v", inv.Items)
	}
	eks, up, gke, cil := inv.Items[0], inv.Items[1], inv.Items[2], inv.Items[3]
	if eks.Vendor != VendorEKS || up.Vendor != "" {
		t.Errorf("vendor: %q, %q", eks.Vendor, up.Vendor)
	}
	if len(eks.CVEs) == 0 || len(eks.CVEs) != len(up.CVEs) || eks.UpgradeTo != up.UpgradeTo {
		t.Errorf("an EKS build is judged by its upstream version: %+v vs %+v", eks.Assessment, up.Assessment)
	}
	if db.Date().Format("2006-01-02") >= "2026-02-05" {
		if !cil.EOL || cil.EndOfLife == "" {
			t.Errorf("upstream Cilium 1.16 is past end of life as of %s: %+v", db.DateString(), cil.Assessment)
		}
		if gke.EOL || gke.EndOfLife != "" || !gke.Covered {
			t.Errorf("a GKE build must not take the upstream end of life: %+v", gke.Assessment)
		}
	}
	if len(gke.CVEs) == 0 {
		t.Errorf("a GKE build of Cilium 1.16.5 is judged by the upstream advisories: %+v", gke.Assessment)
	}
}

// Every vendor entry names a component of the table and where its path
// was seen, and no repository is both upstream and vendor.
func TestVendorTable(t *testing.T) {
	norm := regexp.MustCompile(`^[a-z0-9.-]+(:[0-9]+)?/[a-z0-9._/-]+$`)
	for _, v := range vendorRepos {
		if defByName[v.Component] == nil {
			t.Errorf("%s: component %q is not in the table", v.Repository, v.Component)
		}
		if v.Source == "" {
			t.Errorf("%s: no source", v.Repository)
		}
		if byRepository[v.Repository] != nil {
			t.Errorf("%s: listed as upstream and as a vendor repository", v.Repository)
		}
		if img, err := ParseImage(v.Repository); err != nil || img.Repository != v.Repository || !norm.MatchString(v.Repository) {
			t.Errorf("%s: not a normalised repository (%v)", v.Repository, err)
		}
	}
	for name, v := range eksAddOns {
		if defByName[v.Component] == nil || v.Source == "" {
			t.Errorf("eks/%s: component %q or source missing", name, v.Component)
		}
	}
}
