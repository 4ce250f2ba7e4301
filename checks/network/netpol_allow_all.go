package network

import (
	"fmt"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/checks/internal/netpol"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
)

// NetpolAllowAll is check netpol-allow-all. A NetworkPolicy rule must not admit every peer on every port. An ingress
// (egress) rule is allow-all when it has no ports restriction and either
// lists no from (to) peers, or lists a peer that selects everything: an
// ipBlock whose CIDR has prefix length 0 (0.0.0.0/0, ::/0) and no except,
// or an empty namespaceSelector with no or an empty podSelector.
//
// A rule restricted by ports does not fire, even with an allow-all peer:
// "egress to anywhere on 53" for DNS and "ingress from anywhere on 443" for
// a public web server are deliberate, narrow openings, and the policy still
// constrains every other port. A ports entry that names a protocol but no
// port, or spans the whole range 1-65535, restricts nothing and does not
// count. An ipBlock with an except list is taken as deliberate carving (the
// usual "internet but not the metadata service" egress) and does not fire.
// podSelector {} alone selects only the policy's own namespace: not allow-all.
//
// Only the rules of a direction the policy isolates count (its policyTypes,
// or when omitted Ingress always and Egress if it has egress rules; see
// netpol.Isolates): the ingress rules of a policy with policyTypes [Egress]
// are ignored by the API's semantics, so they admit nothing.
var NetpolAllowAll = registry.Add(&check.Check{
	ID:       "netpol-allow-all",
	Title:    "NetworkPolicy rule allows all traffic",
	Severity: check.High,
	Refs: []check.Ref{
		{Framework: check.CIS, ID: "5.3.2", Title: "Ensure that all Namespaces have NetworkPolicies defined"},
		{Framework: check.NSA, ID: "Network separation and hardening", Title: "Network policies"},
	},
	Description: "A NetworkPolicy rule with no peers, or with a peer matching every address (ipBlock 0.0.0.0/0 or ::/0 " +
		"without except) or every pod of every namespace (empty namespaceSelector), and no port list, admits all " +
		"traffic in that direction. Pods it selects look isolated but are reachable from (or can reach) anything, so an " +
		"attacker who compromises any workload, or anyone on the internet for ipBlock rules, can move laterally into " +
		"them or exfiltrate from them. Rules limited to specific ports are not reported: they are a deliberate, narrow " +
		"opening such as DNS egress. Ports entries naming only a protocol, or spanning 1-65535, are no restriction. Rules of " +
		"a direction the policy does not list in policyTypes are ignored by Kubernetes and not reported either.",
	Remediation: "Replace the catch-all with the peers that actually need access: a podSelector for the client pods, a " +
		"namespaceSelector with labels (for example kubernetes.io/metadata.name) for other namespaces, or an " +
		"ipBlock limited to the networks involved. If the opening is intended, restrict it to the ports the workload serves.",
	Kinds: kinds.List(kinds.NetworkPolicy),
	Object: func(_ *check.Env, o *inventory.Object) []check.Result {
		np, ok := o.Typed.(*networkingv1.NetworkPolicy)
		if !ok {
			return nil
		}
		ingress, egress := netpol.Isolates(np)
		var out []check.Result
		for i, r := range np.Spec.Ingress {
			if ingress {
				out = append(out, allowAllRule(ruleDir{"spec.ingress", "from", "ingress", "admits traffic from"}, i, r.Ports, r.From)...)
			}
		}
		for i, r := range np.Spec.Egress {
			if egress {
				out = append(out, allowAllRule(ruleDir{"spec.egress", "to", "egress", "allows traffic to"}, i, r.Ports, r.To)...)
			}
		}
		return out
	},
})

// ruleDir names the fields and words of one direction of a policy.
type ruleDir struct {
	rules, peers, noun, verb string
}

func allowAllRule(d ruleDir, i int, ports []networkingv1.NetworkPolicyPort, peers []networkingv1.NetworkPolicyPeer) []check.Result {
	open, onPorts := netpol.UnrestrictedPorts(ports)
	if !open {
		return nil
	}
	path := inventory.Index(d.rules, i)
	if len(peers) == 0 {
		everyone := "every source"
		if d.noun == "egress" {
			everyone = "every destination"
		}
		return []check.Result{{Path: path, Message: fmt.Sprintf("%s rule %d %s %s %s: it lists no %s peers", d.noun, i, d.verb, everyone, onPorts, d.peers)}}
	}
	var out []check.Result
	for j, p := range peers {
		field, what := netpol.MatchesAll(p)
		if field == "" {
			continue
		}
		out = append(out, check.Result{
			Path:    inventory.Join(path, inventory.Index(d.peers, j), field),
			Message: fmt.Sprintf("%s rule %d %s %s %s", d.noun, i, d.verb, what, onPorts),
		})
	}
	return out
}
