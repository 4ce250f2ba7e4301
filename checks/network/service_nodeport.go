package network

import (
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
)

// ServiceNodePort is check service-nodeport. A Service should not be of type NodePort: it opens its port on every node
// of the cluster. LoadBalancer Services are not reported, even with an
// explicit nodePort: they allocate node ports anyway (unless
// allocateLoadBalancerNodePorts is false), exposure through the load
// balancer is their purpose, and pinning the port number adds no exposure.
var ServiceNodePort = registry.Add(&check.Check{
	ID:       "service-nodeport",
	Title:    "Service of type NodePort",
	Severity: check.Low,
	Refs: []check.Ref{
		{Framework: check.NSA, ID: "Network separation and hardening", Title: "Worker node segmentation"},
	},
	Description: "A NodePort Service listens on a port (30000-32767 by default) on every node, bypassing whatever " +
		"ingress controller, load balancer or WAF fronts the cluster; anyone who can reach any node's address reaches " +
		"the service, and node firewalls must keep the whole range closed. The risk depends on how reachable the nodes " +
		"are, hence low severity. LoadBalancer Services are not reported, even with an explicit nodePort: they " +
		"allocate node ports by design.",
	Remediation: "Use type ClusterIP and expose the service through an Ingress, a Gateway or a LoadBalancer Service. If " +
		"a NodePort is unavoidable, block the node port range at the network edge and allow it only from the load " +
		"balancer's addresses.",
	Kinds: kinds.List(kinds.Service),
	Object: func(_ *check.Env, o *inventory.Object) []check.Result {
		svc, ok := o.Typed.(*corev1.Service)
		if !ok || svc.Spec.Type != corev1.ServiceTypeNodePort {
			return nil
		}
		var pinned []string
		for _, p := range svc.Spec.Ports {
			if p.NodePort != 0 {
				pinned = append(pinned, strconv.Itoa(int(p.NodePort)))
			}
		}
		opens := "a port from the node port range"
		switch len(pinned) {
		case 0:
		case 1:
			opens = "port " + pinned[0]
		default:
			opens = "ports " + strings.Join(pinned, ", ")
		}
		return []check.Result{{Path: "spec.type", Message: fmt.Sprintf("Service type NodePort opens %s on every node", opens)}}
	},
})
