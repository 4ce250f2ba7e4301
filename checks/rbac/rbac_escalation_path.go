package rbac

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
	"github.com/kubeharden/kubeharden/rbac"
)

// RBACEscalationPath is check rbac-escalation-path. No subject but the
// system's own may be able to reach power equal to cluster-admin's through
// a chain of escalation primitives, and neither may the service account of
// a workload exposed outside the cluster. The chain is package rbac's
// shortest escalation path (rbac.Graph.Paths), each hop decided by the
// offline RBAC authorizer: create pods or pod controllers in a namespace
// (its service accounts), exec, attach, port-forward or ephemeral
// containers (approximated as every service account of the namespace),
// read a legacy token Secret, create serviceaccounts/token, impersonate
// users, groups (system:masters; with some user, as the API server
// requires) or service accounts, bind or escalate roles, get a client
// certificate signed (create and approve a CSR) for any user or group but
// system:masters, and the primitives that are cluster-admin-equivalent
// themselves: */*/*, get nodes/proxy, write admission webhooks or
// policies, CRDs or APIServices, create PersistentVolumes. A test walks
// every primitive's path with real requests against a real API server
// (internal/cli/rbac, TestEscalationPathsWalk).
//
// Nodes are targets too. Whoever creates pods (or pod controllers) in a
// namespace whose Pod Security Admission enforce level admits privileged
// pods (label privileged, or none: the API server's default
// configuration, an approximate hop) pins a privileged pod to any node
// with spec.nodeName: root on it. So does whoever may patch or update
// that namespace (relabel it privileged) and create pods in it, and
// whoever may exec, attach or add an ephemeral container to a pod that
// is privileged, shares the host PID namespace with SYS_PTRACE, mounts a
// hostPath writable or one over /var/lib/kubelet/pods
// (rbac.PodEscapes). Root on a node reaches the service accounts of its
// pods (on a cluster scan the Pods with that spec.nodeName), the
// kubelet's group system:nodes when a binding names it, and on a
// control-plane node (node-role.kubernetes.io/control-plane or master
// label) cluster-admin (admin.conf, PKI, etcd). Without Node objects (a
// manifest scan) one node, "*", stands for every node: a kubeadm-like
// control-plane node is assumed, any workload's pods may run there, and
// those hops are marked approximate with their assumption in the message.
//
// Sources are the subjects the bindings name, but for system: users and
// groups and the service accounts of kube-system, kube-public and
// kube-node-lease, plus the service account of every workload selected by
// a LoadBalancer or NodePort Service or by a Service an Ingress routes to.
// A subject whose only hop is a direct */*/* grant is not escalating (it is
// cluster-admin: cluster-admin-binding and rbac-wildcard report it) and is
// reported only when an exposed workload runs as it.
//
// The finding is on the binding that grants the first hop, at the subject
// entry that names the source (the first subject that applies to it,
// which may be a group), or at roleRef.name when none does directly.
//
// Manifests rarely carry the API server's built-in ClusterRoles nor the
// ServiceAccounts they bind: in a scan that is not of a live cluster, the
// cluster-admin, admin and edit ClusterRoles it does not contain are taken
// to hold the built-in rules (rbac.BuiltinClusterRoles: all of
// cluster-admin's, and of admin's and edit's the rules escalation uses),
// so that a RoleBinding to edit counts as the power to create pods that it
// is, and the ServiceAccounts the bindings name are taken to exist.
//
// State: Observe writes a compact record of each object it needs (RBAC
// objects with the stub of each binding, service accounts, token Secrets,
// Services, Ingresses, namespaces with their enforce label, nodes with
// their control-plane label, and the service account, pod labels, node
// and rbac.PodEscapes of each workload) to the run's check.Log, which a
// large run keeps on disk. Finish reads it back per Origin.Context (so
// clusters scanned together never mix) in passes that keep only what a
// path may go through: the rules that may allow an escalation primitive
// (rbac.EscalationRules) and the bindings to them; then, knowing which
// identities may take a step at all (rbac.Graph.MayEscalate), their
// service accounts, workloads and exposure, and the pods a node may be
// reached through. Everything else (a harmless Role, its RoleBinding, a
// workload running as a service account that can do nothing) is read and
// dropped, so that at Finish memory follows what may escalate, not the
// input; the paths are those of the whole input. Finish then reads the
// bindings again to report on those that grant a first hop.
var RBACEscalationPath = registry.Add(&check.Check{
	ID:       "rbac-escalation-path",
	Title:    "Subject can escalate to cluster-admin-equivalent power",
	Severity: check.Critical,
	Refs: []check.Ref{
		{Framework: check.CIS, ID: "5.1.1", Title: "Ensure that the cluster-admin role is only used where required"},
		{Framework: check.CIS, ID: "5.1.4", Title: "Minimize access to create pods"},
		{Framework: check.CIS, ID: "5.1.8", Title: "Limit use of the Bind, Impersonate and Escalate permissions in the Kubernetes cluster"},
		{Framework: check.NSA, ID: "Authentication and authorization", Title: "Role-based access control"},
	},
	Description: "Reports every subject (User, Group, ServiceAccount) that is not one of the system's own, and the service " +
		"account of every workload exposed by a LoadBalancer or NodePort Service or an Ingress, that can reach power equal " +
		"to cluster-admin's through a chain of escalation steps: creating a pod that runs as a more powerful service " +
		"account of its namespace, exec into such a pod, reading a legacy token Secret, requesting a service account " +
		"token, impersonating a user, group (system:masters) or service account, binding or escalating roles, " +
		"getting a client certificate signed for any user or group, and, cluster-admin-equivalent in themselves, " +
		"nodes/proxy, writing admission webhooks or policies, CRDs or APIServices, or creating PersistentVolumes. " +
		"Nodes are steps too: creating pods where Pod Security Admission admits privileged ones (enforce label privileged or " +
		"absent), or relabelling the namespace to privileged, pins a privileged pod to any node with spec.nodeName; exec, " +
		"attach or an ephemeral container into a pod that is privileged, shares the host PID namespace with SYS_PTRACE, or " +
		"mounts a hostPath writable or over /var/lib/kubelet/pods reaches its node. Root on a node has the tokens of its " +
		"pods' service accounts, and on a control-plane node the cluster (admin.conf, PKI, etcd). " +
		"Each rule may look harmless alone; together they let the subject take over the cluster. The finding spells out the shortest path hop by hop, with the " +
		"binding, role and rule that allow each request, decided exactly as the API server's RBAC authorizer decides " +
		"(wildcards, subresources, resourceNames). Exec and ephemeral containers are taken to reach every service " +
		"account of the namespace, standing for those of its running pods. Hops that rest on an assumption are marked " +
		"approximate and name it: a namespace without an enforce label is taken to enforce the API server's default " +
		"(privileged); without Node objects (manifests) one node stands for all, a kubeadm-like control plane assumed, " +
		"and any workload's pods may run on it. On manifest scans the built-in " +
		"cluster-admin, admin and edit ClusterRoles are assumed when the manifests do not define them, and the " +
		"ServiceAccounts bindings name are taken to exist.",
	Remediation: "Break the first hop: remove the subject from the binding the finding points at, or narrow the role " +
		"(resourceNames, fewer verbs, a namespace without powerful service accounts). Keep powerful service accounts in " +
		"namespaces where nobody else can create pods or read Secrets, avoid legacy token Secrets, grant " +
		"impersonate, bind and escalate only with resourceNames, and run exposed workloads as service accounts with " +
		"minimal rights. Label every namespace pod-security.kubernetes.io/enforce: baseline or restricted where privileged " +
		"pods are not needed, and do not let those who create pods there patch the namespace. " +
		"Check the result with kubeharden rbac paths.",
	Kinds: kinds.Join(kinds.List(kinds.ClusterRole, kinds.Role, kinds.ClusterRoleBinding, kinds.RoleBinding,
		kinds.ServiceAccount, kinds.Secret, kinds.Service, kinds.Ingress, kinds.Namespace, kinds.Node), kinds.Pods),
	Set: func(env *check.Env) check.SetEval {
		return &escalationEval{log: env.Log(), live: map[string]bool{}}
	},
})

// Records of the check's Log, by their first integer.
const (
	recRole = iota
	recBinding
	recServiceAccount
	recTokenSecret
	recService
	recIngress
	recNamespace
	recWorkload
	recNode
)

type escalationEval struct {
	// log holds one record per object observed, so that a large scan
	// keeps none of them in memory until Finish.
	log check.Log
	rec []byte
	// live lists the cluster contexts whose objects come from a running
	// cluster.
	live map[string]bool
}

// escalationCluster is what Finish builds of one cluster context.
type escalationCluster struct {
	set  *rbac.Set
	objs *rbac.Objects
	// namespaces are those of every object and binding.
	namespaces map[string]bool
	// saNamespaces are those of the ServiceAccount subjects of each
	// binding, but its own.
	saNamespaces map[rbac.Ref][]string
	// tokens are the namespaces with a token Secret.
	tokens map[string]bool
	// roles are the rules kept of each role (rbac.EscalationRules).
	roles map[rbac.Ref][]rbacv1.PolicyRule
	// builtins: while reading roles the ClusterRoles defined, then the
	// built-in ClusterRoles added.
	builtins map[string]bool
	// bound are the bindings kept for the roles they grant; inert those
	// kept, of the others, for their subjects.
	bound, inert map[rbac.Ref]bool
	// may is the graph of the bindings kept, which says who may escalate.
	may *rbac.Graph
	// exposable: a workload runs as a service account that may escalate.
	exposable bool
	// escapesAll, escapesIn: the namespaces where a pod may be entered
	// (rbac.PodEscapes matter): all, or these.
	escapesAll bool
	escapesIn  map[string]bool
	rolesDone  bool
}

func (e *escalationEval) Observe(o *inventory.Object) {
	if o.Meta == nil {
		return
	}
	if o.Origin.Live() {
		e.live[o.Origin.Context] = true
	}
	ns := cmpOr(o.Namespace, rbac.DefaultNamespace)
	r := e.rec[:0]
	start := func(kind int) {
		r = inventory.AppendInt(r, kind)
		r = inventory.AppendString(r, o.Origin.Context)
	}
	switch t := o.Typed.(type) {
	case *rbacv1.ClusterRole, *rbacv1.Role:
		list, _ := roleRulesOf(t)
		start(recRole)
		r = inventory.AppendString(r, o.Kind)
		r = inventory.AppendString(r, ns)
		r = inventory.AppendString(r, o.Name)
		r = inventory.AppendInt(r, len(list))
		for _, rule := range list {
			for _, l := range [][]string{rule.Verbs, rule.APIGroups, rule.Resources, rule.ResourceNames, rule.NonResourceURLs} {
				r = appendStrings(r, l)
			}
		}
	case *rbacv1.ClusterRoleBinding, *rbacv1.RoleBinding:
		b, _ := bindingOf(o)
		paths := []string{"roleRef.name"}
		for i := range b.subjects {
			paths = append(paths, subjectPath(i))
		}
		start(recBinding)
		r = inventory.AppendString(r, o.Kind)
		r = inventory.AppendString(r, ns)
		r = inventory.AppendString(r, o.Name)
		r = appendStrings(r, []string{b.roleRef.APIGroup, b.roleRef.Kind, b.roleRef.Name})
		r = inventory.AppendInt(r, len(b.subjects))
		for _, sub := range b.subjects {
			r = appendStrings(r, []string{sub.Kind, sub.APIGroup, sub.Name, sub.Namespace})
		}
		r = check.Pin(o, paths...).AppendBinary(r)
	case *corev1.ServiceAccount:
		start(recServiceAccount)
		r = appendStrings(r, []string{ns, o.Name})
	case *corev1.Secret:
		sa := o.Meta.Annotations[corev1.ServiceAccountNameKey]
		if sa == "" || (t.Type != "" && t.Type != corev1.SecretTypeServiceAccountToken) {
			return
		}
		start(recTokenSecret)
		r = appendStrings(r, []string{ns, o.Name, sa})
	case *corev1.Service:
		if len(t.Spec.Selector) == 0 {
			return
		}
		start(recService)
		r = appendStrings(r, []string{ns, o.Name, string(t.Spec.Type)})
		r = appendMap(r, t.Spec.Selector)
	case *networkingv1.Ingress:
		var backends []string
		if b := t.Spec.DefaultBackend; b != nil && b.Service != nil {
			backends = append(backends, b.Service.Name)
		}
		for _, rule := range t.Spec.Rules {
			if rule.HTTP == nil {
				continue
			}
			for _, p := range rule.HTTP.Paths {
				if p.Backend.Service != nil {
					backends = append(backends, p.Backend.Service.Name)
				}
			}
		}
		start(recIngress)
		r = inventory.AppendString(r, ns)
		r = appendStrings(r, backends)
	case *corev1.Namespace:
		start(recNamespace)
		r = inventory.AppendString(r, o.Name)
		// Only the Pod Security Admission enforce label counts.
		var psa map[string]string
		if v, ok := o.Meta.Labels[rbac.EnforceLabel]; ok {
			psa = map[string]string{rbac.EnforceLabel: v}
		}
		r = appendMap(r, psa)
	case *corev1.Node:
		start(recNode)
		r = inventory.AppendString(r, o.Name)
		var roles map[string]string
		for _, k := range []string{rbac.ControlPlaneLabel, rbac.MasterLabel} {
			if v, ok := o.Meta.Labels[k]; ok {
				roles = map[string]string{k: v}
			}
		}
		r = appendMap(r, roles)
	default:
		p := o.Pod()
		if p == nil {
			return
		}
		sa := rbac.PodServiceAccount(p.Spec)
		start(recWorkload)
		r = appendStrings(r, []string{ns, sa})
		if controlled(o) {
			// Its controller's record stands for it: only its service
			// account counts.
			r = inventory.AppendString(r, "")
			r = appendMap(r, nil)
		} else {
			var podLabels map[string]string
			if p.Meta != nil {
				podLabels = p.Meta.Labels
			}
			r = inventory.AppendString(r, o.Kind+"/"+ns+"/"+o.Name)
			r = appendMap(r, podLabels)
		}
		// What the node model needs: a Pod's name and node, and the
		// ways from a process in its pods to their node.
		var name, node string
		if t, ok := o.Typed.(*corev1.Pod); ok {
			name, node = o.Name, t.Spec.NodeName
		}
		r = appendStrings(r, []string{o.Kind + "/" + ns + "/" + o.Name, name, node})
		r = appendStrings(r, rbac.PodEscapes(p.Spec))
	}
	e.rec = r
	if len(r) > 0 {
		e.log.Append(r)
	}
}

// roleRulesOf returns the rules of a Role or ClusterRole, built-in
// defaults included (they are part of what the authorizer decides with).
func roleRulesOf(typed any) ([]rbacv1.PolicyRule, bool) {
	switch r := typed.(type) {
	case *rbacv1.ClusterRole:
		return r.Rules, true
	case *rbacv1.Role:
		return r.Rules, true
	}
	return nil, false
}

func appendStrings(b []byte, l []string) []byte {
	b = inventory.AppendInt(b, len(l))
	for _, s := range l {
		b = inventory.AppendString(b, s)
	}
	return b
}

// readStrings reads what appendStrings wrote; strings that repeat (verbs,
// groups, namespaces) are shared through in when it is not nil.
func readStrings(d *inventory.Decoder, in map[string]string) []string {
	n := d.Int()
	if d.Err != nil || n > len(d.B) {
		return nil
	}
	out := make([]string, 0, n)
	for range n {
		out = append(out, intern(in, d.Str()))
	}
	return out
}

func intern(in map[string]string, s string) string {
	if in == nil {
		return s
	}
	if v, ok := in[s]; ok {
		return v
	}
	in[s] = s
	return s
}

// appendMap appends a map's entries sorted by key.
func appendMap(b []byte, m map[string]string) []byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = inventory.AppendInt(b, len(keys))
	for _, k := range keys {
		b = inventory.AppendString(inventory.AppendString(b, k), m[k])
	}
	return b
}

func readMap(d *inventory.Decoder) map[string]string {
	n := d.Int()
	if d.Err != nil || n > len(d.B) {
		return nil
	}
	m := make(map[string]string, n)
	for range n {
		k := d.Str()
		m[k] = d.Str()
	}
	return m
}

// controlled reports whether a controller owns o (a Deployment's
// ReplicaSet, a ReplicaSet's pods).
func controlled(o *inventory.Object) bool {
	for _, ref := range o.Meta.OwnerReferences {
		if ref.Controller != nil && *ref.Controller {
			return true
		}
	}
	return false
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Finish reads the Log in passes, keeping only what escalation paths may
// go through (rbac.EscalationRules, rbac.Graph.MayEscalate): the token
// Secrets, Namespaces, Nodes, Ingresses and the namespaces of every
// object; the rules of each role that may allow an escalation primitive
// (a role with none is left out); the bindings to the roles kept; then,
// knowing which identities may take a step at all, the other bindings'
// subjects, the service accounts and the workloads of those, and of the
// rest only the workloads with rbac.PodEscapes; the Services and the
// exposed workloads only when some workload runs as such a service
// account. Each subject, node and edge left out is on no path, so the
// paths are those of the whole input. After the paths are known, the
// bindings that grant a first hop are read again, to report on them.
func (e *escalationEval) Finish(report func(t *check.Target, r check.Result)) {
	clusters := map[string]*escalationCluster{}
	in := map[string]string{}
	cluster := func(ctx string) *escalationCluster {
		c := clusters[ctx]
		if c == nil {
			c = &escalationCluster{set: rbac.NewSet(), objs: rbac.NewObjects(), namespaces: map[string]bool{}, tokens: map[string]bool{},
				roles: map[rbac.Ref][]rbacv1.PolicyRule{}, builtins: map[string]bool{}, bound: map[rbac.Ref]bool{}, inert: map[rbac.Ref]bool{}, escapesIn: map[string]bool{}, saNamespaces: map[rbac.Ref][]string{}}
			clusters[ctx] = c
		}
		return c
	}
	obj := func(ns, name string, typed any) *inventory.Object {
		return &inventory.Object{Ref: inventory.Ref{Namespace: ns, Name: name}, Meta: &metav1.ObjectMeta{Namespace: ns, Name: name}, Typed: typed}
	}
	// each reads the records of kinds; a record that does not decode
	// stops a reading (the engine reports a Log it cannot read back).
	each := func(fn func(kind int, c *escalationCluster, d *inventory.Decoder), kinds ...int) {
		_ = e.log.Each(func(rec []byte) error {
			d := &inventory.Decoder{B: rec}
			kind := d.Int()
			if d.Err != nil || !slices.Contains(kinds, kind) {
				return d.Err
			}
			fn(kind, cluster(d.Str()), d)
			return d.Err
		})
	}
	// The objects that are few, and the namespace of every object (each
	// is asked in when a primitive applies in every namespace).
	each(func(kind int, c *escalationCluster, d *inventory.Decoder) {
		switch kind {
		case recServiceAccount, recService, recWorkload:
			if l := readStrings(d, nil); len(l) >= 2 {
				c.namespaces[intern(in, l[0])] = true
			}
		case recTokenSecret:
			if l := readStrings(d, nil); len(l) == 3 {
				o := obj(l[0], l[1], &corev1.Secret{Type: corev1.SecretTypeServiceAccountToken})
				o.Meta.Annotations = map[string]string{corev1.ServiceAccountNameKey: l[2]}
				c.objs.AddObject(o)
				c.tokens[intern(in, l[0])] = true
			}
		case recIngress:
			c.namespaces[intern(in, d.Str())] = true
		case recNamespace:
			name := d.Str()
			c.objs.AddNamespace(name, readMap(d))
		case recNode:
			name := d.Str()
			c.objs.AddNode(name, readMap(d))
		}
	}, recServiceAccount, recService, recWorkload, recTokenSecret, recIngress, recNamespace, recNode)
	// The rules of roles that may allow a primitive: reading Secrets
	// only where a token Secret is. A later role of the same name
	// replaces an earlier one.
	each(func(_ int, c *escalationCluster, d *inventory.Decoder) {
		k, ns, name := d.Str(), intern(in, d.Str()), d.Str()
		n := d.Int()
		var rules []rbacv1.PolicyRule
		for i := 0; i < n && d.Err == nil; i++ {
			rules = append(rules, rbacv1.PolicyRule{Verbs: readStrings(d, in), APIGroups: readStrings(d, in), Resources: readStrings(d, in),
				ResourceNames: readStrings(d, in), NonResourceURLs: readStrings(d, in)})
		}
		ref := rbac.Ref{Kind: k, Name: name}
		secrets := len(c.tokens) > 0
		if k == "Role" {
			ref.Namespace = ns
			secrets = c.tokens[ns]
		} else if _, ok := builtinRoles[name]; ok {
			c.builtins[name] = true
		}
		if kept, ok := rbac.EscalationRules(rules, secrets); ok {
			c.roles[ref] = kept
		} else {
			delete(c.roles, ref)
		}
	}, recRole)
	// The roles kept, then the built-in ClusterRoles the input does not
	// define, once per cluster before its bindings.
	finishRoles := func(c *escalationCluster) {
		if c.rolesDone {
			return
		}
		c.rolesDone = true
		for ref, rules := range c.roles {
			if ref.Kind == "Role" {
				c.set.Add(&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ref.Namespace, Name: ref.Name}, Rules: rules})
			} else {
				c.set.Add(&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: ref.Name}, Rules: rules})
			}
		}
		// A ClusterRole the input defines is not replaced by the
		// built-in of its name, even when none of its rules is kept.
		for _, name := range slices.Sorted(maps.Keys(builtinRoles)) {
			if _, ok := c.roles[rbac.Ref{Kind: "ClusterRole", Name: name}]; !ok && c.builtins[name] {
				c.set.Add(&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}})
			}
		}
		c.builtins = map[string]bool{}
		for _, name := range c.set.AddMissingBuiltins() {
			c.builtins[name] = true
		}
	}
	// The bindings to the roles kept. bound holds the bindings whose
	// last record is one.
	grants := func(c *escalationCluster, ns string, ref rbacv1.RoleRef) bool {
		switch ref.Kind {
		case "Role":
			_, ok := c.roles[rbac.Ref{Kind: "Role", Namespace: ns, Name: ref.Name}]
			return ok && ns != ""
		case "ClusterRole":
			_, ok := c.roles[rbac.Ref{Kind: "ClusterRole", Name: ref.Name}]
			return ok || c.builtins[ref.Name]
		}
		return false
	}
	addBinding := func(c *escalationCluster, k, ns, name string, ref rbacv1.RoleRef, subs []rbacv1.Subject) {
		if k == "RoleBinding" {
			c.set.Add(&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, RoleRef: ref, Subjects: subs})
		} else {
			c.set.Add(&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name}, RoleRef: ref, Subjects: subs})
		}
	}
	bindingRef := func(k, ns, name string) (rbac.Ref, string) {
		if k == "RoleBinding" {
			return rbac.Ref{Kind: k, Namespace: ns, Name: name}, ns
		}
		return rbac.Ref{Kind: k, Name: name}, ""
	}
	each(func(_ int, c *escalationCluster, d *inventory.Decoder) {
		finishRoles(c)
		k, ns, name, ref, subs := readBinding(d, in)
		bref, bns := bindingRef(k, ns, name)
		if bns != "" {
			c.namespaces[bns] = true
		}
		// The namespaces of its ServiceAccount subjects but its own, as
		// the last record of the binding names them.
		var other []string
		for _, sub := range subs {
			if sns := sub.Namespace; sub.Kind == rbacv1.ServiceAccountKind && sns != "" && sns != bns && !slices.Contains(other, sns) {
				other = append(other, sns)
			}
		}
		if other != nil || c.saNamespaces[bref] != nil {
			c.saNamespaces[bref] = other
		}
		// Where a pod may be entered: a grant kept applies there, or
		// system:masters may be bound there.
		if bns == "" {
			c.escapesAll = c.escapesAll || grants(c, bns, ref)
		} else if grants(c, bns, ref) || slices.ContainsFunc(subs, mastersMayBe) {
			c.escapesIn[bns] = true
		}
		switch {
		case grants(c, bns, ref):
			addBinding(c, k, ns, name, ref, subs)
			c.bound[bref] = true
		case c.bound[bref]:
			// Replaces the earlier binding of its name.
			addBinding(c, k, ns, name, ref, subs)
			delete(c.bound, bref)
			c.inert[bref] = true
		}
	}, recBinding)
	// Which identities may take a step at all, now that every binding
	// that may grant one is known.
	for _, c := range clusters {
		finishRoles(c)
		for _, nss := range c.saNamespaces {
			for _, ns := range nss {
				c.namespaces[ns] = true
			}
		}
		c.saNamespaces = nil
		c.may = rbac.NewGraph(c.set, c.objs)
	}
	sa := func(ns, name string) rbac.Subject {
		return rbac.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: name}
	}
	// The subjects of the other bindings, the service accounts and the
	// workloads that may matter.
	each(func(kind int, c *escalationCluster, d *inventory.Decoder) {
		switch kind {
		case recBinding:
			k, ns, name, ref, subs := readBinding(d, in)
			bref, bns := bindingRef(k, ns, name)
			if c.bound[bref] || grants(c, bns, ref) {
				// Kept already; or an earlier record of a binding
				// whose last one is not kept for its role.
				return
			}
			var keep []rbacv1.Subject
			for _, sub := range subs {
				var v rbac.Subject
				switch sub.Kind {
				case rbacv1.UserKind, rbacv1.GroupKind:
					v = rbac.Subject{Kind: sub.Kind, Name: sub.Name}
				case rbacv1.ServiceAccountKind:
					v = sa(cmpOr(sub.Namespace, bns), sub.Name)
				default:
					continue
				}
				// A subject that may apply to system:masters is kept
				// too: a member's RoleBindings say where it is asked.
				if (v.Kind != rbacv1.ServiceAccountKind || v.Namespace != "") && (c.may.MayEscalate(v) || bns != "" && mastersMayBe(sub)) {
					keep = append(keep, sub)
				}
			}
			if len(keep) > 0 || c.inert[bref] {
				// The last record of a binding replaces earlier ones.
				addBinding(c, k, ns, name, ref, keep)
				c.inert[bref] = true
			}
		case recServiceAccount:
			if l := readStrings(d, nil); len(l) == 2 && c.may.MayEscalate(sa(l[0], l[1])) {
				c.objs.AddServiceAccount(intern(in, l[0]), l[1])
			}
		case recWorkload:
			l := readStrings(d, nil)
			ref, _ := d.Str(), readMap(d)
			pod, escapes := readStrings(d, nil), readStrings(d, in)
			if len(l) != 2 || len(pod) != 3 {
				return
			}
			may := c.may.MayEscalate(sa(l[0], l[1]))
			if may || len(escapes) > 0 && (c.escapesAll || c.escapesIn[l[0]]) {
				c.objs.AddPod(rbac.Pod{Ref: pod[0], Namespace: intern(in, l[0]), Name: pod[1], NodeName: intern(in, pod[2]),
					ServiceAccount: l[1], Escapes: escapes})
			}
			c.exposable = c.exposable || may && ref != ""
		}
	}, recBinding, recServiceAccount, recWorkload)
	for _, c := range clusters {
		for _, ns := range slices.Sorted(maps.Keys(c.namespaces)) {
			c.objs.AddServiceAccount(ns, "default")
		}
	}
	// The exposed workloads, where one may escalate: the Services, then
	// the workloads they expose.
	if slices.ContainsFunc(slices.Collect(maps.Values(clusters)), func(c *escalationCluster) bool { return c.exposable }) {
		each(func(kind int, c *escalationCluster, d *inventory.Decoder) {
			if !c.exposable {
				return
			}
			switch kind {
			case recService:
				if l := readStrings(d, nil); len(l) == 3 {
					c.objs.AddObject(obj(l[0], l[1], &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: l[1]},
						Spec: corev1.ServiceSpec{Type: corev1.ServiceType(l[2]), Selector: readMap(d)}}))
				}
			case recIngress:
				ns := d.Str()
				ing := &networkingv1.Ingress{}
				for _, b := range readStrings(d, in) {
					ing.Spec.Rules = append(ing.Spec.Rules, networkingv1.IngressRule{IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
						Paths: []networkingv1.HTTPIngressPath{{Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: b}}}}}}})
				}
				c.objs.AddObject(obj(ns, "", ing))
			}
		}, recService, recIngress)
		each(func(_ int, c *escalationCluster, d *inventory.Decoder) {
			if !c.exposable {
				return
			}
			l := readStrings(d, nil)
			ref, podLabels := d.Str(), readMap(d)
			if d.Err == nil && len(l) == 2 && ref != "" && c.may.MayEscalate(sa(l[0], l[1])) && c.objs.Exposes(l[0], podLabels) {
				c.objs.AddWorkload(ref, l[0], podLabels, l[1])
			}
		}, recWorkload)
	}
	// The paths, and the bindings of their first hops.
	hops := map[string]map[rbac.Ref][]rbac.Path{}
	ctxs := slices.Sorted(maps.Keys(clusters))
	for _, ctx := range ctxs {
		c := clusters[ctx]
		c.may = nil
		c.objs.SetLive(e.live[ctx])
		if !e.live[ctx] {
			c.objs.AddBoundServiceAccounts(c.set)
		}
		g := rbac.NewGraph(c.set, c.objs)
		for _, p := range g.Paths(g.Sources()) {
			if len(p.Hops) == 0 || len(p.Hops[0].Steps) == 0 || (directAdmin(p) && len(p.Exposed) == 0) {
				continue
			}
			if hops[ctx] == nil {
				hops[ctx] = map[rbac.Ref][]rbac.Path{}
			}
			b := p.Hops[0].Steps[0].Grant.Binding
			hops[ctx][b] = append(hops[ctx][b], p)
		}
	}
	if len(hops) == 0 {
		return
	}
	_ = e.log.Each(func(rec []byte) error {
		d := &inventory.Decoder{B: rec}
		if d.Int() != recBinding {
			return d.Err
		}
		ctx := d.Str()
		k, ns, name, _, subs := readBinding(d, nil)
		t := d.Stub()
		if d.Err != nil {
			return d.Err
		}
		ref := rbac.Ref{Kind: k, Name: name}
		if k == "RoleBinding" {
			ref.Namespace = ns
		}
		for _, p := range hops[ctx][ref] {
			path := "roleRef.name"
			if i := subjectIndex(subs, ref.Namespace, p.Subject); i >= 0 {
				path = subjectPath(i)
			}
			report(t, check.Result{Path: path, Message: pathMessage(p)})
		}
		// A binding defined twice is reported once, on the first.
		delete(hops[ctx], ref)
		return nil
	})
}

// mastersMayBe reports whether a binding's subject may apply to
// system:masters (a member of it is allowed everything, in the
// namespaces of the RoleBindings that apply to it).
func mastersMayBe(sub rbacv1.Subject) bool {
	switch sub.Kind {
	case rbacv1.GroupKind:
		return sub.Name == rbac.MastersGroup || sub.Name == rbac.AuthenticatedGroup
	case rbacv1.UserKind:
		return sub.Name == ""
	}
	return false
}

// builtinRoles are the names of rbac.BuiltinClusterRoles.
var builtinRoles = rbac.BuiltinClusterRoles()

// readBinding reads what Observe wrote of a binding, before its stub;
// the kinds, API groups and namespaces of subjects are shared through in.
func readBinding(d *inventory.Decoder, in map[string]string) (kind, namespace, name string, ref rbacv1.RoleRef, subs []rbacv1.Subject) {
	kind, namespace, name = d.Str(), intern(in, d.Str()), d.Str()
	if l := readStrings(d, nil); len(l) == 3 {
		ref = rbacv1.RoleRef{APIGroup: intern(in, l[0]), Kind: intern(in, l[1]), Name: l[2]}
	}
	n := d.Int()
	for i := 0; i < n && d.Err == nil; i++ {
		if l := readStrings(d, nil); len(l) == 4 {
			subs = append(subs, rbacv1.Subject{Kind: intern(in, l[0]), APIGroup: intern(in, l[1]), Name: l[2], Namespace: intern(in, l[3])})
		}
	}
	return kind, namespace, name, ref, subs
}

// directAdmin reports whether the path is a direct grant of everything.
func directAdmin(p rbac.Path) bool {
	if len(p.Hops) != 1 || p.Hops[0].To != rbac.ClusterAdmin {
		return false
	}
	r := p.Hops[0].Steps[0].Request
	return r.Verb == "*" && r.Group == "*" && r.Resource == "*"
}

// subjectIndex is the index of the first subject of a binding (of
// namespace, "" for a ClusterRoleBinding) that applies to sub (by name,
// or a group sub's identity is in), or -1.
func subjectIndex(subs []rbacv1.Subject, namespace string, sub rbac.Subject) int {
	id := sub.Identity()
	for i, s := range subs {
		switch s.Kind {
		case rbacv1.UserKind:
			if id.Name != "" && s.Name == id.Name {
				return i
			}
		case rbacv1.GroupKind:
			if slices.Contains(id.Groups, s.Name) {
				return i
			}
		case rbacv1.ServiceAccountKind:
			if sub.Kind == rbacv1.ServiceAccountKind && s.Name == sub.Name && cmpOr(s.Namespace, namespace) == sub.Namespace {
				return i
			}
		}
	}
	return -1
}

// pathMessage spells the path out hop by hop, each with the requests it
// makes and the binding, role and rule that allow each.
func pathMessage(p rbac.Path) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s", p.Subject)
	if len(p.Exposed) > 0 {
		fmt.Fprintf(&b, ", the service account of exposed workload %s", p.Exposed[0])
		if len(p.Exposed) > 1 {
			fmt.Fprintf(&b, " (and %d more)", len(p.Exposed)-1)
		}
		b.WriteString(",")
	}
	if directAdmin(p) {
		b.WriteString(" holds cluster-admin-equivalent power directly:")
	} else {
		steps := "steps"
		if len(p.Hops) == 1 {
			steps = "step"
		}
		fmt.Fprintf(&b, " can escalate to cluster-admin-equivalent power in %d %s:", len(p.Hops), steps)
	}
	for i, h := range p.Hops {
		fmt.Fprintf(&b, " %d. %s → %s (", i+1, h.Primitive, h.To)
		if len(h.Steps) == 0 {
			b.WriteString("on the node: no API request")
		}
		for j, s := range h.Steps {
			if j > 0 {
				b.WriteString("; ")
			}
			grant := "member of system:masters"
			if s.Grant.Binding != (rbac.Ref{}) {
				grant = fmt.Sprintf("%s → %s rules[%d]", s.Grant.Binding, s.Grant.Role, s.Grant.Rule)
			}
			fmt.Fprintf(&b, "%s: %s", s.Request, grant)
		}
		b.WriteString(")")
		if h.Approximate {
			fmt.Fprintf(&b, " [approximate: %s]", h.Assumption)
		}
		if i < len(p.Hops)-1 {
			b.WriteString(";")
		}
	}
	return b.String()
}
