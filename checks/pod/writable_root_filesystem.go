package pod

import (
	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
)

// WritableRootFilesystem is check writable-root-filesystem. Every container of a Linux pod should mount its root filesystem
// read-only: securityContext.readOnlyRootFilesystem must be true.
var WritableRootFilesystem = registry.Add(&check.Check{
	ID:       "writable-root-filesystem",
	Title:    "Container root filesystem is writable",
	Severity: check.Medium,
	Refs: []check.Ref{
		{Framework: check.CIS, ID: "5.6.3", Title: "Apply SecurityContext to your Pods and Containers"},
		{Framework: check.NSA, ID: "Kubernetes Pod security", Title: "Immutable container file systems"},
	},
	Description: "A writable root filesystem lets an intruder change the container's own binaries, libraries and " +
		"configuration, drop tools and persist a foothold for as long as the container lives. A read-only root " +
		"filesystem keeps the running container identical to its image and confines writes to the volumes the " +
		"manifest declares. Rated medium: it is defence in depth, not an escalation path by itself. Pods with " +
		"spec.os.name: windows are not checked: Windows does not support the setting.",
	Remediation: "Set securityContext.readOnlyRootFilesystem: true on every container, and mount an emptyDir volume " +
		"at each path the application must write to (for example /tmp or a cache directory).",
	Kinds: kinds.Pods,
	Object: check.ForContainers(func(o *inventory.Object, p *inventory.PodTemplate, c inventory.Container) []check.Result {
		if windows(p) {
			return nil
		}
		ro := security(c).ReadOnlyRootFilesystem
		switch {
		case ro == nil:
			return result(c.Path, "%s does not set securityContext.readOnlyRootFilesystem: true, so its root filesystem is writable", who(c))
		case !*ro:
			return result(c.At("securityContext.readOnlyRootFilesystem"), "%s sets readOnlyRootFilesystem: false", who(c))
		}
		return nil
	}),
})
