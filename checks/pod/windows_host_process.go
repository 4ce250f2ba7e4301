package pod

import (
	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
)

// WindowsHostProcess is check windows-host-process. No pod may run Windows
// HostProcess containers: securityContext.windowsOptions.hostProcess must
// be unset or false in the pod's security context and in every init, app
// and ephemeral container's. A pod-level true is reported once, at the pod;
// each container that sets true itself is reported at the container.
var WindowsHostProcess = registry.Add(&check.Check{
	ID:       "windows-host-process",
	Title:    "Pod runs Windows HostProcess containers",
	Severity: check.Critical,
	Refs: []check.Ref{
		{Framework: check.CIS, ID: "5.2.10", Title: "Minimize the admission of Windows HostProcess containers"},
		{Framework: check.NSA, ID: "Kubernetes Pod security", Title: "Pod security enforcement"},
		{Framework: check.PSS, ID: "windowsHostProcess", Title: "baseline"},
	},
	Description: "A Windows HostProcess container is not isolated from its node at all: it runs as a process directly on " +
		"the Windows host, in the host's network namespace, with access to the host filesystem and, typically, as " +
		"NT AUTHORITY\\SYSTEM or another host account. It is the Windows counterpart of a privileged container with the " +
		"host's namespaces: whoever controls it controls the node, and from there the credentials of every pod on it. " +
		"Rated critical.",
	Remediation: "Remove securityContext.windowsOptions.hostProcess (or set it to false) at pod and container level. " +
		"Node agents that truly need the host (CNI, storage, log and monitoring daemons) should run in a dedicated " +
		"namespace where only they are admitted and the Pod Security level is set to privileged deliberately; every " +
		"other namespace should enforce at least baseline.",
	Kinds: kinds.Pods,
	Object: check.ForPods(func(o *inventory.Object, p *inventory.PodTemplate) []check.Result {
		var out []check.Result
		if w := p.Spec.SecurityContext; w != nil && w.WindowsOptions != nil && w.WindowsOptions.HostProcess != nil && *w.WindowsOptions.HostProcess {
			out = append(out, result(p.At("securityContext.windowsOptions.hostProcess"),
				"pod runs as a Windows HostProcess pod: every container is a process on the node, with the node's network and filesystem")...)
		}
		p.Containers(func(c inventory.Container) {
			if sc := c.SecurityContext; sc != nil && sc.WindowsOptions != nil && sc.WindowsOptions.HostProcess != nil && *sc.WindowsOptions.HostProcess {
				out = append(out, result(c.At("securityContext.windowsOptions.hostProcess"),
					"%s runs as a Windows HostProcess container, a process on the node with the node's network and filesystem", who(c))...)
			}
		})
		return out
	}),
})
