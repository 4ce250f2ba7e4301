package pod

import (
	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
)

// RunAsRoot is check run-as-root. Every container must run as a non-root
// user. The container's runAsUser, or else the pod's, decides: UID 0 runs as
// root (whatever runAsNonRoot says), any other UID does not. Without a UID,
// the image's USER decides, so runAsNonRoot (the container's, or else the
// pod's) must be true. Pods in a user namespace of their own (hostUsers:
// false) are exempt. runAsGroup and fsGroup 0 are groups, not the root
// user, and are not this check's matter.
var RunAsRoot = registry.Add(&check.Check{
	ID:       "run-as-root",
	Title:    "Container may run as root",
	Severity: check.High,
	Refs: []check.Ref{
		{Framework: check.CIS, ID: "5.2.7", Title: "Minimize the admission of root containers"},
		{Framework: check.NSA, ID: "Kubernetes Pod security", Title: `"Non-root" containers and "rootless" container engines`},
		{Framework: check.PSS, ID: "runAsNonRoot", Title: "restricted"},
		{Framework: check.PSS, ID: "runAsUser", Title: "restricted"},
	},
	Description: "A container runs as its runAsUser (the container's, or else the pod's): UID 0 is root, any other UID " +
		"is not. Without a runAsUser it runs as whatever user its image names, and for most images that is root, unless " +
		"runAsNonRoot: true (on the container, or on the pod and not overridden) makes the kubelet refuse to start it as " +
		"root. Root in a container is UID 0 on the node: it owns host files reached through volumes, keeps " +
		"the default capabilities, and turns any container-escape bug into control of the node. Rated high as an " +
		"escalation path. Pods that run in their own user namespace (hostUsers: false) are not checked, because their " +
		"UID 0 maps to an unprivileged user on the node.",
	Remediation: "Set securityContext.runAsNonRoot: true on the pod (or on every container) and run as a non-zero UID, " +
		"with securityContext.runAsUser or a numeric USER in the image. Remove runAsUser: 0 and runAsNonRoot: false " +
		"from containers and from the pod. Where the workload really needs root, run it with hostUsers: false.",
	Kinds: kinds.Pods,
	Object: check.ForContainers(func(o *inventory.Object, p *inventory.PodTemplate, c inventory.Container) []check.Result {
		if userNamespaced(p) {
			return nil
		}
		ps, cs := podSecurity(p), security(c)
		// The user: the container's runAsUser overrides the pod's.
		switch {
		case cs.RunAsUser != nil && *cs.RunAsUser == 0:
			return result(c.At("securityContext.runAsUser"), "%s sets runAsUser: 0 and runs as root", who(c))
		case cs.RunAsUser != nil:
			return nil // a non-zero UID is not root
		case ps.RunAsUser != nil && *ps.RunAsUser == 0:
			return result(c.Path, "%s runs as root: it inherits runAsUser: 0 from the pod securityContext", who(c))
		case ps.RunAsUser != nil:
			return nil
		}
		// No UID: the image's USER decides, unless runAsNonRoot forbids root.
		switch {
		case cs.RunAsNonRoot != nil && !*cs.RunAsNonRoot:
			return result(c.At("securityContext.runAsNonRoot"), "%s sets runAsNonRoot: false and may run as root", who(c))
		case cs.RunAsNonRoot == nil && ps.RunAsNonRoot != nil && !*ps.RunAsNonRoot:
			return result(c.Path, "%s may run as root: it inherits runAsNonRoot: false from the pod securityContext", who(c))
		case cs.RunAsNonRoot == nil && ps.RunAsNonRoot == nil:
			return result(c.Path, "%s may run as root: neither it nor the pod sets securityContext.runAsNonRoot: true", who(c))
		}
		return nil
	}),
})
