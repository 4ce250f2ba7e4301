package pod

import (
	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
)

// HostPID is check host-pid. A pod must not share the node's process ID namespace: spec.hostPID must
// be unset or false.
var HostPID = registry.Add(&check.Check{
	ID:       "host-pid",
	Title:    "Pod uses the host PID namespace",
	Severity: check.Critical,
	Refs: []check.Ref{
		{Framework: check.CIS, ID: "5.2.3", Title: "Minimize the admission of containers wishing to share the host process ID namespace"},
		{Framework: check.NSA, ID: "Kubernetes Pod security", Title: "Pod security enforcement"},
		{Framework: check.PSS, ID: "hostNamespaces", Title: "baseline"},
	},
	Description: "With hostPID the pod's containers see every process on the node and its command line, which often " +
		"carries credentials. A container that shares a user with a host process can also read that process's " +
		"environment and files through /proc/<pid> and signal or trace it, and one with enough capabilities " +
		"(privileged, SYS_ADMIN with SYS_PTRACE) can enter the node's namespaces with nsenter -t 1, a full node " +
		"takeover. Rated critical because it is one setting away from owning the node.",
	Remediation: "Remove spec.hostPID (or set it to false). To share processes between the pod's own containers, use " +
		"spec.shareProcessNamespace instead.",
	Kinds: kinds.Pods,
	Object: check.ForPods(func(o *inventory.Object, p *inventory.PodTemplate) []check.Result {
		if !p.Spec.HostPID {
			return nil
		}
		return result(p.At("hostPID"), "pod shares the node's process ID namespace (hostPID: true)")
	}),
})
