package network

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
)

// ServiceExternalIPs is check service-external-ips. A Service must not set spec.externalIPs: kube-proxy then captures traffic
// to those addresses on every node, whoever owns them (CVE-2020-8554). Any
// Service with a non-empty list fires, whatever its type.
var ServiceExternalIPs = registry.Add(&check.Check{
	ID:       "service-external-ips",
	Title:    "Service sets externalIPs",
	Severity: check.High,
	Refs: []check.Ref{
		{Framework: check.NSA, ID: "Network separation and hardening", Title: "Network policies"},
	},
	Description: "kube-proxy routes traffic addressed to a Service's externalIPs to that Service's pods, from every node " +
		"and every pod, without checking that the addresses belong to the Service owner. Anyone who can create a " +
		"Service can claim the IP of a database, an API or a DNS server and intercept the cluster's traffic to it " +
		"(CVE-2020-8554, a man-in-the-middle by design that Kubernetes will not fix). Legitimate uses are rare and " +
		"better served by LoadBalancer Services.",
	Remediation: "Remove spec.externalIPs and expose the Service through a LoadBalancer Service or an Ingress. Enable the " +
		"DenyServiceExternalIPs admission plugin, or an admission policy allowing only vetted addresses, so that the " +
		"field cannot be set again.",
	Kinds: kinds.List(kinds.Service),
	Object: func(_ *check.Env, o *inventory.Object) []check.Result {
		svc, ok := o.Typed.(*corev1.Service)
		if !ok || len(svc.Spec.ExternalIPs) == 0 {
			return nil
		}
		return []check.Result{{
			Path:    "spec.externalIPs",
			Message: fmt.Sprintf("Service claims external IPs %s: traffic to them from any node or pod is redirected to it", strings.Join(svc.Spec.ExternalIPs, ", ")),
		}}
	},
})
