package pod

import (
	"strings"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
)

// CapabilitiesNotDropped is check capabilities-not-dropped. Every container of a Linux pod must drop all capabilities:
// securityContext.capabilities.drop must contain "ALL" (spelled exactly so:
// container runtimes only recognise the upper-case word).
var CapabilitiesNotDropped = registry.Add(&check.Check{
	ID:       "capabilities-not-dropped",
	Title:    "Container does not drop all capabilities",
	Severity: check.Medium,
	Refs: []check.Ref{
		{Framework: check.CIS, ID: "5.2.8", Title: "Minimize the admission of containers with the NET_RAW capability"},
		{Framework: check.CIS, ID: "5.2.9", Title: "Minimize the admission of containers with capabilities assigned"},
		{Framework: check.NSA, ID: "Kubernetes Pod security", Title: "Pod security enforcement"},
		{Framework: check.PSS, ID: "capabilities_restricted", Title: "restricted"},
	},
	Description: "Container runtimes grant a default set of Linux capabilities - among them NET_RAW (forging packets " +
		"and spoofing on the pod network), CHOWN, DAC_OVERRIDE, SETUID and SETGID - that almost no application needs " +
		"and that widen what an intruder can do and which kernel code it can reach. Dropping ALL removes them; the " +
		"few a workload needs can be added back by name. Rated medium: defence in depth rather than an escalation " +
		"path of its own. Only the exact word ALL counts, as runtimes ignore other spellings. Pods with " +
		"spec.os.name: windows are not checked: Windows has no Linux capabilities.",
	Remediation: "Set securityContext.capabilities.drop: [\"ALL\"] on every container and add back only what is needed " +
		"(for example NET_BIND_SERVICE to listen on a port below 1024) with capabilities.add.",
	Kinds: kinds.Pods,
	Object: check.ForContainers(func(o *inventory.Object, p *inventory.PodTemplate, c inventory.Container) []check.Result {
		if windows(p) {
			return nil
		}
		caps := security(c).Capabilities
		if caps == nil || len(caps.Drop) == 0 {
			// An empty list is no list: the API server stores neither, so
			// both are reported on the container.
			if caps != nil && caps.Drop != nil {
				return result(c.Path, "%s has an empty capabilities.drop list: add \"ALL\"", who(c))
			}
			return result(c.Path, "%s does not drop capabilities: set securityContext.capabilities.drop: [\"ALL\"]", who(c))
		}
		for _, d := range caps.Drop {
			if d == "ALL" {
				return nil
			}
		}
		for _, d := range caps.Drop {
			if n := strings.ToUpper(string(d)); n == "ALL" || n == "CAP_ALL" {
				return result(c.At("securityContext.capabilities.drop"), "%s drops %q, which container runtimes do not read as ALL: spell it ALL", who(c), d)
			}
		}
		return result(c.At("securityContext.capabilities.drop"), "%s drops %s but not ALL, so it keeps the rest of the runtime's default capabilities", who(c), capList(caps.Drop))
	}),
})
