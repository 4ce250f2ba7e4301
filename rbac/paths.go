package rbac

import (
	"cmp"
	"maps"
	"slices"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/kubeharden/kubeharden/inventory"
)

// ClusterAdmin is the target node of escalation paths: power equivalent
// to cluster-admin.
var ClusterAdmin = Subject{Kind: "Target", Name: "cluster-admin"}

// Objects are the non-RBAC objects escalation paths need: the service
// accounts of each namespace, the legacy token Secrets that hold their
// tokens, and the workloads exposed outside the cluster.
type Objects struct {
	mu         sync.Mutex
	namespaces map[string]bool
	sas        map[string]map[string]bool
	tokens     map[string][]tokenSecret
	services   []service
	// byLabel indexes services by namespace and the first (smallest) key
	// of their selector with its value: a pod is selected only by the
	// services found under one of its labels.
	byLabel   map[[3]string][]int
	ingressed map[[2]string]bool // namespace, service name
	workloads []workload
	// enforce is the Pod Security Admission enforce level of each
	// Namespace object read ("" without the label).
	enforce map[string]string
	// nodes are the Node objects read: true for control-plane nodes.
	nodes map[string]bool
	// nodeSAs are the service accounts of the Pods on each node;
	// podSAs those of every pod-bearing object.
	nodeSAs map[string]map[Subject]bool
	podSAs  map[Subject]bool
	// escapes are the pods and templates with PodEscapes, by namespace.
	escapes map[string][]Pod
	live    bool
}

type tokenSecret struct{ secret, sa string }

// service is a Service selecting pods: exposed itself (ingress "") or
// exposed when an Ingress routes to the Service named ingress.
type service struct {
	namespace string
	selector  map[string]string
	ingress   string
}

type workload struct {
	ref       string
	namespace string
	labels    map[string]string
	sa        string
}

// NewObjects returns an empty set of objects.
func NewObjects() *Objects {
	return &Objects{namespaces: map[string]bool{}, sas: map[string]map[string]bool{}, tokens: map[string][]tokenSecret{},
		ingressed: map[[2]string]bool{}, byLabel: map[[3]string][]int{}, enforce: map[string]string{}, nodes: map[string]bool{},
		nodeSAs: map[string]map[Subject]bool{}, podSAs: map[Subject]bool{}, escapes: map[string][]Pod{}}
}

// AddServiceAccount records a service account.
func (x *Objects) AddServiceAccount(namespace, name string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.addSA(namespace, name)
}

func (x *Objects) addSA(namespace, name string) {
	x.namespaces[namespace] = true
	if x.sas[namespace] == nil {
		x.sas[namespace] = map[string]bool{}
	}
	x.sas[namespace][name] = true
}

// AddObject records what o says: a namespace (with its Pod Security
// Admission enforce level), a node (control plane or not), a service account, a
// Secret holding a service account token (by its
// kubernetes.io/service-account.name annotation, which the metadata a live
// scan reads carries), a LoadBalancer or NodePort Service, an Ingress's
// backend services, a pod-bearing object's service account (and PodEscapes,
// and a Pod's node).
func (x *Objects) AddObject(o *inventory.Object) {
	if o == nil || o.Meta == nil {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	ns := o.Meta.Namespace
	if ns == "" {
		// A manifest of a namespaced kind without a namespace goes to
		// kubectl's default namespace.
		switch o.Typed.(type) {
		case *corev1.ServiceAccount, *corev1.Secret, *corev1.Service, *networkingv1.Ingress:
			ns = DefaultNamespace
		default:
			if o.Pod() != nil {
				ns = DefaultNamespace
			}
		}
	}
	if ns != "" {
		x.namespaces[ns] = true
	}
	switch t := o.Typed.(type) {
	case *corev1.Namespace:
		x.addNamespace(t.Name, t.Labels)
	case *corev1.Node:
		_, cp := t.Labels[ControlPlaneLabel]
		_, master := t.Labels[MasterLabel]
		x.nodes[t.Name] = cp || master
	case *corev1.ServiceAccount:
		x.addSA(ns, t.Name)
	case *corev1.Secret:
		if sa := o.Meta.Annotations[corev1.ServiceAccountNameKey]; sa != "" && (t.Type == "" || t.Type == corev1.SecretTypeServiceAccountToken) {
			x.tokens[ns] = append(x.tokens[ns], tokenSecret{secret: o.Meta.Name, sa: sa})
			x.addSA(ns, sa)
		}
	case *corev1.Service:
		if (t.Spec.Type == corev1.ServiceTypeLoadBalancer || t.Spec.Type == corev1.ServiceTypeNodePort) && len(t.Spec.Selector) > 0 {
			x.addService(service{namespace: ns, selector: t.Spec.Selector})
		} else if t.Spec.Type != corev1.ServiceTypeExternalName && len(t.Spec.Selector) > 0 {
			x.addService(service{namespace: ns, selector: t.Spec.Selector, ingress: t.Name})
		}
	case *networkingv1.Ingress:
		if b := t.Spec.DefaultBackend; b != nil && b.Service != nil {
			x.ingressed[[2]string{ns, b.Service.Name}] = true
		}
		for _, r := range t.Spec.Rules {
			if r.HTTP == nil {
				continue
			}
			for _, p := range r.HTTP.Paths {
				if p.Backend.Service != nil {
					x.ingressed[[2]string{ns, p.Backend.Service.Name}] = true
				}
			}
		}
	default:
		if p := o.Pod(); p != nil {
			var l map[string]string
			if p.Meta != nil {
				l = p.Meta.Labels
			}
			ref := o.Kind + "/" + ns + "/" + o.Meta.Name
			sa := PodServiceAccount(p.Spec)
			x.addWorkload(ref, ns, l, sa)
			pod := Pod{Ref: ref, Namespace: ns, ServiceAccount: sa, Escapes: PodEscapes(p.Spec)}
			if t, ok := o.Typed.(*corev1.Pod); ok {
				pod.Name, pod.NodeName = o.Meta.Name, t.Spec.NodeName
			}
			x.addPod(pod)
		}
	}
}

// PodServiceAccount is the service account a pod spec runs as:
// serviceAccountName, else the deprecated serviceAccount, else default.
func PodServiceAccount(spec *corev1.PodSpec) string {
	if spec == nil {
		return "default"
	}
	return cmp.Or(spec.ServiceAccountName, spec.DeprecatedServiceAccount, "default")
}

// AddWorkload records a pod-bearing object, named ref (Kind/namespace/name),
// whose pods carry labels and run as serviceAccount: AddObject's record of
// a pod-bearing object, for callers that keep workloads elsewhere until
// they know which are exposed (see Exposes).
func (x *Objects) AddWorkload(ref, namespace string, labels map[string]string, serviceAccount string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.addWorkload(ref, namespace, labels, serviceAccount)
}

func (x *Objects) addWorkload(ref, namespace string, labels map[string]string, sa string) {
	x.workloads = append(x.workloads, workload{ref: ref, namespace: namespace, labels: labels, sa: sa})
	x.addSA(namespace, sa)
}

func (x *Objects) addService(s service) {
	x.services = append(x.services, s)
	k := slices.Min(slices.Collect(maps.Keys(s.selector)))
	key := [3]string{s.namespace, k, s.selector[k]}
	x.byLabel[key] = append(x.byLabel[key], len(x.services)-1)
}

// Exposes reports whether pods of namespace with labels are selected by a
// LoadBalancer or NodePort Service, or by a Service an Ingress routes to,
// among the Services and Ingresses recorded so far.
func (x *Objects) Exposes(namespace string, podLabels map[string]string) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.exposedBy(namespace, podLabels)
}

func (x *Objects) exposedBy(namespace string, podLabels map[string]string) bool {
	for k, v := range podLabels {
		for _, i := range x.byLabel[[3]string{namespace, k, v}] {
			if x.exposes(x.services[i], namespace, podLabels) {
				return true
			}
		}
	}
	return false
}

func (x *Objects) exposes(s service, namespace string, podLabels map[string]string) bool {
	if s.namespace != namespace || (s.ingress != "" && !x.ingressed[[2]string{s.namespace, s.ingress}]) {
		return false
	}
	return labels.SelectorFromSet(s.selector).Matches(labels.Set(podLabels))
}

// Exposed is a workload reachable from outside the cluster and its service account.
type Exposed struct {
	Workload       string
	ServiceAccount Subject
}

// Exposed lists the workloads a LoadBalancer or NodePort Service, or a
// Service an Ingress routes to, selects.
func (x *Objects) Exposed() []Exposed {
	var out []Exposed
	seen := map[string]bool{}
	for _, w := range x.workloads {
		if !seen[w.ref] && x.exposedBy(w.namespace, w.labels) {
			seen[w.ref] = true
			out = append(out, Exposed{Workload: w.ref, ServiceAccount: Subject{Kind: rbacv1.ServiceAccountKind, Namespace: w.namespace, Name: w.sa}})
		}
	}
	slices.SortFunc(out, func(a, b Exposed) int { return cmp.Compare(a.Workload, b.Workload) })
	return out
}

// Step is one request an escalation primitive needs and the grant that allows it.
type Step struct {
	Request Request
	Grant   Grant
}

// Edge is one escalation primitive: From can become To (or, for
// ClusterAdmin, gain power equal to cluster-admin's) with the requests of
// Steps, each allowed by the authorizer.
type Edge struct {
	From, To  Subject
	Primitive string
	// Steps are the requests the primitive makes; none for what is done
	// on a node (root on it reads its files, no API request).
	Steps []Step
	// Approximate is set when the edge rests on an assumption about what
	// the objects read do not say, which Assumption spells out: every
	// service account of a namespace standing for those of its running
	// pods, a namespace's Pod Security Admission level, a control-plane
	// node or the nodes a workload's pods run on.
	Approximate bool
	Assumption  string
}

// Path is the shortest chain of primitives from a subject to ClusterAdmin.
type Path struct {
	Subject Subject
	// Exposed names the exposed workloads running as Subject, if any.
	Exposed []string
	Hops    []Edge
}

// Graph holds escalation edges; it is built lazily from a set and objects.
type Graph struct {
	set   *Set
	objs  *Objects
	edges map[Subject][]Edge
	sas   map[string][]Subject // serviceAccounts, by namespace
	// Candidate identities for impersonation.
	users, groups []string
	namespaces    []string
	nodeList      []Subject
	// The user names and groups some binding that may allow an
	// escalation primitive names (mayHaveEdges).
	dangerUsers, dangerGroups map[string]bool
	// The same for service accounts: by namespace and name, and the
	// namespaces whose group is named.
	dangerSAs          map[[2]string]bool
	dangerSANamespaces map[string]bool
	// at is Edges' scratch index of its edges by target, scratch its
	// buffer of edges.
	at      map[Subject]int
	scratch []Edge
	// pruned are the edges Paths goes through (edgesOf); liveSAs the
	// service accounts of each namespace that may be on a path.
	pruned  map[Subject][]Edge
	liveSAs map[string][]Subject
	// noPrune (tests) takes every subject to may have edges.
	noPrune bool
}

// NewGraph prepares the escalation graph of s with objs (nil: none known).
func NewGraph(s *Set, objs *Objects) *Graph {
	if objs == nil {
		objs = NewObjects()
	}
	s.index()
	g := &Graph{set: s, objs: objs, edges: map[Subject][]Edge{}, pruned: map[Subject][]Edge{}, sas: map[string][]Subject{}}
	nss := map[string]bool{}
	for ns := range objs.namespaces {
		nss[ns] = true
	}
	for ns := range s.nsBindings {
		nss[ns] = true
	}
	for _, sub := range s.Subjects() {
		switch sub.Kind {
		case rbacv1.UserKind:
			g.users = append(g.users, sub.Name)
		case rbacv1.GroupKind:
			g.groups = append(g.groups, sub.Name)
		case rbacv1.ServiceAccountKind:
			nss[sub.Namespace] = true
		}
	}
	g.namespaces = keysOf(nss)
	for _, ns := range g.namespaces {
		objs.AddServiceAccount(ns, "default")
	}
	g.dangerUsers, g.dangerGroups = map[string]bool{}, map[string]bool{}
	g.dangerSAs, g.dangerSANamespaces = map[[2]string]bool{}, map[string]bool{}
	objs.mu.Lock()
	tokens := objs.tokens
	objs.mu.Unlock()
	anyTokens := false
	for _, t := range tokens {
		anyTokens = anyTokens || len(t) > 0
	}
	for key, bs := range s.bySubject {
		for _, b := range bs {
			if b.danger&relPrimitive != 0 || b.danger&relSecrets != 0 && (b.namespace == "" && anyTokens || len(tokens[b.namespace]) > 0) {
				if name, ok := strings.CutPrefix(key, "u\x00"); ok {
					g.dangerUsers[name] = true
					if rest, ok := strings.CutPrefix(name, saPrefix); ok {
						ns, sa, _ := strings.Cut(rest, ":")
						g.dangerSAs[[2]string{ns, sa}] = true
					}
				} else {
					grp := strings.TrimPrefix(key, "g\x00")
					g.dangerGroups[grp] = true
					if ns, ok := strings.CutPrefix(grp, ServiceAccountGroup+":"); ok {
						g.dangerSANamespaces[ns] = true
					}
				}
				break
			}
		}
	}
	return g
}

// mayHaveEdges reports whether sub may have an edge: a node, a member of
// system:masters, or an identity some binding that may allow a primitive
// names. Edges of any other subject are none, found in O(1).
func (g *Graph) mayHaveEdges(sub Subject) bool {
	if g.noPrune {
		return sub != ClusterAdmin
	}
	switch sub.Kind {
	case NodeKind:
		return true
	case ClusterAdmin.Kind:
		return sub != ClusterAdmin
	case rbacv1.ServiceAccountKind:
		// Its identity (ServiceAccountUser), without building it.
		return g.dangerSAs[[2]string{sub.Namespace, sub.Name}] || g.dangerSANamespaces[sub.Namespace] ||
			g.dangerGroups[ServiceAccountGroup] || g.dangerGroups[AuthenticatedGroup]
	}
	id := sub.Identity()
	if g.dangerUsers[id.Name] {
		return true
	}
	for _, grp := range id.Groups {
		if grp == MastersGroup || g.dangerGroups[grp] {
			return true
		}
	}
	return false
}

func (g *Graph) serviceAccounts(ns string) []Subject {
	if out, ok := g.sas[ns]; ok {
		return out
	}
	var out []Subject
	for _, name := range keysOf(g.objs.sas[ns]) {
		out = append(out, Subject{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: name})
	}
	g.sas[ns] = out
	return out
}

var podCreators = []Request{
	{Verb: "create", Resource: "pods"},
	{Verb: "create", Group: "apps", Resource: "deployments"},
	{Verb: "create", Group: "apps", Resource: "replicasets"},
	{Verb: "create", Group: "apps", Resource: "statefulsets"},
	{Verb: "create", Group: "apps", Resource: "daemonsets"},
	{Verb: "create", Group: "batch", Resource: "jobs"},
	{Verb: "create", Group: "batch", Resource: "cronjobs"},
	{Verb: "create", Resource: "replicationcontrollers"},
}

var podEntries = []Request{
	{Verb: "create", Resource: "pods", Subresource: "exec"},
	{Verb: "create", Resource: "pods", Subresource: "attach"},
	{Verb: "create", Resource: "pods", Subresource: "portforward"},
	{Verb: "update", Resource: "pods", Subresource: "ephemeralcontainers"},
	{Verb: "patch", Resource: "pods", Subresource: "ephemeralcontainers"},
}

const rbacGroup = rbacv1.GroupName

// namespacedRequests are every request the namespaced primitives make
// (without names).
var namespacedRequests = slices.Concat(podCreators, podEntries, []Request{
	{Verb: "list", Resource: "secrets"}, {Verb: "watch", Resource: "secrets"}, {Verb: "get", Resource: "secrets"},
	{Verb: "create", Resource: "serviceaccounts", Subresource: "token"},
	{Verb: "impersonate", Resource: "serviceaccounts"},
	{Verb: "create", Group: rbacGroup, Resource: "rolebindings"},
	{Verb: "update", Group: rbacGroup, Resource: "rolebindings"},
	{Verb: "escalate", Group: rbacGroup, Resource: "roles"},
})

// clusterPrimitives are cluster-wide primitives that are cluster-admin
// equivalent: each is a list of alternatives, each alternative a list of
// requests that must all be allowed.
var clusterPrimitives = []struct {
	name string
	alts [][]Request
}{
	{"cluster-admin grant (*/*/*)", [][]Request{{{Verb: "*", Group: "*", Resource: "*"}}}},
	{"bind cluster-admin", [][]Request{
		{{Verb: "create", Group: rbacGroup, Resource: "clusterrolebindings"}, {Verb: "bind", Group: rbacGroup, Resource: "clusterroles", Name: "cluster-admin"}},
		{{Verb: "update", Group: rbacGroup, Resource: "clusterrolebindings"}, {Verb: "bind", Group: rbacGroup, Resource: "clusterroles", Name: "cluster-admin"}},
	}},
	{"escalate clusterroles", [][]Request{
		{{Verb: "escalate", Group: rbacGroup, Resource: "clusterroles"}, {Verb: "update", Group: rbacGroup, Resource: "clusterroles"}},
		{{Verb: "escalate", Group: rbacGroup, Resource: "clusterroles"}, {Verb: "patch", Group: rbacGroup, Resource: "clusterroles"}},
	}},
	{"nodes/proxy (kubelet API: every pod of the node)", [][]Request{{{Verb: "get", Resource: "nodes", Subresource: "proxy"}}}},
	{"admission control (webhooks, policies)", writes("admissionregistration.k8s.io", "mutatingwebhookconfigurations", "validatingwebhookconfigurations", "validatingadmissionpolicies")},
	{"API extension (CRDs, APIServices)", append(writes("apiextensions.k8s.io", "customresourcedefinitions"), writes("apiregistration.k8s.io", "apiservices")...)},
	{"create persistentvolumes (host filesystem)", [][]Request{{{Verb: "create", Resource: "persistentvolumes"}}}},
}

const csrPrimitive = "sign a client certificate (CSR create, approve)"

// csrRequests are what getting a client certificate signed takes: create
// a CertificateSigningRequest for the kube-apiserver-client signer and
// approve it (the controller manager signs approved requests).
var csrRequests = []Request{
	{Verb: "create", Group: "certificates.k8s.io", Resource: "certificatesigningrequests"},
	{Verb: "update", Group: "certificates.k8s.io", Resource: "certificatesigningrequests", Subresource: "approval"},
	{Verb: "approve", Group: "certificates.k8s.io", Resource: "signers", Name: "kubernetes.io/kube-apiserver-client"},
}

func writes(group string, resources ...string) [][]Request {
	var out [][]Request
	for _, r := range resources {
		for _, v := range []string{"create", "update", "patch"} {
			out = append(out, []Request{{Verb: v, Group: group, Resource: r}})
		}
	}
	return out
}

// allowedAll returns the steps when p is allowed every request.
func allowedAll(p *Principal, reqs []Request, ns string) ([]Step, bool) {
	var buf [4]Grant
	grants := buf[:0]
	for _, r := range reqs {
		if r.Namespace == "" {
			r.Namespace = ns
		}
		g, ok := p.first(r)
		if !ok {
			return nil, false
		}
		grants = append(grants, g)
	}
	steps := make([]Step, len(reqs))
	for i, r := range reqs {
		if r.Namespace == "" {
			r.Namespace = ns
		}
		steps[i] = Step{Request: r, Grant: grants[i]}
	}
	return steps, true
}

// Edges returns the escalation primitives from sub, each decided with the
// authorizer for sub's identity (Subject.Identity). Namespaced primitives
// are asked in every namespace when a ClusterRoleBinding applies to sub,
// otherwise in the namespaces of its RoleBindings. A privileged pod pinned
// to a node is one edge to a hub (Kind Node, no name) whose edges, which
// cost no hop, go to every node worth reaching: Paths picks the node. The
// edges of a node (Kind Node) are what root on it reaches, without
// requests. One edge per target: the first found, or the first exact one.
func (g *Graph) Edges(sub Subject) []Edge { return g.edgesOf(sub, false) }

// live reports whether an edge to sub may be on a path: to ClusterAdmin,
// a node, or a subject that may have edges.
func (g *Graph) live(sub Subject) bool {
	return sub == ClusterAdmin || sub.Kind == NodeKind || g.mayHaveEdges(sub)
}

// edgesOf is Edges, without the edges to subjects that are on no path
// (live) when prune is set: what Paths goes through.
func (g *Graph) edgesOf(sub Subject, prune bool) []Edge {
	cache := g.edges
	if prune {
		cache = g.pruned
	}
	if e, ok := cache[sub]; ok {
		return e
	}
	var out []Edge
	if sub == ClusterAdmin {
		cache[sub] = nil
		return nil
	}
	if sub == nodeHub {
		for _, n := range g.nodeTargets() {
			out = append(out, Edge{From: nodeHub, To: n})
		}
		cache[sub] = out
		return out
	}
	if sub.Kind == NodeKind {
		out = g.nodeEdges(sub, prune)
		cache[sub] = out
		return out
	}
	if !g.mayHaveEdges(sub) {
		return nil
	}
	// to reports whether an edge to t is kept.
	to := func(t Subject) bool { return !prune || g.live(t) }
	// Gathered in a buffer reused from call to call, then copied: the
	// edges kept take their size, not that of the growing buffer.
	out = g.scratch[:0]
	defer func() { g.scratch = out[:0] }()
	p := g.set.For(sub.Identity())
	// One edge per target: the first primitive found, replaced by the
	// first exact one when it is approximate.
	if g.at == nil {
		g.at = map[Subject]int{}
	}
	at := g.at
	clear(at)
	push := func(e Edge) {
		if e.To == sub || !to(e.To) {
			return
		}
		if i, ok := at[e.To]; ok {
			if out[i].Approximate && !e.Approximate {
				out[i] = e
			}
			return
		}
		at[e.To] = len(out)
		out = append(out, e)
	}
	add := func(to Subject, prim string, steps []Step, approx bool) {
		e := Edge{From: sub, To: to, Primitive: prim, Steps: steps, Approximate: approx}
		if approx {
			e.Assumption = assumeRunningPods
		}
		push(e)
	}
	// The node hop: exact ones (a namespace labelled privileged,
	// relabelling) are kept over those that assume a namespace's level.
	var nodeHop *Edge
	nodeVia := func(prim string, steps []Step, assumption string) {
		if nodeHop == nil || nodeHop.Approximate && assumption == "" {
			nodeHop = &Edge{From: sub, Primitive: prim, Steps: steps, Approximate: assumption != "", Assumption: assumption}
		}
	}
	for _, prim := range clusterPrimitives {
		for _, alt := range prim.alts {
			if steps, ok := allowedAll(p, alt, ""); ok {
				add(ClusterAdmin, prim.name, steps, false)
				break
			}
		}
	}
	// A client certificate from the kube-apiserver-client signer may name
	// any user and groups but system:masters, which the API server's
	// certificatesigning subject restriction refuses.
	if steps, ok := allowedAll(p, csrRequests, ""); ok {
		for _, grp := range g.groups {
			if grp != MastersGroup {
				add(Subject{Kind: rbacv1.GroupKind, Name: grp}, csrPrimitive, steps, false)
			}
		}
		for _, u := range g.users {
			add(Subject{Kind: rbacv1.UserKind, Name: u}, csrPrimitive, steps, false)
		}
	}
	impersonates := p.hasVerb("impersonate")
	if impersonates {
		// The API server impersonates groups only together with a user
		// or service account, which must be allowed as well.
		if as, ok := p.impersonableUser(g.namespaces); ok {
			for _, grp := range append([]string{MastersGroup}, g.groups...) {
				if !to(Subject{Kind: rbacv1.GroupKind, Name: grp}) {
					continue
				}
				if steps, ok := allowedAll(p, []Request{{Verb: "impersonate", Resource: "groups", Name: grp}}, ""); ok {
					add(Subject{Kind: rbacv1.GroupKind, Name: grp}, "impersonate group", append([]Step{as}, steps...), false)
				}
			}
		}
		for _, u := range g.users {
			if !to(Subject{Kind: rbacv1.UserKind, Name: u}) {
				continue
			}
			if steps, ok := allowedAll(p, []Request{{Verb: "impersonate", Resource: "users", Name: u}}, ""); ok {
				add(Subject{Kind: rbacv1.UserKind, Name: u}, "impersonate user", steps, false)
			}
		}
	}
	// Namespaced primitives are asked where RoleBindings apply to sub, and
	// in every namespace when the rules of its ClusterRoleBindings may
	// allow one.
	nss := p.Namespaces()
	if p.ClusterWide() && p.clusterMayAllow(namespacedRequests) {
		nss = g.namespaces
	}
	for _, ns := range nss {
		sas := g.serviceAccounts(ns)
		if len(sas) == 0 {
			continue
		}
		if prune {
			sas = g.liveServiceAccounts(ns)
		}
		all := func(prim string, steps []Step, approx bool) {
			for _, sa := range sas {
				add(sa, prim, steps, approx)
			}
		}
		found := false
		var podSteps []Step
		for _, r := range podCreators {
			if steps, ok := allowedAll(p, []Request{r}, ns); ok {
				all("create a pod running as the service account", steps, false)
				found, podSteps = true, steps
				break
			}
		}
		if found && (nodeHop == nil || nodeHop.Approximate) {
			// A privileged pod pinned to a node with spec.nodeName
			// (which bypasses the scheduler), where Pod Security
			// Admission admits it, or once the namespace is relabelled.
			if ok, assumption := g.objs.privilegedPods(ns); ok {
				nodeVia("create a privileged pod on the node (spec.nodeName)", podSteps, assumption)
			} else {
				for _, v := range []string{"patch", "update"} {
					if steps, ok := allowedAll(p, []Request{{Verb: v, Resource: "namespaces", Name: ns}}, ns); ok {
						nodeVia("relabel the namespace "+EnforceLabel+"=privileged, then create a privileged pod on the node",
							append(steps, podSteps...), "")
						break
					}
				}
			}
		}
		// Into a running pod that leads to its node.
		escapes := g.objs.escapes[ns]
		if len(escapes) > 0 && !p.mayAllowIn(ns, podEscapeRequests) {
			escapes = nil
		}
		for _, pod := range escapes {
			to, assumption, ok := g.objs.escapeNode(pod)
			if !ok {
				continue
			}
			for _, r := range podEscapeRequests {
				r.Name = pod.Name
				if steps, ok := allowedAll(p, []Request{r}, ns); ok {
					e := Edge{From: sub, To: to, Primitive: "enter a pod that can take its node (" + r.Subresource + " " + pod.Ref + ": " +
						strings.Join(pod.Escapes, ", ") + ")", Steps: steps, Approximate: assumption != "", Assumption: assumption}
					push(e)
					break
				}
			}
		}
		if !found {
			for _, alt := range [][]Request{
				{{Verb: "create", Group: rbacGroup, Resource: "rolebindings"}, {Verb: "bind", Group: rbacGroup, Resource: "clusterroles", Name: "cluster-admin"}},
				{{Verb: "update", Group: rbacGroup, Resource: "rolebindings"}, {Verb: "bind", Group: rbacGroup, Resource: "clusterroles", Name: "cluster-admin"}},
				{{Verb: "escalate", Group: rbacGroup, Resource: "roles"}, {Verb: "update", Group: rbacGroup, Resource: "roles"}},
			} {
				if steps, ok := allowedAll(p, alt, ns); ok {
					all("namespace admin (bind or escalate), then create a pod", steps, false)
					found = true
					break
				}
			}
		}
		if !found {
			for _, r := range podEntries {
				if steps, ok := allowedAll(p, []Request{r}, ns); ok {
					all("enter a running pod ("+r.Subresource+")", steps, true)
					break
				}
			}
		}
		listed := false
		for _, v := range []string{"list", "watch"} {
			if steps, ok := allowedAll(p, []Request{{Verb: v, Resource: "secrets"}}, ns); ok {
				for _, t := range g.objs.tokens[ns] {
					add(Subject{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: t.sa}, "read a token Secret ("+t.secret+")", steps, false)
				}
				listed = true
				break
			}
		}
		if !listed && p.mayAllowIn(ns, []Request{{Verb: "get", Resource: "secrets"}}) {
			for _, t := range g.objs.tokens[ns] {
				if !to(Subject{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: t.sa}) {
					continue
				}
				if steps, ok := allowedAll(p, []Request{{Verb: "get", Resource: "secrets", Name: t.secret}}, ns); ok {
					add(Subject{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: t.sa}, "read a token Secret ("+t.secret+")", steps, false)
				}
			}
		}
		// Per service account, only when some rule may allow it.
		tokens := p.mayAllowIn(ns, []Request{{Verb: "create", Resource: "serviceaccounts", Subresource: "token"}})
		imps := impersonates && p.mayAllowIn(ns, []Request{{Verb: "impersonate", Resource: "serviceaccounts"}})
		for _, sa := range sas {
			if !tokens && !imps {
				break
			}
			if tokens {
				if steps, ok := allowedAll(p, []Request{{Verb: "create", Resource: "serviceaccounts", Subresource: "token", Name: sa.Name}}, ns); ok {
					add(sa, "create a token (serviceaccounts/token)", steps, false)
					continue
				}
			}
			if imps {
				if steps, ok := allowedAll(p, []Request{{Verb: "impersonate", Resource: "serviceaccounts", Name: sa.Name}}, ns); ok {
					add(sa, "impersonate service account", steps, false)
				}
			}
		}
	}
	if nodeHop != nil && len(g.nodeTargets()) > 0 {
		// One edge to the hub that stands for every node: Paths picks
		// the node (the subject pins its pod to any).
		e := *nodeHop
		e.To = nodeHub
		push(e)
	}
	var res []Edge
	if len(out) > 0 {
		res = slices.Clone(out)
	}
	cache[sub] = res
	return res
}

// liveServiceAccounts are the service accounts of ns that may be on a path.
func (g *Graph) liveServiceAccounts(ns string) []Subject {
	if out, ok := g.liveSAs[ns]; ok {
		return out
	}
	var out []Subject
	for _, sa := range g.serviceAccounts(ns) {
		if g.mayHaveEdges(sa) {
			out = append(out, sa)
		}
	}
	if g.liveSAs == nil {
		g.liveSAs = map[string][]Subject{}
	}
	g.liveSAs[ns] = out
	return out
}

// Sources are the subjects paths are looked for from: every subject the
// bindings name but system ones (system: users and groups, service
// accounts of kube-system, kube-public and kube-node-lease), and the
// service accounts of exposed workloads.
func (g *Graph) Sources() []Subject {
	var out []Subject
	for _, s := range g.set.Subjects() {
		if strings.HasPrefix(s.Name, "system:") || s.Namespace == "kube-system" || s.Namespace == "kube-public" || s.Namespace == "kube-node-lease" {
			continue
		}
		out = append(out, s)
	}
	for _, e := range g.objs.Exposed() {
		if !slices.Contains(out, e.ServiceAccount) {
			out = append(out, e.ServiceAccount)
		}
	}
	return out
}

// Paths returns the shortest path from each source that reaches
// ClusterAdmin, in the order of sources; among the shortest, one with the
// fewest approximate hops.
func (g *Graph) Paths(sources []Subject) []Path {
	// Explore every node reachable from the sources that may lead
	// somewhere: one without edges (mayHaveEdges) is no step of a path,
	// and leaving it out keeps the order of the others.
	// A node is queued once, when first found (as the first of its
	// copies in a queue of every target would be expanded).
	var nodes []Subject
	seen := map[Subject]bool{}
	queue := []Subject{}
	visit := func(n Subject) {
		if !seen[n] && g.mayHaveEdges(n) {
			seen[n] = true
			queue = append(queue, n)
		}
	}
	for _, n := range sources {
		visit(n)
	}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		nodes = append(nodes, n)
		for _, e := range g.edgesOf(n, true) {
			visit(e.To)
		}
	}
	// Breadth-first from the target over reversed edges: next[n] is the
	// first hop of a shortest path from n. Edges to subjects without
	// edges lead nowhere.
	rev := map[Subject][]*Edge{}
	for _, n := range nodes {
		es := g.edgesOf(n, true)
		for i := range es {
			if to := es[i].To; to == ClusterAdmin || seen[to] {
				rev[to] = append(rev[to], &es[i])
			}
		}
	}
	// Among shortest paths, the one with the fewest approximate hops.
	// Edges from the node hub cost nothing: the hub is at the distance of
	// its best node, and expanded last in its level, once that is known.
	next := map[Subject]Edge{}
	approx := map[Subject]int{ClusterAdmin: 0}
	done := map[Subject]bool{ClusterAdmin: true}
	frontier := []Subject{ClusterAdmin}
	for len(frontier) > 0 {
		var nf []Subject
		level := map[Subject]bool{}
		expand := func(t Subject) {
			for _, e := range rev[t] {
				e := *e
				a := approx[t]
				if e.Approximate {
					a++
				}
				switch {
				case e.From == nodeHub && !done[nodeHub]:
					done[nodeHub], level[nodeHub] = true, true
					next[nodeHub], approx[nodeHub] = e, a
				case e.From == nodeHub:
					if level[nodeHub] && a < approx[nodeHub] {
						next[nodeHub], approx[nodeHub] = e, a
					}
				case !done[e.From]:
					done[e.From], level[e.From] = true, true
					next[e.From], approx[e.From] = e, a
					nf = append(nf, e.From)
				case level[e.From] && a < approx[e.From]:
					next[e.From], approx[e.From] = e, a
				}
			}
		}
		for _, t := range frontier {
			expand(t)
		}
		if level[nodeHub] {
			expand(nodeHub)
		}
		frontier = nf
	}
	exposed := map[Subject][]string{}
	for _, e := range g.objs.Exposed() {
		exposed[e.ServiceAccount] = append(exposed[e.ServiceAccount], e.Workload)
	}
	var out []Path
	for _, s := range sources {
		if s == ClusterAdmin || !done[s] {
			continue
		}
		p := Path{Subject: s, Exposed: exposed[s]}
		for n := s; n != ClusterAdmin; n = next[n].To {
			e := next[n]
			if e.To == nodeHub {
				// To the node the hub's shortest path goes through.
				e.To = next[nodeHub].To
				n = nodeHub
			}
			p.Hops = append(p.Hops, e)
		}
		out = append(out, p)
	}
	return out
}

// ImpersonationUser is the user name impersonate-group steps use when any
// name is allowed.
const ImpersonationUser = "kubeharden-escalation"

// impersonableUser returns a step impersonating some user, or some service
// account of namespaces, that p is allowed: any user name (as
// ImpersonationUser), else a name a rule lists in resourceNames, else the
// default service account of a namespace, else one a rule names.
func (p *Principal) impersonableUser(namespaces []string) (Step, bool) {
	cands := []Request{{Verb: "impersonate", Resource: "users", Name: ImpersonationUser}}
	var named []Request
	visit := func(bs []*roleBinding, ns string) {
		for _, b := range bs {
			rules := b.rules
			for i := range rules {
				r := &rules[i]
				if !VerbMatches(r, "impersonate") || !APIGroupMatches(r, "") {
					continue
				}
				for _, n := range r.ResourceNames {
					named = append(named, Request{Verb: "impersonate", Resource: "users", Name: n})
					if ns != "" {
						named = append(named, Request{Verb: "impersonate", Resource: "serviceaccounts", Namespace: ns, Name: n})
					}
				}
			}
		}
	}
	visit(p.cluster, "")
	for _, ns := range p.Namespaces() {
		visit(p.ns[ns], ns)
	}
	cands = append(cands, named...)
	nss := p.Namespaces()
	if p.ClusterWide() {
		nss = namespaces
	}
	for _, ns := range nss {
		cands = append(cands, Request{Verb: "impersonate", Resource: "serviceaccounts", Namespace: ns, Name: "default"})
	}
	for _, r := range cands {
		if grant, ok := p.first(r); ok {
			return Step{Request: r, Grant: grant}, true
		}
	}
	return Step{}, false
}
