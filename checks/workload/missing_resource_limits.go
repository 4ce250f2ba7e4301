package workload

import (
	"fmt"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
)

// MissingResourceLimits is check missing-resource-limits. Every init and app container needs a CPU and a memory limit, either its
// own or the pod-level one (spec.resources.limits), which caps all
// containers together. Ephemeral containers are exempt: the API does not
// let them set resources. A zero quantity counts as no limit.
var MissingResourceLimits = registry.Add(&check.Check{
	ID:       "missing-resource-limits",
	Title:    "Container has no CPU or memory limit",
	Severity: check.Medium,
	Refs: []check.Ref{
		{Framework: check.NSA, ID: "Network separation and hardening", Title: "Resource policies"},
	},
	Description: "Without a memory limit a container can grow until the node runs out of memory and the kernel starts " +
		"killing other pods, system daemons included; without a CPU limit it can starve its neighbours. A compromised or " +
		"buggy workload (a crypto miner, a memory leak, a request flood) then degrades everything scheduled beside it.",
	Remediation: "Set resources.limits.memory and resources.limits.cpu on each container (or spec.resources.limits for " +
		"the whole pod) from observed usage, and give namespaces a LimitRange with defaults so nothing runs unbounded.",
	Kinds: kinds.Pods,
	Object: check.ForContainers(func(o *inventory.Object, p *inventory.PodTemplate, c inventory.Container) []check.Result {
		if c.Kind == inventory.EphemeralContainer {
			return nil
		}
		_, podLimits := podResources(p)
		missing := unset(c.Resources.Limits, podLimits)
		if len(missing) == 0 {
			return nil
		}
		return []check.Result{{
			Path:    resourcesPath(c, "limits", c.Resources.Limits),
			Message: fmt.Sprintf("%s %q has no %s limit", c.Kind.Noun(), c.Name, resourceWords(missing)),
		}}
	}),
})
