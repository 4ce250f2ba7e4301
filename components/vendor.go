package components

import (
	"regexp"
	"strings"
)

// Vendor builds. Cloud providers and distributions ship the components of
// the recognition table from their own registries: EKS add-ons from
// per-region ECR registries, GKE and AKS from gke.gcr.io and
// mcr.microsoft.com, EKS Distro from public.ecr.aws, k3s and RKE2 from
// docker.io/rancher. Their tags carry the upstream version followed by a
// build suffix ("v1.11.1-eksbuild.4", "v1.30.5-gke.1014001",
// "v1.13.1-20", "v1.11.1-build20240305"), which ParseComponentVersion
// reads as the upstream version with a build.
//
// How such builds are judged (the decision, kept in one place):
//
//   - A verbatim mirror (Rancher's docker.io/rancher/mirrored-*) is the
//     upstream image under another name: it is recognised as upstream,
//     with no vendor.
//   - A vendor build (Vendor set) is recognised, its upstream version is
//     read from the tag, and it is judged against the upstream advisories:
//     a vendor that has not moved to a fixed upstream release usually has
//     not fixed the flaw either, and staying silent would hide real
//     exposure. But a vendor may backport a fix without changing the
//     upstream part of the tag, so the finding says so: the version's
//     source (Found.VersionFrom) names the vendor and the possibility of
//     backported fixes, and Found.Vendor (the inventory's "vendor") marks
//     the item, for readers and tools to weigh it.
//   - Upstream end-of-life dates are not applied to vendor builds (see
//     Assess): a vendor supports its build for as long as its own
//     platform version is supported (EKS extended support, the AKS and
//     GKE calendars), which the component database does not hold.
//
// Every repository below names where it was seen, so that the table can
// be checked; entries without a source are not added.

// vendorRepo is a repository a vendor ships a component from.
type vendorRepo struct {
	// Repository is the normalised repository (see ParseImage).
	Repository string
	// Component is the name of the component's Def.
	Component string
	// Vendor names the builder ("Amazon EKS"), or "" for a verbatim
	// mirror of the upstream image.
	Vendor string
	// Source is where the repository path was read.
	Source string
}

// Sources of the vendor table.
const (
	srcEKSAddOns  = "https://docs.aws.amazon.com/eks/latest/userguide/add-ons-images.html (registries); images as EKS clusters run them, e.g. 602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/coredns:v1.11.4-eksbuild.33, eks/kube-proxy:v1.31.14-eksbuild.9, eks/aws-ebs-csi-driver:v1.59.0"
	srcEKSDistro  = "EKS Distro release manifests (github.com/aws/eks-distro): public.ecr.aws/eks-distro/coredns/coredns:v1.7.0-eks-1-18-2, etcd-io/etcd:v3.4.14-eks-1-18-1"
	srcGKE        = "GKE node and add-on images: gke.gcr.io/kube-proxy-amd64:v1.21.9-gke.1002, gke.gcr.io/metrics-server:v0.5.2-gke.3, gke.gcr.io/cilium/cilium:v1.12.10-gke.25 (Dataplane V2 anetd), gke.gcr.io/calico/node:v3.23.3-gke.1"
	srcAKS        = "AKS node and add-on images (Azure/AgentBaker): mcr.microsoft.com/oss/kubernetes/kube-proxy:v1.29.4-hotfix.20240527, mcr.microsoft.com/oss/v2/kubernetes/coredns:v1.13.1-20, mcr.microsoft.com/oss/calico/node:v3.24.6, mcr.microsoft.com/oss/cilium/cilium:1.12.10-1, mcr.microsoft.com/containernetworking/cilium/operator-generic:v1.18.12-260901"
	srcK3s        = "k3s bundled manifests (coredns.yaml, metrics-server): docker.io/rancher/mirrored-coredns-coredns, docker.io/rancher/mirrored-metrics-server"
	srcRKE        = "RKE and RKE2 system images: rancher/mirrored-calico-node, rancher/mirrored-calico-kube-controllers, rancher/mirrored-cilium-cilium, rancher/mirrored-cilium-operator-generic, rancher/mirrored-coreos-flannel, rancher/mirrored-coreos-etcd"
	srcRKE2Harden = "RKE2 image lists: rancher/hardened-coredns:v1.11.1-build20240305, rancher/hardened-etcd:v3.5.13-k3s1-build20240531, rancher/hardened-calico:v3.21.4-build20220228, rancher/hardened-flannel:v0.17.0-build20220317, rancher/hardened-k8s-metrics-server:v0.5.0-build20211119"
)

// Vendor names, as findings print them.
const (
	VendorEKS       = "Amazon EKS"
	VendorEKSDistro = "EKS Distro"
	VendorGKE       = "GKE"
	VendorAKS       = "AKS"
	VendorRKE2      = "RKE2"
)

var vendorRepos = []vendorRepo{
	// EKS Distro (upstream rebuilt by AWS, tags "-eks-1-NN-N").
	{"public.ecr.aws/eks-distro/coredns/coredns", "coredns", VendorEKSDistro, srcEKSDistro},
	{"public.ecr.aws/eks-distro/etcd-io/etcd", "etcd", VendorEKSDistro, srcEKSDistro},
	{"public.ecr.aws/eks-distro/kubernetes/kube-proxy", "kube-proxy", VendorEKSDistro, srcEKSDistro},
	{"public.ecr.aws/eks-distro/kubernetes/kube-apiserver", "kube-apiserver", VendorEKSDistro, srcEKSDistro},
	{"public.ecr.aws/eks-distro/kubernetes/kube-controller-manager", "kube-controller-manager", VendorEKSDistro, srcEKSDistro},
	{"public.ecr.aws/eks-distro/kubernetes/kube-scheduler", "kube-scheduler", VendorEKSDistro, srcEKSDistro},

	// GKE (tags "-gke.N"); gcr.io/gke-release is the same registry path.
	{"gke.gcr.io/kube-proxy-amd64", "kube-proxy", VendorGKE, srcGKE},
	{"gke.gcr.io/kube-proxy-arm64", "kube-proxy", VendorGKE, srcGKE},
	{"gke.gcr.io/metrics-server", "metrics-server", VendorGKE, srcGKE},
	{"gcr.io/gke-release/metrics-server", "metrics-server", VendorGKE, srcGKE},
	{"gke.gcr.io/cilium/cilium", "cilium", VendorGKE, srcGKE},
	{"gcr.io/gke-release/cilium/cilium", "cilium", VendorGKE, srcGKE},
	{"gke.gcr.io/calico/node", "calico", VendorGKE, srcGKE},
	{"gcr.io/gke-release/calico/node", "calico", VendorGKE, srcGKE},
	// Google maintains the PD CSI driver itself: its gke.gcr.io copy is
	// the project's own build.
	{"gke.gcr.io/gcp-compute-persistent-disk-csi-driver", "gcp-pd-csi-driver", "", srcGKE},

	// AKS (tags "-hotfix.YYYYMMDD", "-N", or the upstream tag).
	{"mcr.microsoft.com/oss/kubernetes/kube-proxy", "kube-proxy", VendorAKS, srcAKS},
	{"mcr.microsoft.com/oss/v2/kubernetes/kube-proxy", "kube-proxy", VendorAKS, srcAKS},
	{"mcr.microsoft.com/oss/kubernetes/coredns", "coredns", VendorAKS, srcAKS},
	{"mcr.microsoft.com/oss/v2/kubernetes/coredns", "coredns", VendorAKS, srcAKS},
	{"mcr.microsoft.com/oss/calico/node", "calico", VendorAKS, srcAKS},
	{"mcr.microsoft.com/oss/cilium/cilium", "cilium", VendorAKS, srcAKS},
	{"mcr.microsoft.com/containernetworking/cilium/cilium", "cilium", VendorAKS, srcAKS},
	{"mcr.microsoft.com/containernetworking/cilium/operator-generic", "cilium", VendorAKS, srcAKS},

	// k3s, RKE and RKE2: verbatim mirrors of the upstream images.
	{"docker.io/rancher/mirrored-coredns-coredns", "coredns", "", srcK3s},
	{"docker.io/rancher/mirrored-metrics-server", "metrics-server", "", srcK3s},
	{"docker.io/rancher/mirrored-calico-node", "calico", "", srcRKE},
	{"docker.io/rancher/mirrored-calico-kube-controllers", "calico", "", srcRKE},
	{"docker.io/rancher/mirrored-cilium-cilium", "cilium", "", srcRKE},
	{"docker.io/rancher/mirrored-cilium-operator-generic", "cilium", "", srcRKE},
	{"docker.io/rancher/mirrored-coreos-flannel", "flannel", "", srcRKE},
	{"docker.io/rancher/mirrored-coreos-etcd", "etcd", "", srcRKE},
	// RKE2: Rancher's own ("hardened") builds, tags "-buildYYYYMMDD".
	// rancher/hardened-cluster-autoscaler is the cluster-proportional
	// autoscaler (1.8.x), not Cluster Autoscaler: it is left out.
	{"docker.io/rancher/hardened-coredns", "coredns", VendorRKE2, srcRKE2Harden},
	{"docker.io/rancher/hardened-etcd", "etcd", VendorRKE2, srcRKE2Harden},
	{"docker.io/rancher/hardened-calico", "calico", VendorRKE2, srcRKE2Harden},
	{"docker.io/rancher/hardened-flannel", "flannel", VendorRKE2, srcRKE2Harden},
	{"docker.io/rancher/hardened-k8s-metrics-server", "metrics-server", VendorRKE2, srcRKE2Harden},
}

// ecrEKSRE matches the repositories of the EKS add-on registries: one ECR
// registry per region, under several AWS accounts (602401143452 in most
// regions, others in opt-in, China and GovCloud regions), so the account
// and region are matched by form, FIPS endpoints included. A private ECR
// repository named eks/coredns is taken for a copy of the add-on.
var ecrEKSRE = regexp.MustCompile(`^[0-9]{12}\.dkr\.ecr(-fips)?\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/eks/([a-z0-9-]+)$`)

// eksAddOns maps the repository names under eks/ to components; AWS
// maintains the EBS CSI driver itself, so its add-on image is the
// project's own build.
var eksAddOns = map[string]vendorRepo{
	"coredns":            {Component: "coredns", Vendor: VendorEKS, Source: srcEKSAddOns},
	"kube-proxy":         {Component: "kube-proxy", Vendor: VendorEKS, Source: srcEKSAddOns},
	"aws-ebs-csi-driver": {Component: "aws-ebs-csi-driver", Source: srcEKSAddOns},
}

var byVendorRepository = func() map[string]*vendorRepo {
	m := map[string]*vendorRepo{}
	for i := range vendorRepos {
		m[vendorRepos[i].Repository] = &vendorRepos[i]
	}
	return m
}()

// lookupRepository returns the component of a normalised repository and
// the vendor that built it ("" for an upstream image or a mirror).
func lookupRepository(repository string) (*Def, string) {
	if d := byRepository[repository]; d != nil {
		return d, ""
	}
	if v := byVendorRepository[repository]; v != nil {
		return defByName[v.Component], v.Vendor
	}
	if m := ecrEKSRE.FindStringSubmatch(repository); m != nil {
		if v, ok := eksAddOns[m[3]]; ok {
			return defByName[v.Component], v.Vendor
		}
	}
	return nil, ""
}

var defByName = func() map[string]*Def {
	m := map[string]*Def{}
	for i := range defs {
		m[defs[i].Name] = &defs[i]
	}
	return m
}()

// vendorVersionFrom says where a vendor build's version was read, and that
// the vendor may have fixed more than the upstream version says.
func vendorVersionFrom(vendor string) string {
	article := "a"
	if strings.ContainsRune("AEIOR", rune(vendor[0])) { // an Amazon, an AKS, an EKS, an RKE2
		article = "an"
	}
	return "image tag of " + article + " " + vendor + " build that may carry backported fixes"
}

// vendorTag reads the version of a vendor tag that ParseComponentVersion
// rejects: AKS has tagged builds with a fourth number ("v1.24.9.2"), read
// as the upstream major.minor.patch.
var fourPartRE = regexp.MustCompile(`^([vV]?[0-9]+\.[0-9]+\.[0-9]+)\.[0-9]+$`)

func vendorTag(tag string) string {
	if m := fourPartRE.FindStringSubmatch(tag); m != nil {
		return m[1] + "+" + strings.TrimPrefix(tag, m[1]+".")
	}
	return tag
}
