package workload

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubeharden/kubeharden/inventory"
)

// needsProbes reports whether a container is expected to carry liveness
// and readiness probes: an app container or a native sidecar of a pod that
// keeps running.
//
// A native sidecar is an init container with restartPolicy: Always
// (Kubernetes 1.28+). It starts before the app containers and runs for the
// pod's whole life, the kubelet restarts it when it exits, and it accepts
// liveness, readiness and startup probes like an app container: its
// readiness counts towards the pod's, and without a liveness probe a
// wedged proxy or log shipper stays in place, taking the pod's traffic or
// telemetry down with it. So it is held to the same rule.
//
// Pods that run to completion (Jobs, CronJobs, pods whose restartPolicy is
// Never or OnFailure) are exempt, sidecars included: their pods end when
// the work does. Plain init containers are exempt (they run to completion
// and the API server rejects probes on them), as are ephemeral containers
// (likewise).
func needsProbes(p *inventory.PodTemplate, c inventory.Container) bool {
	if p.RunsToCompletion {
		return false
	}
	switch p.Spec.RestartPolicy {
	case corev1.RestartPolicyNever, corev1.RestartPolicyOnFailure:
		return false
	}
	return c.Kind == inventory.AppContainer || (c.Kind == inventory.InitContainer && c.Sidecar)
}

// probed names a container that needs probes for messages:
// `container "web"`, `sidecar container "proxy"`. A sidecar is named as
// such rather than as an init container, since plain init containers
// cannot have probes at all.
func probed(c inventory.Container) string {
	if c.Kind == inventory.InitContainer && c.Sidecar {
		return fmt.Sprintf("sidecar container %q", c.Name)
	}
	return fmt.Sprintf("%s %q", c.Kind.Noun(), c.Name)
}
