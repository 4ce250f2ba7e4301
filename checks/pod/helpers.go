package pod

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
)

// windows reports whether the pod declares spec.os.name: windows. The API
// server rejects the Linux-only security fields (seccomp, capabilities,
// allowPrivilegeEscalation, readOnlyRootFilesystem, procMount, SELinux,
// AppArmor, sysctls) on such a pod and the kubelet of a Linux node refuses
// to run it, so the checks of those fields do not apply to it.
func windows(p *inventory.PodTemplate) bool {
	return p.Spec.OS != nil && p.Spec.OS.Name == corev1.Windows
}

// userNamespaced reports whether the pod runs in a user namespace of its
// own (hostUsers: false): UID 0 inside it maps to an unprivileged UID on
// the node.
func userNamespaced(p *inventory.PodTemplate) bool {
	return p.Spec.HostUsers != nil && !*p.Spec.HostUsers
}

// podSecurity returns the pod-level security context, or an empty one.
func podSecurity(p *inventory.PodTemplate) *corev1.PodSecurityContext {
	if p.Spec.SecurityContext != nil {
		return p.Spec.SecurityContext
	}
	return &corev1.PodSecurityContext{}
}

// security returns the container's security context, or an empty one.
func security(c inventory.Container) *corev1.SecurityContext {
	if c.SecurityContext != nil {
		return c.SecurityContext
	}
	return &corev1.SecurityContext{}
}

// who names a container for messages: `init container "setup"`.
func who(c inventory.Container) string {
	return fmt.Sprintf("%s %q", c.Kind.Noun(), c.Name)
}

// result builds a single-result slice with a formatted message.
func result(path, format string, args ...any) []check.Result {
	return []check.Result{{Path: path, Message: fmt.Sprintf(format, args...)}}
}

// capList renders a capability list for messages: [NET_RAW, CHOWN].
func capList(caps []corev1.Capability) string {
	names := make([]string, len(caps))
	for i, c := range caps {
		names[i] = string(c)
	}
	return "[" + strings.Join(names, ", ") + "]"
}
