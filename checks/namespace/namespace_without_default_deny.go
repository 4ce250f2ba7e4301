package namespace

import (
	"fmt"
	"slices"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/checks/internal/netpol"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
)

// NamespaceWithoutDefaultDeny is check namespace-without-default-deny. Every namespace of a cluster must isolate all its pods by default, for
// Ingress and, separately, for Egress. A namespace is default-deny for a
// direction when one of its NetworkPolicies
//
//   - has an empty podSelector ({}), so it selects every pod;
//   - has the direction among its effective policyTypes: the listed ones,
//     or when policyTypes is omitted, Ingress always and Egress only if
//     the policy has egress rules (the API server's defaulting);
//   - has no rule of that direction that admits everything, with the
//     semantics of netpol-allow-all: a rule without a ports restriction
//     (none, or only entries naming a protocol without a port or spanning
//     1-65535) whose peers are absent or include one matching everything
//     (an ipBlock of prefix length 0 without except, or an empty
//     namespaceSelector with no or an empty podSelector).
//
// Rules allowing specific peers or ports keep the policy default-deny: the
// pods are isolated and only what is listed gets through. One finding per
// missing direction, on the Namespace's metadata.name.
//
// Cluster-wide (NeedsCluster): only a complete inventory can say a
// namespace has no such policy. kube-system, kube-public and
// kube-node-lease are exempt and Terminating namespaces skipped; see
// coverage.go for why.
var NamespaceWithoutDefaultDeny = registry.Add(&check.Check{
	ID:       "namespace-without-default-deny",
	Title:    "Namespace has no default-deny NetworkPolicy",
	Severity: check.Medium,
	Refs: []check.Ref{
		{Framework: check.CIS, ID: "5.3.2", Title: "Ensure that all Namespaces have NetworkPolicies defined"},
		{Framework: check.NSA, ID: "Network separation and hardening", Title: "Network policies"},
	},
	Description: "Pods accept traffic from, and send traffic to, anything until a NetworkPolicy selects them. A default-deny " +
		"policy (podSelector: {} with the direction in policyTypes and no rule admitting everything) isolates every pod " +
		"of the namespace, present and future, so only the flows allowed by explicit policies get through. Without one " +
		"for Ingress, every new or mislabelled workload is reachable from any compromised pod in the cluster; without " +
		"one for Egress, a compromised pod can reach the cloud metadata service, other namespaces and the internet to " +
		"move laterally or exfiltrate data. Each missing direction is reported separately. Only reported on live " +
		"cluster scans, where the inventory is complete. kube-system, kube-public and kube-node-lease are exempt: " +
		"isolating them cuts DNS, node heartbeats or CNI traffic the control plane depends on, which users cannot " +
		"safely re-allow; they are protected by RBAC and Pod Security admission instead. Namespaces being deleted are " +
		"skipped.",
	Remediation: "Add a NetworkPolicy to the namespace with podSelector: {} and policyTypes: [Ingress, Egress] (no rules, " +
		"or only narrow ones such as egress to the cluster DNS on port 53), then add policies allowing the specific " +
		"flows each workload needs.",
	Kinds:        kinds.List(kinds.Namespace, kinds.NetworkPolicy),
	NeedsCluster: true,
	Set: func(*check.Env) check.SetEval {
		return newCoverage([]string{"Ingress", "Egress"}, defaultDeny, func(name, dir string, present int) string {
			effect := "pods no NetworkPolicy selects accept connections from any pod or address"
			if dir == "Egress" {
				effect = "pods no NetworkPolicy selects can connect to any pod or address"
			}
			why := "it has no NetworkPolicy"
			switch {
			case present == 1:
				why = fmt.Sprintf("its only NetworkPolicy does not select every pod for %s without an allow-all rule", dir)
			case present > 1:
				why = fmt.Sprintf("none of its %d NetworkPolicies selects every pod for %s without an allow-all rule", present, dir)
			}
			return fmt.Sprintf("namespace %q has no default-deny NetworkPolicy for %s (%s): %s", name, dir, why, effect)
		})
	},
})

// The aspects of namespace-without-default-deny, as coverage bits.
const (
	denyIngress uint = 1 << iota
	denyEgress
)

// defaultDeny returns the directions for which o is a default-deny
// NetworkPolicy.
func defaultDeny(o *inventory.Object) uint {
	np, ok := o.Typed.(*networkingv1.NetworkPolicy)
	if !ok {
		return 0
	}
	s := np.Spec
	if len(s.PodSelector.MatchLabels) > 0 || len(s.PodSelector.MatchExpressions) > 0 {
		return 0
	}
	ingress, egress := netpol.Isolates(np)
	var out uint
	if ingress && !slices.ContainsFunc(s.Ingress, func(r networkingv1.NetworkPolicyIngressRule) bool { return netpol.AdmitsAll(r.Ports, r.From) }) {
		out |= denyIngress
	}
	if egress && !slices.ContainsFunc(s.Egress, func(r networkingv1.NetworkPolicyEgressRule) bool { return netpol.AdmitsAll(r.Ports, r.To) }) {
		out |= denyEgress
	}
	return out
}
