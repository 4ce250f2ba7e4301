package pod

import (
	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
)

// HostPort is check host-port. No container port may be bound to a port of the node: every hostPort
// must be unset or 0.
var HostPort = registry.Add(&check.Check{
	ID:       "host-port",
	Title:    "Container binds a host port",
	Severity: check.Medium,
	Refs: []check.Ref{
		{Framework: check.CIS, ID: "5.2.12", Title: "Minimize the admission of containers which use HostPorts"},
		{Framework: check.NSA, ID: "Kubernetes Pod security", Title: "Pod security enforcement"},
		{Framework: check.PSS, ID: "hostPorts", Title: "baseline"},
	},
	Description: "A hostPort publishes the container on that port of every node it is scheduled to, outside of " +
		"Services and usually past NetworkPolicy, widening the workload's exposure to anything that can reach the " +
		"node; it can also claim a port a node service expects and intercept its traffic. It also pins scheduling " +
		"to nodes where the port is free. Rated medium: it exposes the workload but grants the container no " +
		"privilege on the node.",
	Remediation: "Remove hostPort from the container's ports and expose the workload through a Service (ClusterIP, " +
		"NodePort or LoadBalancer) or an Ingress.",
	Kinds: kinds.Pods,
	Object: check.ForContainers(func(o *inventory.Object, p *inventory.PodTemplate, c inventory.Container) []check.Result {
		var out []check.Result
		for i, port := range c.Ports {
			if port.HostPort == 0 {
				continue
			}
			out = append(out, result(c.At(inventory.Join(inventory.Index("ports", i), "hostPort")),
				"%s binds node port %d (containerPort %d)", who(c), port.HostPort, port.ContainerPort)...)
		}
		return out
	}),
})
