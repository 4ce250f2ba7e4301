package pod

import (
	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
)

// HostNetwork is check host-network. A pod must not share the node's network namespace: spec.hostNetwork must
// be unset or false.
var HostNetwork = registry.Add(&check.Check{
	ID:       "host-network",
	Title:    "Pod uses the host network",
	Severity: check.High,
	Refs: []check.Ref{
		{Framework: check.CIS, ID: "5.2.5", Title: "Minimize the admission of containers wishing to share the host network namespace"},
		{Framework: check.NSA, ID: "Kubernetes Pod security", Title: "Pod security enforcement"},
		{Framework: check.PSS, ID: "hostNamespaces", Title: "baseline"},
	},
	Description: "With hostNetwork the pod uses the node's network stack: it can reach services bound to the node's " +
		"loopback (the kubelet, node agents, etcd on control-plane nodes), listen on any node port, observe node " +
		"traffic given NET_RAW, and is not isolated by NetworkPolicy. Rated high rather than critical: it exposes " +
		"the node and its neighbours but does not by itself hand over the node.",
	Remediation: "Remove spec.hostNetwork (or set it to false) and expose the workload through a Service. Reserve host " +
		"networking for audited node agents such as CNI plugins, in a dedicated namespace.",
	Kinds: kinds.Pods,
	Object: check.ForPods(func(o *inventory.Object, p *inventory.PodTemplate) []check.Result {
		if !p.Spec.HostNetwork {
			return nil
		}
		return result(p.At("hostNetwork"), "pod shares the node's network namespace (hostNetwork: true)")
	}),
})
