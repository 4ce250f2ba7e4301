package namespace

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/checks/internal/sysns"
	"github.com/kubeharden/kubeharden/inventory"
)

// This file holds what the namespace coverage checks share
// (namespace-without-resource-quota, namespace-without-limit-range,
// namespace-without-default-deny). They are cluster-wide checks: "no
// ResourceQuota in this namespace" is only true of a complete inventory,
// so they are NeedsCluster and never run on a set of manifests.
//
// Decisions common to all three:
//
//   - kube-system, kube-public and kube-node-lease are exempt. The cluster
//     creates them and its control-plane add-ons live there (CNI, DNS,
//     kube-proxy, CSI drivers, node leases). Their resource needs and
//     traffic are dictated by the distribution, not by the cluster's
//     users: a quota or limit range sized by hand can keep a system pod
//     from being scheduled, and a default-deny policy cuts DNS or node
//     heartbeats and breaks the cluster. These namespaces are protected by
//     RBAC (who may create anything there) and, for the API surface, by
//     Pod Security admission, which namespace-without-pss-enforce checks.
//   - A namespace being deleted (status.phase Terminating, or a
//     deletionTimestamp) is skipped: it accepts no new pods, and adding a
//     quota or policy to it is neither possible nor useful.
//   - Namespaces are told apart by Origin.Context as well as by name, so
//     that scanning several clusters at once never lets one cluster's
//     quota or policy cover another cluster's namespace of the same name.
//   - Each finding is pinned, while the Namespace is at hand, to its
//     metadata.name.

// nsKey names a namespace of one scanned cluster.
type nsKey struct{ context, name string }

// terminating reports whether a namespace is being deleted.
func terminating(ns *corev1.Namespace) bool {
	return ns.Status.Phase == corev1.NamespaceTerminating || ns.DeletionTimestamp != nil
}

// coverage is the evaluation the coverage checks share: it pins every
// Namespace that is not exempt, records which protections the other
// observed objects give their namespace, and at the end reports each
// protection a namespace lacks.
type coverage struct {
	// aspects names the protections looked for (one bit each): a single
	// one for a quota, Ingress and Egress for default-deny policies.
	aspects []string
	// protects returns the bits of the aspects an object (of a kind other
	// than Namespace) gives its namespace.
	protects func(o *inventory.Object) uint
	// gap words the finding for namespace name lacking aspect; present is
	// how many objects of the protecting kind the namespace holds.
	gap func(name, aspect string, present int) string

	namespaces []pinnedNamespace
	pinned     map[nsKey]bool
	covered    map[nsKey]uint
	present    map[nsKey]int
}

type pinnedNamespace struct {
	key    nsKey
	target *check.Target
}

func newCoverage(aspects []string, protects func(o *inventory.Object) uint, gap func(name, aspect string, present int) string) *coverage {
	return &coverage{
		aspects:  aspects,
		protects: protects,
		gap:      gap,
		pinned:   map[nsKey]bool{},
		covered:  map[nsKey]uint{},
		present:  map[nsKey]int{},
	}
}

func (c *coverage) Observe(o *inventory.Object) {
	if o.Kind != "Namespace" {
		k := nsKey{o.Origin.Context, o.Namespace}
		c.present[k]++
		c.covered[k] |= c.protects(o)
		return
	}
	ns, ok := o.Typed.(*corev1.Namespace)
	if !ok || sysns.Exempt(ns.Name) || terminating(ns) {
		return
	}
	k := nsKey{o.Origin.Context, ns.Name}
	if c.pinned[k] {
		return
	}
	c.pinned[k] = true
	c.namespaces = append(c.namespaces, pinnedNamespace{key: k, target: check.Pin(o, "metadata.name")})
}

func (c *coverage) Finish(report func(t *check.Target, r check.Result)) {
	for _, n := range c.namespaces {
		for i, a := range c.aspects {
			if c.covered[n.key]&(1<<i) != 0 {
				continue
			}
			report(n.target, check.Result{Path: "metadata.name", Message: c.gap(n.key.name, a, c.present[n.key])})
		}
	}
}

// its renders "its only LimitRange", "its 2 LimitRanges".
func its(n int, one, many string) string {
	if n == 1 {
		return "its only " + one
	}
	return fmt.Sprintf("its %d %s", n, many)
}

// plural picks the word ending for one or many.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
