// Package netpol holds NetworkPolicy semantics shared by checks in more
// than one domain: which directions a policy isolates, and which rules
// admit every peer on every port.
package netpol

import (
	"fmt"
	"net"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Isolates reports the directions for which a policy isolates the pods it
// selects: the directions listed in policyTypes or, when policyTypes is
// omitted, Ingress always and Egress only if the policy has egress rules
// (the API server's defaulting). A policy affects no other direction:
// selecting a pod with policyTypes [Egress] leaves its ingress open, and the
// rules of a direction the policy does not isolate are ignored.
func Isolates(np *networkingv1.NetworkPolicy) (ingress, egress bool) {
	types := np.Spec.PolicyTypes
	if len(types) == 0 {
		return true, len(np.Spec.Egress) > 0
	}
	for _, t := range types {
		ingress = ingress || t == networkingv1.PolicyTypeIngress
		egress = egress || t == networkingv1.PolicyTypeEgress
	}
	return ingress, egress
}

// UnrestrictedPorts reports whether a rule's ports leave every port open,
// and how to say so.
func UnrestrictedPorts(ports []networkingv1.NetworkPolicyPort) (bool, string) {
	if len(ports) == 0 {
		return true, "on every port"
	}
	for _, p := range ports {
		whole := p.Port == nil ||
			(p.Port.Type == intstr.Int && p.Port.IntVal <= 1 && p.EndPort != nil && *p.EndPort >= 65535)
		if whole {
			proto := "TCP"
			if p.Protocol != nil && *p.Protocol != "" {
				proto = string(*p.Protocol)
			}
			return true, fmt.Sprintf("on every %s port", proto)
		}
	}
	return false, ""
}

// MatchesAll returns the field of a peer that makes it select everything,
// relative to the peer, and a description; "" when the peer is narrower.
func MatchesAll(p networkingv1.NetworkPolicyPeer) (field, what string) {
	if b := p.IPBlock; b != nil {
		_, n, err := net.ParseCIDR(strings.TrimSpace(b.CIDR))
		if err != nil || len(b.Except) > 0 {
			return "", ""
		}
		if ones, _ := n.Mask.Size(); ones != 0 {
			return "", ""
		}
		family := "IPv6"
		if n.IP.To4() != nil {
			family = "IPv4"
		}
		return "ipBlock.cidr", fmt.Sprintf("every %s address (ipBlock %s without except)", family, b.CIDR)
	}
	if EmptySelector(p.NamespaceSelector) && (p.PodSelector == nil || EmptySelector(p.PodSelector)) {
		return "namespaceSelector", "every pod of every namespace (empty namespaceSelector)"
	}
	return "", ""
}

// EmptySelector reports whether a selector is present and selects everything.
func EmptySelector(s *metav1.LabelSelector) bool {
	return s != nil && len(s.MatchLabels) == 0 && len(s.MatchExpressions) == 0
}

// AdmitsAll reports whether a rule with these ports and peers admits every
// peer on every port: no peers, or a peer that selects everything.
func AdmitsAll(ports []networkingv1.NetworkPolicyPort, peers []networkingv1.NetworkPolicyPeer) bool {
	if open, _ := UnrestrictedPorts(ports); !open {
		return false
	}
	if len(peers) == 0 {
		return true
	}
	for _, p := range peers {
		if f, _ := MatchesAll(p); f != "" {
			return true
		}
	}
	return false
}
