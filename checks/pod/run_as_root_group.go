package pod

import (
	"fmt"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
)

// RunAsRootGroup is check run-as-root-group. No container may run with
// group 0 as its primary group (runAsGroup: 0 on the container, or
// inherited from the pod), and the pod may not give its processes group 0
// as a supplemental group (fsGroup: 0, supplementalGroups containing 0).
// This is the group side of run-as-root, which judges the user alone.
// Pods in their own user namespace (hostUsers: false) are exempt.
var RunAsRootGroup = registry.Add(&check.Check{
	ID:       "run-as-root-group",
	Title:    "Container runs with the root group",
	Severity: check.Low,
	Refs: []check.Ref{
		{Framework: check.CIS, ID: "5.6.3", Title: "Apply SecurityContext to your Pods and Containers"},
		{Framework: check.NSA, ID: "Kubernetes Pod security", Title: `"Non-root" containers and "rootless" container engines`},
	},
	Description: "Group 0 is the root group on the node. A process whose primary or supplemental group is 0 can read and " +
		"write every file that is group-owned by root and group-writable: many files of container images and of host " +
		"paths a volume exposes. fsGroup: 0 also makes the kubelet hand the pod's volumes to group 0. Even with a " +
		"non-root user this widens what a compromised container can touch, so it is reported, at low severity since a " +
		"non-root user is still not root.",
	Remediation: "Set securityContext.runAsGroup and fsGroup to a non-zero GID (for example the same as runAsUser), and " +
		"remove 0 from supplementalGroups. Where an image needs files of group 0, change their group at build time.",
	Kinds: kinds.Pods,
	Object: check.ForPods(func(o *inventory.Object, p *inventory.PodTemplate) []check.Result {
		if userNamespaced(p) {
			return nil
		}
		ps := podSecurity(p)
		var out []check.Result
		if ps.FSGroup != nil && *ps.FSGroup == 0 {
			out = append(out, check.Result{Path: p.At("securityContext.fsGroup"),
				Message: "the pod sets fsGroup: 0: its volumes are owned by group 0 (root) and every container runs with it as a supplemental group"})
		}
		for i, g := range ps.SupplementalGroups {
			if g == 0 {
				out = append(out, check.Result{Path: p.At(inventory.Index("securityContext.supplementalGroups", i)),
					Message: "supplementalGroups includes 0: every container of the pod runs with the root group"})
			}
		}
		p.Containers(func(c inventory.Container) {
			cs := security(c)
			switch {
			case cs.RunAsGroup != nil && *cs.RunAsGroup == 0:
				out = append(out, check.Result{Path: c.At("securityContext.runAsGroup"),
					Message: fmt.Sprintf("%s sets runAsGroup: 0 and runs with the root group", who(c))})
			case cs.RunAsGroup == nil && ps.RunAsGroup != nil && *ps.RunAsGroup == 0:
				out = append(out, check.Result{Path: c.Path,
					Message: fmt.Sprintf("%s runs with the root group: it inherits runAsGroup: 0 from the pod securityContext", who(c))})
			}
		})
		return out
	}),
})
