package rbac

import (
	"path"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
)

// Pod Security Admission and node labels escalation paths read.
const (
	// EnforceLabel is the namespace label that sets Pod Security
	// Admission's enforce level.
	EnforceLabel = "pod-security.kubernetes.io/enforce"
	// ControlPlaneLabel marks a control-plane node (kubeadm and most
	// distributions); MasterLabel is its older name.
	ControlPlaneLabel = "node-role.kubernetes.io/control-plane"
	MasterLabel       = "node-role.kubernetes.io/master"
	// NodeKind is the Kind of node targets of escalation paths.
	NodeKind = "Node"
	// kubeletPods holds the volumes, service account tokens among them,
	// of every pod of a node.
	kubeletPods = "/var/lib/kubelet/pods"
)

// AnyNode is the node target when the objects read name no node (a
// manifest scan): a pod pinned with spec.nodeName may run on any node, a
// control-plane node among them.
var AnyNode = Subject{Kind: NodeKind, Name: "*"}

// nodeHub stands for every node a subject may pin a privileged pod to:
// one edge to it instead of one to each node; Paths picks the node and
// never reports the hub.
var nodeHub = Subject{Kind: NodeKind}

// NodeSubject is the escalation target of root on node name.
func NodeSubject(name string) Subject { return Subject{Kind: NodeKind, Name: name} }

// Why a hop is approximate: the assumption it rests on.
const (
	assumeRunningPods  = "any service account of the namespace stands for those of its running pods"
	assumeUnlabelled   = "namespace without a " + EnforceLabel + " label: the API server's default Pod Security Admission configuration (enforce: privileged) assumed; an AdmissionConfiguration may set a stricter default"
	assumeUnknownNS    = "namespace not among the objects read: no " + EnforceLabel + " label and the default Pod Security Admission configuration (enforce: privileged) assumed"
	assumeControlPlane = "no Node object read: a kubeadm-like control-plane node (its /etc/kubernetes/admin.conf, PKI and etcd) assumed reachable by a pod pinned with spec.nodeName"
	assumeAnyNodePods  = "no Node object read: the pods of any pod-bearing workload may run on the node"
	assumeWorkloadNode = "a workload's pods may run on any node"
)

// PodEscapes lists what lets whoever runs a process in a pod of spec take
// its node: a privileged container; hostPID with a container that may
// ptrace (SYS_PTRACE or ALL added) — other processes of the node, root's
// among them; a hostPath volume a container mounts writable (any path:
// the node runs what it finds there or reads what the pod plants); a
// hostPath volume, even read-only, over /var/lib/kubelet/pods (the
// service account tokens of every pod of the node). Pure: the pod checks
// (checks/pod privileged-container, host-pid, host-path-volume) judge the
// same fields one by one.
func PodEscapes(spec *corev1.PodSpec) []string {
	if spec == nil {
		return nil
	}
	var out []string
	add := func(s string) {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	var all []corev1.Container
	all = append(all, spec.InitContainers...)
	all = append(all, spec.Containers...)
	for _, e := range spec.EphemeralContainers {
		all = append(all, corev1.Container(e.EphemeralContainerCommon))
	}
	ptrace := false
	for _, c := range all {
		sc := c.SecurityContext
		if sc == nil {
			continue
		}
		if sc.Privileged != nil && *sc.Privileged {
			add("privileged container " + c.Name)
		}
		if sc.Capabilities != nil {
			for _, cp := range sc.Capabilities.Add {
				switch strings.TrimPrefix(strings.ToUpper(string(cp)), "CAP_") {
				case "SYS_PTRACE", "ALL":
					ptrace = true
				}
			}
		}
	}
	if spec.HostPID && ptrace {
		add("hostPID with SYS_PTRACE")
	}
	for _, v := range spec.Volumes {
		if v.HostPath == nil {
			continue
		}
		mounted, writable := false, false
		for _, c := range all {
			for _, m := range c.VolumeMounts {
				if m.Name == v.Name {
					mounted = true
					writable = writable || !m.ReadOnly
				}
			}
		}
		p := path.Clean("/" + v.HostPath.Path)
		switch {
		case writable:
			add("writable hostPath " + v.HostPath.Path)
		case mounted && (p == "/" || kubeletPods == p || strings.HasPrefix(kubeletPods, p+"/")):
			add("hostPath " + v.HostPath.Path + " over " + kubeletPods)
		}
	}
	return out
}

// Pod is what escalation paths need of a pod or a pod-bearing object.
type Pod struct {
	// Ref is Kind/namespace/name.
	Ref       string
	Namespace string
	// Name is a Pod's name; "" for the pod template of a controller,
	// whose pods' names are not known.
	Name           string
	ServiceAccount string
	// NodeName is a Pod's spec.nodeName.
	NodeName string
	// Escapes are PodEscapes of its spec.
	Escapes []string
}

// AddPod records a pod or pod-bearing object: its service account on its
// node, and whether it is a way to its node.
func (x *Objects) AddPod(p Pod) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.addPod(p)
}

func (x *Objects) addPod(p Pod) {
	sa := Subject{Kind: rbacv1.ServiceAccountKind, Namespace: p.Namespace, Name: p.ServiceAccount}
	x.addSA(p.Namespace, p.ServiceAccount)
	x.podSAs[sa] = true
	if p.Name != "" && p.NodeName != "" {
		if x.nodeSAs[p.NodeName] == nil {
			x.nodeSAs[p.NodeName] = map[Subject]bool{}
		}
		x.nodeSAs[p.NodeName][sa] = true
	}
	if len(p.Escapes) > 0 {
		x.escapes[p.Namespace] = append(x.escapes[p.Namespace], p)
	}
}

// AddNamespace records a Namespace object and its labels (those of Pod
// Security Admission count).
func (x *Objects) AddNamespace(name string, labels map[string]string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.addNamespace(name, labels)
}

func (x *Objects) addNamespace(name string, labels map[string]string) {
	x.namespaces[name] = true
	level, ok := labels[EnforceLabel]
	if !ok {
		level = ""
	} else if level == "" {
		// An empty value is no valid level: Pod Security Admission
		// enforces restricted for an invalid one.
		level = "restricted"
	}
	x.enforce[name] = level
}

// AddNode records a Node object, a control-plane node when it carries
// ControlPlaneLabel or MasterLabel.
func (x *Objects) AddNode(name string, labels map[string]string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	_, cp := labels[ControlPlaneLabel]
	_, master := labels[MasterLabel]
	x.nodes[name] = cp || master
}

// SetLive says the objects were read from a running cluster: pods are
// listed with their nodes, so only Pods on a node (spec.nodeName) put
// their service accounts there or lead to it, not the templates of their
// controllers; otherwise (manifests) any pod-bearing object's pods may
// run on any node.
func (x *Objects) SetLive(live bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.live = live
}

// privilegedPods reports whether Pod Security Admission admits privileged
// pods into namespace ns, and the assumption the answer rests on ("" when
// none): a namespace labelled enforce=privileged does, one labelled
// baseline or restricted (or an invalid level, enforced as restricted)
// does not; without a label, or without the Namespace object, the API
// server's default configuration (privileged) is assumed. Exemptions an
// AdmissionConfiguration lists (users, runtime classes, namespaces) are
// not known: they may admit more.
func (x *Objects) privilegedPods(ns string) (bool, string) {
	level, ok := x.enforce[ns]
	switch {
	case !ok:
		return true, assumeUnknownNS
	case level == "":
		return true, assumeUnlabelled
	}
	return level == "privileged", ""
}

// nodeTargets are the nodes a pod pinned with spec.nodeName may run on:
// every Node read, or AnyNode when none was; of those, the ones root on
// which leads somewhere (a node without edges ends no path).
func (g *Graph) nodeTargets() []Subject {
	if g.nodeList != nil {
		return g.nodeList
	}
	all := []Subject{AnyNode}
	if len(g.objs.nodes) > 0 {
		all = all[:0]
		for _, n := range keysOf(g.objs.nodeNames()) {
			all = append(all, NodeSubject(n))
		}
	}
	g.nodeList = []Subject{}
	for _, n := range all {
		if g.nodeHasEdges(n) {
			g.nodeList = append(g.nodeList, n)
		}
	}
	return g.nodeList
}

// nodeHasEdges reports whether node n has edges (nodeEdges), without
// listing them.
func (g *Graph) nodeHasEdges(n Subject) bool {
	cp, known := g.objs.nodes[n.Name]
	switch {
	case n == AnyNode || !known || cp:
		return true
	case slices.Contains(g.groups, "system:nodes"):
		return true
	case n != AnyNode && slices.Contains(g.users, "system:node:"+n.Name):
		return true
	}
	return len(g.objs.nodeSAs[n.Name]) > 0
}

func (x *Objects) nodeNames() map[string]bool {
	out := make(map[string]bool, len(x.nodes))
	for n := range x.nodes {
		out[n] = true
	}
	return out
}

// escapeNode is the node a pod with escapes leads to, and the assumption
// that rests on; false when it leads nowhere (on a live cluster, a pod
// template or a pod on no node).
func (x *Objects) escapeNode(p Pod) (Subject, string, bool) {
	switch {
	case p.Name != "" && p.NodeName != "":
		return NodeSubject(p.NodeName), "", true
	case x.live:
		return Subject{}, "", false
	}
	return AnyNode, assumeWorkloadNode, true
}

// podEscapeRequests are the ways into a running pod that give a process
// in it: exec, attach, and a new (ephemeral) container.
var podEscapeRequests = []Request{
	{Verb: "create", Resource: "pods", Subresource: "exec"},
	{Verb: "create", Resource: "pods", Subresource: "attach"},
	{Verb: "patch", Resource: "pods", Subresource: "ephemeralcontainers"},
	{Verb: "update", Resource: "pods", Subresource: "ephemeralcontainers"},
}

// nodeEdges are the edges from root on node n: a control-plane node's
// power (cluster-admin), the tokens of its pods' service accounts, and
// the kubelet's credentials (group system:nodes) when a binding names it.
func (g *Graph) nodeEdges(n Subject, prune bool) []Edge {
	var out []Edge
	add := func(to Subject, prim, assumption string) {
		if prune && !g.live(to) {
			return
		}
		out = append(out, Edge{From: n, To: to, Primitive: prim, Approximate: assumption != "", Assumption: assumption})
	}
	cp, known := g.objs.nodes[n.Name]
	switch {
	case n == AnyNode || !known:
		add(ClusterAdmin, "root on a control-plane node (admin.conf, PKI, etcd)", assumeControlPlane)
	case cp:
		add(ClusterAdmin, "root on a control-plane node (admin.conf, PKI, etcd)", "")
	}
	if n == AnyNode && !g.objs.live {
		for _, sa := range g.sortedSubjects(g.objs.podSAs) {
			add(sa, "read the tokens of the node's pods ("+kubeletPods+")", assumeAnyNodePods)
		}
	} else {
		for _, sa := range g.sortedSubjects(g.objs.nodeSAs[n.Name]) {
			add(sa, "read the tokens of the node's pods ("+kubeletPods+")", "")
		}
	}
	if slices.Contains(g.groups, "system:nodes") {
		add(Subject{Kind: rbacv1.GroupKind, Name: "system:nodes"}, "use the kubelet's credentials (group system:nodes)", "")
	}
	if n != AnyNode && slices.Contains(g.users, "system:node:"+n.Name) {
		add(Subject{Kind: rbacv1.UserKind, Name: "system:node:" + n.Name}, "use the kubelet's credentials", "")
	}
	return out
}

func (g *Graph) sortedSubjects(m map[Subject]bool) []Subject {
	out := make([]Subject, 0, len(m))
	for s := range m {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b Subject) int {
		if c := strings.Compare(a.Namespace, b.Namespace); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}
