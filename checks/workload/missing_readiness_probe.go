package workload

import (
	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
)

// MissingReadinessProbe is check missing-readiness-probe. Every app container and native sidecar (init container with
// restartPolicy: Always) of a long-running pod needs a readinessProbe (see
// needsProbes for the containers and pods that are exempt): a sidecar's
// readiness counts towards the pod's.
var MissingReadinessProbe = registry.Add(&check.Check{
	ID:       "missing-readiness-probe",
	Title:    "Container has no readiness probe",
	Severity: check.Low,
	Refs: []check.Ref{
		{Framework: check.NSA, ID: "Network separation and hardening", Title: "Resource policies"},
	},
	Description: "Without a readiness probe a container counts as ready the moment it starts: Services send it traffic " +
		"before it can serve, a rolling update replaces healthy pods with broken ones without pausing, and an overloaded " +
		"instance is never taken out of rotation. Native sidecars (init containers with restartPolicy: Always) run for " +
		"the pod's whole life and their readiness counts towards the pod's, so they are held to the same rule; plain " +
		"init and ephemeral containers, which cannot have probes, and pods that run to completion are exempt. No " +
		"framework control requires probes; the reference given is the NSA-CISA guidance on resource availability.",
	Remediation: "Add readinessProbe to the container (for a sidecar, to its entry in initContainers), checking that " +
		"it can actually serve (an HTTP health endpoint, a TCP or gRPC check), so Kubernetes routes traffic and paces " +
		"rollouts by real readiness.",
	Kinds: kinds.Pods,
	Object: check.ForContainers(func(o *inventory.Object, p *inventory.PodTemplate, c inventory.Container) []check.Result {
		if !needsProbes(p, c) || c.ReadinessProbe != nil {
			return nil
		}
		return []check.Result{{Path: c.Path, Message: probed(c) + " has no readiness probe"}}
	}),
})
