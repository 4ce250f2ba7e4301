package pod

import (
	"fmt"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
)

// PrivilegedContainer is check privileged-container. A privileged container runs with every capability and every device of
// the host: securityContext.privileged must be unset or false in every
// init, app and ephemeral container.
var PrivilegedContainer = registry.Add(&check.Check{
	ID:       "privileged-container",
	Title:    "Container runs privileged",
	Severity: check.Critical,
	Refs: []check.Ref{
		{Framework: check.CIS, ID: "5.2.2", Title: "Minimize the admission of privileged containers"},
		{Framework: check.NSA, ID: "Kubernetes Pod security", Title: "Pod security enforcement"},
		{Framework: check.PSS, ID: "privileged", Title: "baseline"},
	},
	Description: "A privileged container has all Linux capabilities, sees every host device and is not confined " +
		"by seccomp or AppArmor: anyone who controls its process controls the node, and from there the cluster.",
	Remediation: "Remove securityContext.privileged (or set it to false). Grant only the specific capability the " +
		"workload needs with securityContext.capabilities.add, or move node-level work into a dedicated, audited agent.",
	Kinds: kinds.Pods,
	Object: check.ForContainers(func(o *inventory.Object, p *inventory.PodTemplate, c inventory.Container) []check.Result {
		if sc := c.SecurityContext; sc != nil && sc.Privileged != nil && *sc.Privileged {
			return []check.Result{{Path: c.At("securityContext.privileged"), Message: fmt.Sprintf("%s %q runs privileged", c.Kind.Noun(), c.Name)}}
		}
		return nil
	}),
})
