package version

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
	"github.com/kubeharden/kubeharden/vulndb"
)

// versionKinds are the objects that carry a Kubernetes component version.
var versionKinds = kinds.List(kinds.APIServer, kinds.Node)

// target is the component version an object reports.
type target struct {
	// Path is the field holding the version.
	Path string
	// Noun names what runs the version, for messages: "API server", "kubelet".
	Noun string
	// Components are the vulndb components the version stands for.
	Components []string
	Version    vulndb.Version
}

// targetOf extracts the version an APIServer or Node object reports. It
// returns nil when the object has no version or one that does not parse.
func targetOf(o *inventory.Object) *target {
	var t target
	var raw string
	switch obj := o.Typed.(type) {
	case *inventory.APIServer:
		if o.Group() != inventory.APIServerGroup {
			return nil
		}
		raw = obj.Version.GitVersion
		t.Path = "version.gitVersion"
		t.Noun = "API server"
		// Control-plane components are upgraded together with the API
		// server (kubeadm, managed control planes): its version stands
		// for kube-controller-manager too.
		t.Components = []string{vulndb.KubeAPIServer, vulndb.KubeControllerManager}
	case *corev1.Node:
		raw = obj.Status.NodeInfo.KubeletVersion
		t.Path = "status.nodeInfo.kubeletVersion"
		t.Noun = "kubelet"
		t.Components = []string{vulndb.Kubelet}
	default:
		return nil
	}
	if raw == "" {
		return nil
	}
	v, err := vulndb.ParseVersion(raw)
	if err != nil {
		return nil
	}
	t.Version = v
	return &t
}

// backportNote warns that a vendor build may carry backported fixes, or
// returns "" for an upstream build.
func backportNote(v vulndb.Version) string {
	switch {
	case v.Distribution != "":
		name := vulndb.DistributionName(v.Distribution)
		return fmt.Sprintf(" %s builds may carry backported fixes without a change to the upstream patch number: check %s's security bulletins before dismissing a CVE.", name, name)
	case v.Build != "":
		return fmt.Sprintf(" Vendor build (suffix %q): the vendor may have backported fixes without a change to the upstream patch number; check its security bulletins before dismissing a CVE.", v.Build)
	}
	return ""
}
