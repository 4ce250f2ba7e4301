package workload

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/kubeharden/kubeharden/inventory"
)

// needsProbes reports whether a container is expected to carry liveness
// and readiness probes: an app container of a pod that keeps running.
//
// Pods that run to completion (Jobs, CronJobs, pods whose restartPolicy is
// Never or OnFailure) are exempt, as are plain init containers (probes are
// not allowed there) and ephemeral containers (likewise). Restartable
// sidecar init containers may carry probes but are exempt too: they are
// usually third-party helpers (proxies, log shippers) whose health the pod
// author does not define, and the app containers' probes already cover
// the pod.
func needsProbes(p *inventory.PodTemplate, c inventory.Container) bool {
	if c.Kind != inventory.AppContainer || p.RunsToCompletion {
		return false
	}
	switch p.Spec.RestartPolicy {
	case corev1.RestartPolicyNever, corev1.RestartPolicyOnFailure:
		return false
	}
	return true
}
