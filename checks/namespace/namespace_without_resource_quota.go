package namespace

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
)

// NamespaceWithoutResourceQuota is check namespace-without-resource-quota. Every namespace of a cluster must hold a ResourceQuota that sets at least
// one hard limit. A ResourceQuota without spec.hard limits nothing and does
// not count; a quota restricted by scopes (BestEffort, a PriorityClass...)
// does, since it still caps something. Which resources a quota should
// cover is left to its author: a cap on object counts is a deliberate
// defence too.
//
// Cluster-wide (NeedsCluster): only a complete inventory can say a
// namespace has no quota. kube-system, kube-public and kube-node-lease are
// exempt and Terminating namespaces skipped; see coverage.go for why.
var NamespaceWithoutResourceQuota = registry.Add(&check.Check{
	ID:       "namespace-without-resource-quota",
	Title:    "Namespace has no ResourceQuota",
	Severity: check.Medium,
	Refs: []check.Ref{
		{Framework: check.NSA, ID: "Network separation and hardening", Title: "Resource policies"},
	},
	Description: "A ResourceQuota caps what a namespace can claim in total: CPU, memory, storage, and the number of pods, " +
		"Services, Secrets and other objects. Without one, a single workload that leaks, scales out of control or is " +
		"taken over (a crypto-miner, a fork bomb of Jobs) can exhaust the nodes and starve every other namespace, and a " +
		"compromised account can create objects until etcd or the API server suffers. A ResourceQuota without hard " +
		"limits does not count. Only reported on live cluster scans, where the inventory is complete. kube-system, " +
		"kube-public and kube-node-lease are exempt: the control-plane add-ons there are sized by the distribution and " +
		"a hand-made quota can keep them from starting; they are protected by RBAC and Pod Security admission instead. " +
		"Namespaces being deleted are skipped.",
	Remediation: "Create a ResourceQuota in the namespace with spec.hard set for at least requests.cpu, requests.memory, " +
		"limits.cpu, limits.memory and pods (and count/* limits for objects the team creates), sized from the " +
		"namespace's actual use plus headroom. Pair it with a LimitRange so that containers without requests and limits " +
		"are still admitted under the quota.",
	Kinds:        kinds.List(kinds.Namespace, kinds.ResourceQuota),
	NeedsCluster: true,
	Set: func(*check.Env) check.SetEval {
		return newCoverage([]string{"quota"}, hardQuota, func(name, _ string, present int) string {
			why := "it has no ResourceQuota"
			if present > 0 {
				why = fmt.Sprintf("%s set%s no hard limits", its(present, "ResourceQuota", "ResourceQuotas"), plural(present, "s", ""))
			}
			return fmt.Sprintf("namespace %q is not bounded by a ResourceQuota (%s): its workloads can consume CPU, memory and objects without limit", name, why)
		})
	},
})

// hardQuota reports whether o is a ResourceQuota that sets hard limits.
func hardQuota(o *inventory.Object) uint {
	if q, ok := o.Typed.(*corev1.ResourceQuota); ok && len(q.Spec.Hard) > 0 {
		return 1
	}
	return 0
}
