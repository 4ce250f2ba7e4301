package pod

import (
	"maps"
	"strings"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
)

// DangerousCapabilitiesAdded is check dangerous-capabilities-added. A container of a Linux pod may add no capability but NET_BIND_SERVICE to
// securityContext.capabilities.add (compared without case or CAP_ prefix).
var DangerousCapabilitiesAdded = registry.Add(&check.Check{
	ID:       "dangerous-capabilities-added",
	Title:    "Container adds dangerous capabilities",
	Severity: check.High,
	Refs: []check.Ref{
		{Framework: check.CIS, ID: "5.2.8", Title: "Minimize the admission of containers with the NET_RAW capability"},
		{Framework: check.CIS, ID: "5.2.9", Title: "Minimize the admission of containers with capabilities assigned"},
		{Framework: check.NSA, ID: "Kubernetes Pod security", Title: "Pod security enforcement"},
		{Framework: check.PSS, ID: "capabilities_baseline", Title: "baseline"},
		{Framework: check.PSS, ID: "capabilities_restricted", Title: "restricted"},
	},
	Description: "Each added capability hands the container a slice of root's power over the kernel. Several are known " +
		"container-escape or lateral-movement tools: SYS_ADMIN is nearly privileged, SYS_PTRACE inspects and " +
		"injects into other processes, SYS_MODULE loads kernel code, DAC_READ_SEARCH reads files past permission " +
		"checks, NET_ADMIN and NET_RAW reconfigure or spoof the network, and ALL grants everything. Only " +
		"NET_BIND_SERVICE (binding ports below 1024) is considered harmless. Rated high as an escalation path. " +
		"Names are compared without regard to case or a CAP_ prefix. Pods with spec.os.name: windows are not " +
		"checked: Windows has no Linux capabilities.",
	Remediation: "Remove the capability from securityContext.capabilities.add. Listen on a port above 1024 (or add only " +
		"NET_BIND_SERVICE), and move work that truly needs kernel privileges into a dedicated, audited component " +
		"rather than the application container.",
	Kinds: kinds.Pods,
	Object: check.ForContainers(func(o *inventory.Object, p *inventory.PodTemplate, c inventory.Container) []check.Result {
		caps := security(c).Capabilities
		if windows(p) || caps == nil {
			return nil
		}
		var out []check.Result
		for i, a := range caps.Add {
			name := strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(string(a))), "CAP_")
			if name == "NET_BIND_SERVICE" {
				continue
			}
			msg := who(c) + " adds capability " + string(a)
			if why := capabilityRisk[name]; why != "" {
				msg += " (" + why + ")"
			}
			out = append(out, check.Result{Path: c.At("securityContext.capabilities." + inventory.Index("add", i)), Message: msg})
		}
		return out
	}),
})

// capabilityRisk explains, for messages, what the best-known dangerous
// capabilities allow.
var capabilityRisk = map[string]string{
	"ALL":             "every capability: as good as privileged",
	"SYS_ADMIN":       "mounts, namespaces and much more: nearly privileged",
	"SYS_PTRACE":      "tracing and injecting into other processes",
	"SYS_MODULE":      "loading kernel modules",
	"SYS_RAWIO":       "raw access to I/O ports and devices",
	"SYS_BOOT":        "rebooting the node",
	"SYS_TIME":        "setting the node's clock",
	"DAC_READ_SEARCH": "reading any file past permission checks",
	"DAC_OVERRIDE":    "bypassing file permission checks",
	"NET_ADMIN":       "reconfiguring network interfaces, routes and firewalls",
	"NET_RAW":         "raw sockets: packet forging and spoofing",
	"BPF":             "loading eBPF programs into the kernel",
	"PERFMON":         "kernel performance monitoring",
	"MAC_ADMIN":       "changing the mandatory access control policy",
	"MAC_OVERRIDE":    "bypassing mandatory access control",
	"SETUID":          "switching to any user ID",
	"SETGID":          "switching to any group ID",
	"SETPCAP":         "changing capability sets",
	"SYSLOG":          "reading and controlling the kernel log",
}

// CapabilityRisks returns, by capability name (upper case, without CAP_),
// the explanation dangerous-capabilities-added adds to its messages: for
// renderings of the check in other languages (the generated admission
// policies), which must say the same.
func CapabilityRisks() map[string]string { return maps.Clone(capabilityRisk) }
