package workload

import (
	"fmt"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
)

// MissingReadinessProbe is check missing-readiness-probe. Every app container of a long-running pod needs a readinessProbe (see
// needsProbes for the containers and pods that are exempt).
var MissingReadinessProbe = registry.Add(&check.Check{
	ID:       "missing-readiness-probe",
	Title:    "Container has no readiness probe",
	Severity: check.Low,
	Refs: []check.Ref{
		{Framework: check.NSA, ID: "Network separation and hardening", Title: "Resource policies"},
	},
	Description: "Without a readiness probe a container counts as ready the moment it starts: Services send it traffic " +
		"before it can serve, a rolling update replaces healthy pods with broken ones without pausing, and an overloaded " +
		"instance is never taken out of rotation. No framework control requires probes; the reference given is the " +
		"NSA-CISA guidance on resource availability.",
	Remediation: "Add readinessProbe to the container, checking that it can actually serve (an HTTP health endpoint, a " +
		"TCP or gRPC check), so Kubernetes routes traffic and paces rollouts by real readiness.",
	Kinds: kinds.Pods,
	Object: check.ForContainers(func(o *inventory.Object, p *inventory.PodTemplate, c inventory.Container) []check.Result {
		if !needsProbes(p, c) || c.ReadinessProbe != nil {
			return nil
		}
		return []check.Result{{Path: c.Path, Message: fmt.Sprintf("%s %q has no readiness probe", c.Kind.Noun(), c.Name)}}
	}),
})
