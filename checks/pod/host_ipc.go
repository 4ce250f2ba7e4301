package pod

import (
	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
)

// HostIPC is check host-ipc. A pod must not share the node's IPC namespace: spec.hostIPC must be
// unset or false.
var HostIPC = registry.Add(&check.Check{
	ID:       "host-ipc",
	Title:    "Pod uses the host IPC namespace",
	Severity: check.High,
	Refs: []check.Ref{
		{Framework: check.CIS, ID: "5.2.4", Title: "Minimize the admission of containers wishing to share the host IPC namespace"},
		{Framework: check.NSA, ID: "Kubernetes Pod security", Title: "Pod security enforcement"},
		{Framework: check.PSS, ID: "hostNamespaces", Title: "baseline"},
	},
	Description: "With hostIPC the pod's containers share System V IPC objects and POSIX message queues and shared " +
		"memory (/dev/shm) with every process on the node, so they can read or tamper with data that node processes " +
		"and other pods exchange through them. Rated high: it breaks isolation from the node's processes without " +
		"directly handing over the node.",
	Remediation: "Remove spec.hostIPC (or set it to false). Containers of the same pod already share an IPC namespace; " +
		"use a volume or a network protocol to exchange data with anything else.",
	Kinds: kinds.Pods,
	Object: check.ForPods(func(o *inventory.Object, p *inventory.PodTemplate) []check.Result {
		if !p.Spec.HostIPC {
			return nil
		}
		return result(p.At("hostIPC"), "pod shares the node's IPC namespace (hostIPC: true)")
	}),
})
