package pod

import (
	"maps"
	"slices"
	"strings"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
)

// UnsafeSysctls is check unsafe-sysctls. A Linux pod may only set the sysctls the Pod Security Standards call
// safe (those isolated to the pod's own namespaces) in
// spec.securityContext.sysctls.
var UnsafeSysctls = registry.Add(&check.Check{
	ID:       "unsafe-sysctls",
	Title:    "Pod sets unsafe sysctls",
	Severity: check.High,
	Refs: []check.Ref{
		{Framework: check.CIS, ID: "5.6.3", Title: "Apply SecurityContext to your Pods and Containers"},
		{Framework: check.NSA, ID: "Kubernetes Pod security", Title: "Pod security enforcement"},
		{Framework: check.PSS, ID: "sysctls", Title: "baseline"},
	},
	Description: "Sysctls tune the kernel. Only a small set is known to be namespaced and isolated from the rest of " +
		"the node; any other either changes the whole node (memory, scheduling, kernel limits) or turns off a " +
		"protection, so one pod can weaken or starve the node and every pod on it. The safe set is the one of the " +
		"latest Pod Security Standards: kernel.shm_rmid_forced, net.ipv4.ip_local_port_range, " +
		"net.ipv4.ip_local_reserved_ports, net.ipv4.ip_unprivileged_port_start, net.ipv4.ping_group_range, " +
		"net.ipv4.tcp_syncookies, net.ipv4.tcp_keepalive_time, net.ipv4.tcp_keepalive_intvl, " +
		"net.ipv4.tcp_keepalive_probes, net.ipv4.tcp_fin_timeout, net.ipv4.tcp_rmem, net.ipv4.tcp_wmem, " +
		"net.ipv4.tcp_slow_start_after_idle and net.ipv4.tcp_notsent_lowat. Rated high: it weakens the node, not " +
		"just the pod. Pods with spec.os.name: windows are not checked: Windows pods cannot set sysctls.",
	Remediation: "Remove the sysctl from spec.securityContext.sysctls. If the workload depends on it, set it on the " +
		"nodes (for example with a node tuning operator) for a dedicated node pool, after checking its effect on " +
		"everything else that runs there.",
	Kinds: kinds.Pods,
	Object: check.ForPods(func(o *inventory.Object, p *inventory.PodTemplate) []check.Result {
		if windows(p) {
			return nil
		}
		var out []check.Result
		for i, s := range podSecurity(p).Sysctls {
			if safeSysctls[normaliseSysctl(s.Name)] {
				continue
			}
			out = append(out, result(p.At(inventory.Join("securityContext", inventory.Index("sysctls", i), "name")),
				"pod sets sysctl %q, which is outside the Pod Security Standards safe set", s.Name)...)
		}
		return out
	}),
})

// safeSysctls is the Pod Security Standards safe set at the latest policy
// version (pod-security-admission, sysctls check, v1.37).
var safeSysctls = map[string]bool{
	"kernel.shm_rmid_forced":              true,
	"net.ipv4.ip_local_port_range":        true,
	"net.ipv4.ip_local_reserved_ports":    true,
	"net.ipv4.ip_unprivileged_port_start": true,
	"net.ipv4.ping_group_range":           true,
	"net.ipv4.tcp_syncookies":             true,
	"net.ipv4.tcp_keepalive_time":         true,
	"net.ipv4.tcp_keepalive_intvl":        true,
	"net.ipv4.tcp_keepalive_probes":       true,
	"net.ipv4.tcp_fin_timeout":            true,
	"net.ipv4.tcp_rmem":                   true,
	"net.ipv4.tcp_wmem":                   true,
	"net.ipv4.tcp_slow_start_after_idle":  true,
	"net.ipv4.tcp_notsent_lowat":          true,
}

// SafeSysctls returns the Pod Security Standards safe set of sysctls, in
// dotted form (for the admission policy of the check).
func SafeSysctls() []string { return slices.Sorted(maps.Keys(safeSysctls)) }

// normaliseSysctl converts a sysctl name written with slashes
// (net/ipv4/tcp_syncookies) to the dotted form, the way the kubelet does:
// when the first separator is a slash, slashes and dots swap roles.
func normaliseSysctl(name string) string {
	i := strings.IndexAny(name, "./")
	if i < 0 || name[i] == '.' {
		return name
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case '/':
			return '.'
		case '.':
			return '/'
		}
		return r
	}, name)
}
