// Package components recognises, from Kubernetes objects alone, the
// software a cluster runs and at which version: the kubelet, kube-proxy
// and container runtime of each node (status.nodeInfo), the control plane
// and etcd of static pods, and well-known add-ons (the ingress-nginx
// controller, CoreDNS, CNI plugins, metrics-server, cert-manager, Argo CD,
// CSI drivers...) by the repository of their container image, upstream or
// a vendor's build of it (EKS, GKE, AKS, EKS Distro, k3s and RKE2: see
// vendor.go for how vendor builds are judged).
//
// The version of an image-recognised component is its tag. An image
// pinned only by digest has no tag: its version is read from the pod's
// app.kubernetes.io/version label when the label can only be about that
// image, and is otherwise reported as unknown, never guessed.
//
// The package is pure (objects in, findings out) so that the version
// checks (checks/version) and the inventory command share one table of
// what is recognised and how.
package components

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/vulndb"
)

// Where a version was read from (Found.VersionFrom).
const (
	FromImageTag     = "image tag"
	FromVersionLabel = "app.kubernetes.io/version label"
	FromNodeInfo     = "status.nodeInfo"
)

// Kinds of components, as in vulndb (and "node" for kubelet, kube-proxy,
// the operating system and the kernel).
const (
	KindRuntime      = vulndb.KindRuntime
	KindControlPlane = vulndb.KindControlPlane
	KindAddOn        = vulndb.KindAddOn
	KindNode         = "node"
)

// VersionLabel is the recommended label naming an application's version.
const VersionLabel = "app.kubernetes.io/version"

// NameLabel is the recommended label naming an application.
const NameLabel = "app.kubernetes.io/name"

// Def describes how a component is recognised from an image.
type Def struct {
	// Name is the component's name in the vulnerability databases:
	// vulndb's component database, or a Kubernetes core component
	// (vulndb.KubeProxy...) when Core is set.
	Name  string
	Title string
	Kind  string
	// Core marks a Kubernetes core component, judged against the
	// Kubernetes CVE database rather than the component database.
	Core bool
	// Repositories are the image repositories, registry included and
	// normalised (see ParseImage).
	Repositories []string
	// LabelNames are the app.kubernetes.io/name values of its workloads.
	LabelNames []string
}

// defs is the recognition table: the one place that says which image is
// which component.
var defs = []Def{
	{Name: vulndb.KubeAPIServer, Title: "kube-apiserver", Kind: KindControlPlane, Core: true, Repositories: []string{"registry.k8s.io/kube-apiserver"}},
	{Name: vulndb.KubeControllerManager, Title: "kube-controller-manager", Kind: KindControlPlane, Core: true, Repositories: []string{"registry.k8s.io/kube-controller-manager"}},
	{Name: vulndb.KubeScheduler, Title: "kube-scheduler", Kind: KindControlPlane, Core: true, Repositories: []string{"registry.k8s.io/kube-scheduler"}},
	{Name: vulndb.KubeProxy, Title: "kube-proxy", Kind: KindNode, Core: true, Repositories: []string{"registry.k8s.io/kube-proxy"}},
	{Name: "etcd", Title: "etcd", Kind: KindControlPlane, Repositories: []string{"registry.k8s.io/etcd", "quay.io/coreos/etcd", "gcr.io/etcd-development/etcd"}, LabelNames: []string{"etcd"}},
	{Name: "ingress-nginx", Title: "ingress-nginx controller", Kind: KindAddOn, Repositories: []string{"registry.k8s.io/ingress-nginx/controller", "registry.k8s.io/ingress-nginx/controller-chroot"}, LabelNames: []string{"ingress-nginx"}},
	{Name: "coredns", Title: "CoreDNS", Kind: KindAddOn, Repositories: []string{"registry.k8s.io/coredns/coredns", "registry.k8s.io/coredns", "docker.io/coredns/coredns"}, LabelNames: []string{"coredns", "kube-dns"}},
	{Name: "cilium", Title: "Cilium", Kind: KindAddOn, Repositories: []string{"quay.io/cilium/cilium", "quay.io/cilium/operator-generic", "quay.io/cilium/operator"}, LabelNames: []string{"cilium-agent", "cilium-operator"}},
	{Name: "calico", Title: "Calico", Kind: KindAddOn, Repositories: []string{"docker.io/calico/node", "quay.io/calico/node", "docker.io/calico/kube-controllers", "quay.io/calico/kube-controllers"}, LabelNames: []string{"calico-node"}},
	{Name: "flannel", Title: "Flannel", Kind: KindAddOn, Repositories: []string{"docker.io/flannel/flannel", "ghcr.io/flannel-io/flannel", "quay.io/coreos/flannel"}, LabelNames: []string{"flannel"}},
	{Name: "metrics-server", Title: "metrics-server", Kind: KindAddOn, Repositories: []string{"registry.k8s.io/metrics-server/metrics-server"}, LabelNames: []string{"metrics-server"}},
	{Name: "cert-manager", Title: "cert-manager", Kind: KindAddOn, Repositories: []string{"quay.io/jetstack/cert-manager-controller", "quay.io/jetstack/cert-manager-webhook", "quay.io/jetstack/cert-manager-cainjector"}, LabelNames: []string{"cert-manager", "webhook", "cainjector"}},
	{Name: "argocd", Title: "Argo CD", Kind: KindAddOn, Repositories: []string{"quay.io/argoproj/argocd"}, LabelNames: []string{"argocd-server", "argocd-repo-server", "argocd-application-controller", "argocd-applicationset-controller", "argocd-dex-server", "argocd-notifications-controller"}},
	{Name: "kube-state-metrics", Title: "kube-state-metrics", Kind: KindAddOn, Repositories: []string{"registry.k8s.io/kube-state-metrics/kube-state-metrics"}, LabelNames: []string{"kube-state-metrics"}},
	{Name: "cluster-autoscaler", Title: "Cluster Autoscaler", Kind: KindAddOn, Repositories: []string{"registry.k8s.io/autoscaling/cluster-autoscaler"}, LabelNames: []string{"cluster-autoscaler"}},
	{Name: "aws-ebs-csi-driver", Title: "Amazon EBS CSI driver", Kind: KindAddOn, Repositories: []string{"public.ecr.aws/ebs-csi-driver/aws-ebs-csi-driver", "registry.k8s.io/provider-aws/aws-ebs-csi-driver"}, LabelNames: []string{"aws-ebs-csi-driver"}},
	{Name: "azuredisk-csi-driver", Title: "Azure Disk CSI driver", Kind: KindAddOn, Repositories: []string{"mcr.microsoft.com/oss/kubernetes-csi/azuredisk-csi"}},
	{Name: "azurefile-csi-driver", Title: "Azure File CSI driver", Kind: KindAddOn, Repositories: []string{"mcr.microsoft.com/oss/kubernetes-csi/azurefile-csi"}},
	{Name: "gcp-pd-csi-driver", Title: "Google Compute Engine PD CSI driver", Kind: KindAddOn, Repositories: []string{"registry.k8s.io/cloud-provider-gcp/gcp-compute-persistent-disk-csi-driver", "gcr.io/gke-release/gcp-compute-persistent-disk-csi-driver"}},
	{Name: "csi-driver-nfs", Title: "NFS CSI driver", Kind: KindAddOn, Repositories: []string{"registry.k8s.io/sig-storage/nfsplugin"}},
	{Name: "csi-driver-smb", Title: "SMB CSI driver", Kind: KindAddOn, Repositories: []string{"registry.k8s.io/sig-storage/smbplugin"}},
}

// runtimes maps the scheme of status.nodeInfo.containerRuntimeVersion to
// a component.
var runtimes = map[string]Def{
	"containerd": {Name: "containerd", Title: "containerd", Kind: KindRuntime},
	"cri-o":      {Name: "cri-o", Title: "CRI-O", Kind: KindRuntime},
	"docker":     {Name: "docker", Title: "Docker Engine (cri-dockerd)", Kind: KindRuntime},
}

var byRepository = func() map[string]*Def {
	m := map[string]*Def{}
	for i := range defs {
		for _, r := range defs[i].Repositories {
			m[r] = &defs[i]
		}
	}
	return m
}()

// Defs returns the recognition table, in order.
func Defs() []Def { return append([]Def(nil), defs...) }

// Image is a parsed container image reference.
type Image struct {
	// Repository is the normalised repository, registry included:
	// "registry.k8s.io/ingress-nginx/controller", "docker.io/calico/node".
	Repository string
	Tag        string
	// Digest is "sha256:..." for a reference pinned by digest.
	Digest string
}

// registryAliases are registries that serve the same repositories under
// another name.
var registryAliases = map[string]string{
	"k8s.gcr.io":           "registry.k8s.io",
	"index.docker.io":      "docker.io",
	"registry-1.docker.io": "docker.io",
}

// ParseImage parses an image reference the way container runtimes read
// it: a first path element with a dot or colon (or "localhost") is a
// registry, otherwise the image is on Docker Hub ("library/" for a bare
// name). It fails on an empty or malformed reference.
func ParseImage(ref string) (Image, error) {
	s := strings.TrimSpace(ref)
	if s == "" {
		return Image{}, fmt.Errorf("empty image reference")
	}
	var img Image
	if i := strings.Index(s, "@"); i >= 0 {
		img.Digest, s = s[i+1:], s[:i]
		if !strings.Contains(img.Digest, ":") {
			return Image{}, fmt.Errorf("image %q: digest %q has no algorithm", ref, img.Digest)
		}
	}
	if i := strings.LastIndex(s, ":"); i >= 0 && !strings.Contains(s[i:], "/") {
		img.Tag, s = s[i+1:], s[:i]
		if img.Tag == "" {
			return Image{}, fmt.Errorf("image %q: empty tag", ref)
		}
	}
	if s == "" || strings.HasPrefix(s, "/") || strings.HasSuffix(s, "/") || strings.Contains(s, "//") {
		return Image{}, fmt.Errorf("image %q: malformed repository", ref)
	}
	parts := strings.SplitN(s, "/", 2)
	registry, path := "docker.io", s
	if len(parts) == 2 && (strings.ContainsAny(parts[0], ".:") || parts[0] == "localhost") {
		registry, path = strings.ToLower(parts[0]), parts[1]
	}
	if a, ok := registryAliases[registry]; ok {
		registry = a
	}
	if registry == "docker.io" && !strings.Contains(path, "/") {
		path = "library/" + path
	}
	img.Repository = registry + "/" + strings.ToLower(path)
	return img, nil
}

// Lookup returns the component an image repository belongs to, or nil:
// an upstream repository of the table, a verbatim mirror or a vendor's
// build of it (see vendor.go; LookupVendor says which vendor).
func Lookup(repository string) *Def {
	if d, _ := lookupRepository(repository); d != nil {
		d := *d
		return &d
	}
	return nil
}

// LookupVendor is Lookup that also names the vendor whose build the
// repository holds ("Amazon EKS", "GKE", "AKS"...), or "" for an upstream
// image or a verbatim mirror.
func LookupVendor(repository string) (*Def, string) {
	d, vendor := lookupRepository(repository)
	if d == nil {
		return nil, ""
	}
	dc := *d
	return &dc, vendor
}

// Found is one component found running (or declared to run) somewhere.
type Found struct {
	Name  string
	Title string
	Kind  string
	// Core marks a Kubernetes core component (see Def.Core).
	Core bool
	// Version is the version found, normalised ("1.11.3"), or "" when it
	// is unknown.
	Version string
	// Raw is the text the version was read from (the tag, the label value,
	// the runtime version string).
	Raw string
	// VersionFrom says where the version was read (FromImageTag...), or
	// why it is unknown.
	VersionFrom string
	// Image is the image reference, for components found by image.
	Image string
	// Container names the container running it.
	Container string
	// Path is the field path of what the version was read from.
	Path string
	// Vendor names the vendor whose build the image is ("Amazon EKS",
	// "GKE", "AKS", "RKE2"...), or "" for an upstream image. A vendor
	// build's Version is the upstream version its tag names; the vendor
	// may have backported fixes beyond it (see vendor.go).
	Vendor string

	parsed vulndb.Version
	known  bool
}

// Parsed returns the parsed version, and whether it is known.
func (f *Found) Parsed() (vulndb.Version, bool) { return f.parsed, f.known }

func (f *Found) setVersion(raw, from string) {
	v, err := vulndb.ParseComponentVersion(raw)
	if err != nil {
		f.VersionFrom = fmt.Sprintf("unknown: %s %q is not a version", from, raw)
		f.Raw = raw
		return
	}
	f.parsed, f.known = v, true
	f.Version, f.Raw, f.VersionFrom = v.String(), raw, from
}

// InObject returns the components an object runs: those of its pod
// template's containers (every pod-bearing kind), for a Node those of its
// status.nodeInfo, for the APIServer object the control plane's /version.
func InObject(o *inventory.Object) []Found {
	switch t := o.Typed.(type) {
	case *corev1.Node:
		return OnNode(t)
	case *inventory.APIServer:
		if o.Group() != inventory.APIServerGroup || t.Version.GitVersion == "" {
			return nil
		}
		f := Found{Name: vulndb.KubeAPIServer, Title: "Kubernetes API server", Kind: KindControlPlane, Core: true, Path: "version.gitVersion"}
		if v, err := vulndb.ParseVersion(t.Version.GitVersion); err == nil {
			f.parsed, f.known = v, true
			f.Version, f.Raw, f.VersionFrom = v.String(), t.Version.GitVersion, "/version"
		} else {
			f.Raw, f.VersionFrom = t.Version.GitVersion, fmt.Sprintf("unknown: %q is not a version", t.Version.GitVersion)
		}
		return []Found{f}
	}
	if p := o.Pod(); p != nil {
		return InPod(p)
	}
	return nil
}

// InPod returns the components the containers of a pod template run, in
// container order.
func InPod(p *inventory.PodTemplate) []Found {
	var out []Found
	total := 0
	p.Containers(func(c inventory.Container) {
		total++
		img, err := ParseImage(c.Image)
		if err != nil {
			return
		}
		d, vendor := lookupRepository(img.Repository)
		if d == nil {
			return
		}
		f := Found{Name: d.Name, Title: d.Title, Kind: d.Kind, Core: d.Core, Image: c.Image, Container: c.Name, Path: c.At("image"), Vendor: vendor}
		if img.Tag != "" {
			if vendor != "" {
				f.setVersion(vendorTag(img.Tag), vendorVersionFrom(vendor))
				f.Raw = img.Tag
			} else {
				f.setVersion(img.Tag, FromImageTag)
			}
		}
		out = append(out, f)
	})
	// Digest-only images: the version label speaks for the image only when
	// the pod names the component or runs no other container.
	var labels map[string]string
	if p.Meta != nil {
		labels = p.Meta.Labels
	}
	for i := range out {
		f := &out[i]
		if f.VersionFrom != "" {
			continue
		}
		label := labels[VersionLabel]
		if label == "" {
			f.VersionFrom = "unknown: the image is pinned by digest and the pod has no " + VersionLabel + " label"
			continue
		}
		if total > 1 && !namesComponent(labels[NameLabel], f.Name) {
			f.VersionFrom = "unknown: the image is pinned by digest and the pod's " + VersionLabel + " label may be about another of its images"
			continue
		}
		f.setVersion(label, FromVersionLabel)
		if f.known {
			f.Path = p.MetaPath + ".labels"
		}
	}
	return out
}

// namesComponent reports whether an app.kubernetes.io/name value is one
// of the component's.
func namesComponent(name, component string) bool {
	for i := range defs {
		if defs[i].Name != component {
			continue
		}
		if name == component {
			return true
		}
		for _, n := range defs[i].LabelNames {
			if n == name {
				return true
			}
		}
	}
	return false
}

// OnNode returns what a Node reports in status.nodeInfo: its container
// runtime, kubelet and kube-proxy (kube-proxy's field is deprecated and
// often empty), operating system and kernel.
func OnNode(n *corev1.Node) []Found {
	ni := n.Status.NodeInfo
	var out []Found
	if rt := ni.ContainerRuntimeVersion; rt != "" {
		out = append(out, Runtime(rt))
	}
	for _, x := range []struct {
		name, raw, path string
	}{
		{vulndb.Kubelet, ni.KubeletVersion, "status.nodeInfo.kubeletVersion"},
		{vulndb.KubeProxy, ni.KubeProxyVersion, "status.nodeInfo.kubeProxyVersion"},
	} {
		if x.raw == "" {
			continue
		}
		f := Found{Name: x.name, Title: x.name, Kind: KindNode, Core: true, Path: x.path}
		v, err := vulndb.ParseVersion(x.raw)
		if err != nil {
			f.Raw, f.VersionFrom = x.raw, fmt.Sprintf("unknown: %q is not a version", x.raw)
		} else {
			f.parsed, f.known = v, true
			f.Version, f.Raw, f.VersionFrom = v.String(), x.raw, FromNodeInfo
		}
		out = append(out, f)
	}
	if ni.OSImage != "" {
		out = append(out, Found{Name: "os", Title: ni.OSImage, Kind: KindNode, Raw: ni.OSImage, Version: ni.OSImage, VersionFrom: FromNodeInfo, Path: "status.nodeInfo.osImage"})
	}
	if ni.KernelVersion != "" {
		out = append(out, Found{Name: "kernel", Title: "Linux kernel", Kind: KindNode, Raw: ni.KernelVersion, Version: ni.KernelVersion, VersionFrom: FromNodeInfo, Path: "status.nodeInfo.kernelVersion"})
	}
	return out
}

// Runtime reads status.nodeInfo.containerRuntimeVersion
// ("containerd://1.7.12", "cri-o://1.29.1").
func Runtime(raw string) Found {
	f := Found{Name: "unknown-runtime", Title: "container runtime", Kind: KindRuntime, Raw: raw, Path: "status.nodeInfo.containerRuntimeVersion"}
	scheme, version, ok := strings.Cut(raw, "://")
	if !ok {
		f.VersionFrom = fmt.Sprintf("unknown: %q is not RUNTIME://VERSION", raw)
		return f
	}
	if d, ok := runtimes[strings.ToLower(scheme)]; ok {
		f.Name, f.Title = d.Name, d.Title
	} else {
		f.Name, f.Title = strings.ToLower(scheme), scheme
	}
	f.setVersion(version, FromNodeInfo)
	return f
}

// Names lists the names of found components, sorted, without duplicates.
func Names(fs []Found) []string {
	seen := map[string]bool{}
	var out []string
	for _, f := range fs {
		if !seen[f.Name] {
			seen[f.Name] = true
			out = append(out, f.Name)
		}
	}
	sort.Strings(out)
	return out
}
