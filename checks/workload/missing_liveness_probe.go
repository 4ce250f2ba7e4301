package workload

import (
	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
)

// MissingLivenessProbe is check missing-liveness-probe. Every app container and native sidecar (init container with
// restartPolicy: Always) of a long-running pod needs a livenessProbe (see
// needsProbes for the containers and pods that are exempt). A startupProbe
// alone does not count: it stops checking once the container has started.
var MissingLivenessProbe = registry.Add(&check.Check{
	ID:       "missing-liveness-probe",
	Title:    "Container has no liveness probe",
	Severity: check.Low,
	Refs: []check.Ref{
		{Framework: check.NSA, ID: "Network separation and hardening", Title: "Resource policies"},
	},
	Description: "Without a liveness probe the kubelet only notices a container that exits. One that deadlocks, " +
		"exhausts its threads or is wedged by a malicious request keeps its place and its resources while serving " +
		"nothing, and the outage lasts until a human restarts it. Native sidecars (init containers with restartPolicy: " +
		"Always) run for the pod's whole life and are held to the same rule; plain init and ephemeral containers, which " +
		"cannot have probes, and pods that run to completion are exempt. Availability is part of the hardening goal: no " +
		"framework control requires probes, so the reference given is the NSA-CISA guidance on resource availability.",
	Remediation: "Add livenessProbe to the container (for a sidecar, to its entry in initContainers): an httpGet, " +
		"tcpSocket, grpc or exec check that fails only when a restart would help, with a failureThreshold and periodSeconds tolerant enough not to kill a busy but healthy process.",
	Kinds: kinds.Pods,
	Object: check.ForContainers(func(o *inventory.Object, p *inventory.PodTemplate, c inventory.Container) []check.Result {
		if !needsProbes(p, c) || c.LivenessProbe != nil {
			return nil
		}
		return []check.Result{{Path: c.Path, Message: probed(c) + " has no liveness probe"}}
	}),
})
