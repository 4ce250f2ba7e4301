package pod

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
)

// ProcMountUnmasked is check proc-mount-unmasked. Containers of a Linux pod must keep the runtime's masks on /proc:
// securityContext.procMount must be unset or Default.
var ProcMountUnmasked = registry.Add(&check.Check{
	ID:       "proc-mount-unmasked",
	Title:    "Container unmasks /proc",
	Severity: check.High,
	Refs: []check.Ref{
		{Framework: check.CIS, ID: "5.6.3", Title: "Apply SecurityContext to your Pods and Containers"},
		{Framework: check.NSA, ID: "Kubernetes Pod security", Title: "Pod security enforcement"},
		{Framework: check.PSS, ID: "procMount", Title: "baseline"},
		{Framework: check.PSS, ID: "procMount_restricted", Title: "restricted"},
	},
	Description: "Container runtimes mask and mount read-only the parts of /proc that expose or control the host " +
		"kernel (/proc/kcore, /proc/sysrq-trigger, /proc/sys, timer and debugging interfaces). procMount: Unmasked " +
		"removes those masks, handing the container a view of the kernel that feeds escapes and information leaks. " +
		"Current Kubernetes only accepts it in a user namespace (hostUsers: false), which limits but does not undo " +
		"the exposure, so it is reported there too, as the restricted Pod Security Standard does. Rated high as an " +
		"escalation aid. Pods with spec.os.name: windows are not checked: /proc is Linux-only.",
	Remediation: "Remove securityContext.procMount (or set it to Default). Only nested container runtimes need an " +
		"unmasked /proc; run those in a dedicated, isolated node pool.",
	Kinds: kinds.Pods,
	Object: check.ForContainers(func(o *inventory.Object, p *inventory.PodTemplate, c inventory.Container) []check.Result {
		pm := security(c).ProcMount
		if windows(p) || pm == nil || *pm == corev1.DefaultProcMount {
			return nil
		}
		return result(c.At("securityContext.procMount"), "%s sets procMount: %s, removing the masks on /proc", who(c), *pm)
	}),
})
