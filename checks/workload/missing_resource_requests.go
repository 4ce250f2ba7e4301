package workload

import (
	"fmt"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
)

// MissingResourceRequests is check missing-resource-requests. Every init and app container needs a CPU and a memory request. A request
// is satisfied by the container's own request, by its limit (the API server
// copies a limit into a missing request), or by the pod-level
// spec.resources requests or limits. Ephemeral containers are exempt: the
// API does not let them set resources. A zero quantity counts as no request.
var MissingResourceRequests = registry.Add(&check.Check{
	ID:       "missing-resource-requests",
	Title:    "Container has no CPU or memory request",
	Severity: check.Low,
	Refs: []check.Ref{
		{Framework: check.NSA, ID: "Network separation and hardening", Title: "Resource policies"},
	},
	Description: "The scheduler places pods by their requests. A container that requests nothing is scheduled as if it " +
		"used nothing, so nodes are overcommitted, and under memory pressure its pod is among the first evicted " +
		"(BestEffort or low-priority Burstable). Namespace quotas on requests cannot account for it either.",
	Remediation: "Set resources.requests.cpu and resources.requests.memory on each container (or spec.resources.requests " +
		"for the whole pod) to the usage it needs to run normally.",
	Kinds: kinds.Pods,
	Object: check.ForContainers(func(o *inventory.Object, p *inventory.PodTemplate, c inventory.Container) []check.Result {
		if c.Kind == inventory.EphemeralContainer {
			return nil
		}
		podRequests, podLimits := podResources(p)
		missing := unset(c.Resources.Requests, c.Resources.Limits, podRequests, podLimits)
		if len(missing) == 0 {
			return nil
		}
		return []check.Result{{
			Path:    resourcesPath(c, "requests", c.Resources.Requests),
			Message: fmt.Sprintf("%s %q has no %s request", c.Kind.Noun(), c.Name, resourceWords(missing)),
		}}
	}),
})
