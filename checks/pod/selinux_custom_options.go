package pod

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
)

// SELinuxCustomOptions is check selinux-custom-options. The SELinux label that applies to a container of a Linux pod - its own
// securityContext.seLinuxOptions, which replace the pod's as a whole, else
// the pod's - must not set a user or a role, and its type must be empty or
// one of the container types the Pod Security Standards allow.
var SELinuxCustomOptions = registry.Add(&check.Check{
	ID:       "selinux-custom-options",
	Title:    "Container sets custom SELinux options",
	Severity: check.High,
	Refs: []check.Ref{
		{Framework: check.CIS, ID: "5.6.3", Title: "Apply SecurityContext to your Pods and Containers"},
		{Framework: check.NSA, ID: "Kubernetes Pod security", Title: "Pod security enforcement"},
		{Framework: check.PSS, ID: "seLinuxOptions", Title: "baseline"},
	},
	Description: "On SELinux nodes each container runs in a confined domain (container_t) whose policy keeps it away " +
		"from host files and other containers. A custom SELinux user or role, or a type outside the container " +
		"types (container_t, container_init_t, container_kvm_t, container_engine_t) - spc_t, unconfined_t, a host " +
		"daemon's type - moves the container out of that confinement, often to an unconfined domain. Rated high: " +
		"it switches off a protection that is on by default. Pods with spec.os.name: windows are not checked: " +
		"SELinux is Linux-only.",
	Remediation: "Remove seLinuxOptions.user and seLinuxOptions.role, and leave seLinuxOptions.type unset or set it to " +
		"container_t (or container_init_t, container_kvm_t, container_engine_t where needed). Setting only " +
		"seLinuxOptions.level, to separate workloads by MCS category, is fine.",
	Kinds: kinds.Pods,
	Object: check.ForContainers(func(o *inventory.Object, p *inventory.PodTemplate, c inventory.Container) []check.Result {
		if windows(p) {
			return nil
		}
		if opts := security(c).SELinuxOptions; opts != nil {
			var out []check.Result
			for _, b := range seLinuxProblems(opts) {
				out = append(out, result(c.At("securityContext.seLinuxOptions."+b.field), "%s sets %s", who(c), b.what)...)
			}
			return out
		}
		if opts := podSecurity(p).SELinuxOptions; opts != nil {
			if bad := seLinuxProblems(opts); len(bad) > 0 {
				whats := make([]string, len(bad))
				for i, b := range bad {
					whats[i] = b.what
				}
				return result(c.Path, "%s inherits custom SELinux options from the pod securityContext: %s", who(c), strings.Join(whats, ", "))
			}
		}
		return nil
	}),
})

// seLinuxAllowedTypes are the SELinux types the Pod Security Standards
// allow at the latest policy version.
var seLinuxAllowedTypes = map[string]bool{
	"":                   true,
	"container_t":        true,
	"container_init_t":   true,
	"container_kvm_t":    true,
	"container_engine_t": true,
}

type seLinuxProblem struct{ field, what string }

// seLinuxProblems lists what is wrong with a set of SELinux options, in a
// fixed order: type, user, role.
func seLinuxProblems(o *corev1.SELinuxOptions) []seLinuxProblem {
	var out []seLinuxProblem
	if !seLinuxAllowedTypes[o.Type] {
		out = append(out, seLinuxProblem{"type", fmt.Sprintf("SELinux type %q, outside the container types", o.Type)})
	}
	if o.User != "" {
		out = append(out, seLinuxProblem{"user", fmt.Sprintf("SELinux user %q", o.User)})
	}
	if o.Role != "" {
		out = append(out, seLinuxProblem{"role", fmt.Sprintf("SELinux role %q", o.Role)})
	}
	return out
}
