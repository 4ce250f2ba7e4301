package pod

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
)

// SeccompNotRuntimeDefault is check seccomp-not-runtime-default. Every container of a Linux pod must run under a seccomp profile of type
// RuntimeDefault or Localhost, set on the container or inherited from the
// pod; a container-level profile replaces the pod's.
var SeccompNotRuntimeDefault = registry.Add(&check.Check{
	ID:       "seccomp-not-runtime-default",
	Title:    "Container runs without a seccomp profile",
	Severity: check.Medium,
	Refs: []check.Ref{
		{Framework: check.CIS, ID: "5.6.2", Title: "Ensure that the seccomp profile is set to docker/default in your Pod definitions"},
		{Framework: check.NSA, ID: "Kubernetes Pod security", Title: "Hardening container environments"},
		{Framework: check.PSS, ID: "seccompProfile_restricted", Title: "restricted"},
		{Framework: check.PSS, ID: "seccompProfile_baseline", Title: "baseline"},
	},
	Description: "Seccomp filters the system calls a container may make. The runtime's default profile blocks the " +
		"rarely needed calls through which most kernel exploits and container escapes run (for example unshare, " +
		"mount, keyctl, bpf). Unless the kubelet runs with --seccomp-default, a container with no profile, or with " +
		"Unconfined, can call them all. Rated medium: it shrinks the kernel attack surface, but missing it grants " +
		"no privilege by itself, and running unconfined is still Kubernetes' default. Pods with spec.os.name: " +
		"windows are not checked: seccomp is Linux-only.",
	Remediation: "Set securityContext.seccompProfile.type: RuntimeDefault on the pod, so that every container inherits " +
		"it, or a Localhost profile tailored to the workload. Remove Unconfined from the pod and its containers.",
	Kinds: kinds.Pods,
	Object: check.ForContainers(func(o *inventory.Object, p *inventory.PodTemplate, c inventory.Container) []check.Result {
		if windows(p) {
			return nil
		}
		if sp := security(c).SeccompProfile; sp != nil {
			if confinedSeccomp(sp.Type) {
				return nil
			}
			return result(c.At("securityContext.seccompProfile.type"), "%s sets seccomp profile %s", who(c), seccompName(sp.Type))
		}
		sp := podSecurity(p).SeccompProfile
		switch {
		case sp == nil:
			return result(c.Path, "%s has no seccomp profile: neither it nor the pod sets securityContext.seccompProfile, so it runs unconfined unless the kubelet sets a default", who(c))
		case !confinedSeccomp(sp.Type):
			return result(c.Path, "%s inherits seccomp profile %s from the pod securityContext", who(c), seccompName(sp.Type))
		}
		return nil
	}),
})

func confinedSeccomp(t corev1.SeccompProfileType) bool {
	return t == corev1.SeccompProfileTypeRuntimeDefault || t == corev1.SeccompProfileTypeLocalhost
}

func seccompName(t corev1.SeccompProfileType) string {
	if t == "" {
		return "with no type"
	}
	return string(t)
}
