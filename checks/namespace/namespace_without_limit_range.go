package namespace

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
)

// NamespaceWithoutLimitRange is check namespace-without-limit-range. Every namespace of a cluster must hold a LimitRange that bounds its pods:
// an item of type Container setting default, defaultRequest or max, or an
// item of type Pod setting max. Items that only set min or
// maxLimitRequestRatio, or only constrain PersistentVolumeClaims, leave a
// container that declares nothing unbounded and do not count.
//
// Low severity: a LimitRange only fills in and caps per-container values;
// the namespace-wide bound is the ResourceQuota, which
// namespace-without-resource-quota checks, and missing requests and limits
// are reported on the workloads themselves.
//
// Cluster-wide (NeedsCluster): only a complete inventory can say a
// namespace has no LimitRange. kube-system, kube-public and kube-node-lease
// are exempt and Terminating namespaces skipped; see coverage.go for why.
var NamespaceWithoutLimitRange = registry.Add(&check.Check{
	ID:       "namespace-without-limit-range",
	Title:    "Namespace has no LimitRange",
	Severity: check.Low,
	Refs: []check.Ref{
		{Framework: check.NSA, ID: "Network separation and hardening", Title: "Resource policies"},
	},
	Description: "A LimitRange gives containers that declare no CPU or memory requests and limits a default, and caps " +
		"what a single container or pod may ask for. Without one, a container deployed without limits can use a whole " +
		"node's CPU and memory and starve its neighbours, and with a ResourceQuota in place such containers are rejected " +
		"outright instead of receiving sane defaults. Only items of type Container that set default, defaultRequest or " +
		"max, or of type Pod that set max, count. Low severity: the namespace-wide bound is the ResourceQuota. Only " +
		"reported on live cluster scans, where the inventory is complete. kube-system, kube-public and kube-node-lease " +
		"are exempt: the control-plane add-ons there are sized by the distribution and cannot be constrained by users " +
		"without risk to the cluster; they are protected by RBAC and Pod Security admission instead. Namespaces being " +
		"deleted are skipped.",
	Remediation: "Create a LimitRange in the namespace with a limits item of type Container that sets defaultRequest " +
		"and default for cpu and memory (the values a container without its own gets) and max (the most one container " +
		"may ask for).",
	Kinds:        kinds.List(kinds.Namespace, kinds.LimitRange),
	NeedsCluster: true,
	Set: func(*check.Env) check.SetEval {
		return newCoverage([]string{"limits"}, boundsPods, func(name, _ string, present int) string {
			why := "it has no LimitRange"
			if present > 0 {
				why = fmt.Sprintf("%s set%s no default or max for containers or pods", its(present, "LimitRange", "LimitRanges"), plural(present, "s", ""))
			}
			return fmt.Sprintf("namespace %q has no default or maximum container resources (%s): a container that declares no limits runs unbounded", name, why)
		})
	},
})

// boundsPods reports whether o is a LimitRange with an item that gives
// containers defaults or caps containers or pods.
func boundsPods(o *inventory.Object) uint {
	lr, ok := o.Typed.(*corev1.LimitRange)
	if !ok {
		return 0
	}
	for _, it := range lr.Spec.Limits {
		switch it.Type {
		case corev1.LimitTypeContainer:
			if len(it.Default) > 0 || len(it.DefaultRequest) > 0 || len(it.Max) > 0 {
				return 1
			}
		case corev1.LimitTypePod:
			if len(it.Max) > 0 {
				return 1
			}
		}
	}
	return 0
}
