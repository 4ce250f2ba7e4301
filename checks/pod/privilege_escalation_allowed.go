package pod

import (
	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
)

// PrivilegeEscalationAllowed is check privilege-escalation-allowed. Every init, app and ephemeral container of a Linux pod must set
// securityContext.allowPrivilegeEscalation to false; unset means allowed.
var PrivilegeEscalationAllowed = registry.Add(&check.Check{
	ID:       "privilege-escalation-allowed",
	Title:    "Container allows privilege escalation",
	Severity: check.High,
	Refs: []check.Ref{
		{Framework: check.CIS, ID: "5.2.6", Title: "Minimize the admission of containers with allowPrivilegeEscalation"},
		{Framework: check.NSA, ID: "Kubernetes Pod security", Title: "Pod security enforcement"},
		{Framework: check.PSS, ID: "allowPrivilegeEscalation", Title: "restricted"},
	},
	Description: "Unless allowPrivilegeEscalation is false, the container's processes run without the kernel's " +
		"no_new_privs flag, so a set-user-ID or set-group-ID binary, or a file carrying capabilities, lets a " +
		"compromised process gain privileges it did not start with - typically going from an unprivileged user to " +
		"root inside the container, the usual first step of a container escape. Kubernetes allows escalation by " +
		"default, so the field has to be set explicitly. Rated high because it is a direct escalation path. Pods with " +
		"spec.os.name: windows are not checked: the field does not exist on Windows.",
	Remediation: "Set securityContext.allowPrivilegeEscalation: false on every container, init container and ephemeral " +
		"container. A privileged container, or one that adds CAP_SYS_ADMIN, can always escalate, so drop those first.",
	Kinds: kinds.Pods,
	Object: check.ForContainers(func(o *inventory.Object, p *inventory.PodTemplate, c inventory.Container) []check.Result {
		if windows(p) {
			return nil
		}
		ape := security(c).AllowPrivilegeEscalation
		switch {
		case ape == nil:
			return result(c.Path, "%s does not set securityContext.allowPrivilegeEscalation: false, so its processes may gain privileges", who(c))
		case *ape:
			return result(c.At("securityContext.allowPrivilegeEscalation"), "%s sets allowPrivilegeEscalation: true", who(c))
		}
		return nil
	}),
})
