package pod

import (
	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
)

// HostPathVolume is check host-path-volume. A pod must not mount directories or files of the node: no volume may be
// a hostPath volume.
var HostPathVolume = registry.Add(&check.Check{
	ID:       "host-path-volume",
	Title:    "Pod mounts a host path",
	Severity: check.Critical,
	Refs: []check.Ref{
		{Framework: check.CIS, ID: "5.2.11", Title: "Minimize the admission of HostPath volumes"},
		{Framework: check.NSA, ID: "Kubernetes Pod security", Title: "Pod security enforcement"},
		{Framework: check.PSS, ID: "hostPathVolumes", Title: "baseline"},
	},
	Description: "A hostPath volume exposes part of the node's filesystem to the pod. Depending on the path it leaks the " +
		"node's secrets (kubelet credentials, other pods' volumes, /etc), hands over the container runtime socket, " +
		"or, when writable, lets the pod plant files the node will execute. Mounting the node's root, the runtime " +
		"socket or /var/lib/kubelet is a node takeover; even read-only mounts leak credentials. Rated critical.",
	Remediation: "Replace the hostPath volume with an emptyDir, a ConfigMap or Secret, a projected volume or a " +
		"PersistentVolumeClaim. Node agents that truly need host files should mount the narrowest path read-only " +
		"and run in a dedicated, restricted namespace.",
	Kinds: kinds.Pods,
	Object: check.ForPods(func(o *inventory.Object, p *inventory.PodTemplate) []check.Result {
		var out []check.Result
		for i, v := range p.Spec.Volumes {
			if v.HostPath == nil {
				continue
			}
			out = append(out, result(p.At(inventory.Join(inventory.Index("volumes", i), "hostPath")),
				"volume %q mounts host path %q from the node", v.Name, v.HostPath.Path)...)
		}
		return out
	}),
})
