// Package kinds is kubeharden's one table of the Kubernetes kinds it
// reads: group, version, kind, plural resource, scope, Go type, and
// whether the kind carries a pod template or controls other objects.
//
// Everything that needs a list of kinds derives it from here: the
// manifest decoder's scheme, the cluster source's listers, the checks'
// Kinds, the engine's dispatch (by group and kind, so two kinds of the
// same name in different groups never collide) and the ClusterRole
// published in deploy/. Adding a kind is one entry in this file.
package kinds

import (
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeharden/kubeharden/auditpolicy"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/nodeconf"
)

// GroupKind names a kind independently of its version.
type GroupKind struct {
	Group, Kind string
}

func (gk GroupKind) String() string {
	if gk.Group == "" {
		return gk.Kind
	}
	return gk.Kind + "." + gk.Group
}

// Item is one object of a list: its typed value and its metadata.
type Item struct {
	Obj  any
	Meta *metav1.ObjectMeta
}

// Type is one kind kubeharden reads.
type Type struct {
	Group   string
	Version string
	Kind    string
	// Resource is the plural resource name, as in URLs and RBAC rules.
	Resource string
	// Namespaced is false for cluster-scoped kinds.
	Namespaced bool
	// PodBearing kinds carry a pod spec or template.
	PodBearing bool
	// Controller kinds own the pod-bearing objects they create: a cluster
	// scan folds those into their controller.
	Controller bool
	// MetadataOnly kinds are read from a cluster as metadata only: their
	// content (a Secret's data) never reaches kubeharden.
	MetadataOnly bool
	// Synthetic kinds are not served by the API server: sources make them
	// (the APIServer object carrying /version), or they are configuration
	// files read from disk only (the audit Policy).
	Synthetic bool
	// Aliases are older group names whose objects decode into the same Go
	// type (extensions/v1beta1 Deployments...): the fields checks read
	// kept their shape.
	Aliases []string

	newObj  func() (any, *metav1.ObjectMeta)
	newList func() (any, func() []Item)
}

// APIVersion returns group/version ("v1" for the core group).
func (t *Type) APIVersion() string {
	if t.Group == "" {
		return t.Version
	}
	return t.Group + "/" + t.Version
}

// GroupKind returns the type's group and kind.
func (t *Type) GroupKind() GroupKind { return GroupKind{t.Group, t.Kind} }

// String returns Kind or Kind.group.
func (t *Type) String() string { return t.GroupKind().String() }

// New returns a new, empty object of the type and a pointer to its metadata.
func (t *Type) New() (any, *metav1.ObjectMeta) { return t.newObj() }

// NewList returns a new, empty list of the type (a pointer to its List Go
// type, to decode a LIST response into) and a function returning the
// decoded items. Synthetic kinds have no list: ok is false.
func (t *Type) NewList() (list any, items func() []Item, ok bool) {
	if t.newList == nil {
		return nil, nil, false
	}
	list, items = t.newList()
	return list, items, true
}

// define builds a Type whose objects are T and whose lists are L.
func define[T any, L any](t Type, meta func(*T) *metav1.ObjectMeta, items func(*L) []T) *Type {
	t.newObj = func() (any, *metav1.ObjectMeta) {
		o := new(T)
		return o, meta(o)
	}
	if items != nil {
		t.newList = func() (any, func() []Item) {
			l := new(L)
			return l, func() []Item {
				xs := items(l)
				out := make([]Item, len(xs))
				for i := range xs {
					out[i] = Item{Obj: &xs[i], Meta: meta(&xs[i])}
				}
				return out
			}
		}
	}
	p := new(Type)
	*p = t
	return p
}

const (
	rbacGroup = "rbac.authorization.k8s.io"
	netGroup  = "networking.k8s.io"
)

// The kinds, in the order a cluster scan lists them.
var (
	Namespace = define(Type{Version: "v1", Kind: "Namespace", Resource: "namespaces"},
		func(o *corev1.Namespace) *metav1.ObjectMeta { return &o.ObjectMeta }, func(l *corev1.NamespaceList) []corev1.Namespace { return l.Items })
	Node = define(Type{Version: "v1", Kind: "Node", Resource: "nodes"},
		func(o *corev1.Node) *metav1.ObjectMeta { return &o.ObjectMeta }, func(l *corev1.NodeList) []corev1.Node { return l.Items })
	Pod = define(Type{Version: "v1", Kind: "Pod", Resource: "pods", Namespaced: true, PodBearing: true},
		func(o *corev1.Pod) *metav1.ObjectMeta { return &o.ObjectMeta }, func(l *corev1.PodList) []corev1.Pod { return l.Items })
	ReplicationController = define(Type{Version: "v1", Kind: "ReplicationController", Resource: "replicationcontrollers", Namespaced: true, PodBearing: true, Controller: true},
		func(o *corev1.ReplicationController) *metav1.ObjectMeta { return &o.ObjectMeta }, func(l *corev1.ReplicationControllerList) []corev1.ReplicationController { return l.Items })
	PodTemplate = define(Type{Version: "v1", Kind: "PodTemplate", Resource: "podtemplates", Namespaced: true, PodBearing: true},
		func(o *corev1.PodTemplate) *metav1.ObjectMeta { return &o.ObjectMeta }, func(l *corev1.PodTemplateList) []corev1.PodTemplate { return l.Items })
	Service = define(Type{Version: "v1", Kind: "Service", Resource: "services", Namespaced: true},
		func(o *corev1.Service) *metav1.ObjectMeta { return &o.ObjectMeta }, func(l *corev1.ServiceList) []corev1.Service { return l.Items })
	ConfigMap = define(Type{Version: "v1", Kind: "ConfigMap", Resource: "configmaps", Namespaced: true},
		func(o *corev1.ConfigMap) *metav1.ObjectMeta { return &o.ObjectMeta }, func(l *corev1.ConfigMapList) []corev1.ConfigMap { return l.Items })
	Secret = define(Type{Version: "v1", Kind: "Secret", Resource: "secrets", Namespaced: true, MetadataOnly: true},
		func(o *corev1.Secret) *metav1.ObjectMeta { return &o.ObjectMeta }, func(l *corev1.SecretList) []corev1.Secret { return l.Items })
	ServiceAccount = define(Type{Version: "v1", Kind: "ServiceAccount", Resource: "serviceaccounts", Namespaced: true},
		func(o *corev1.ServiceAccount) *metav1.ObjectMeta { return &o.ObjectMeta }, func(l *corev1.ServiceAccountList) []corev1.ServiceAccount { return l.Items })
	ResourceQuota = define(Type{Version: "v1", Kind: "ResourceQuota", Resource: "resourcequotas", Namespaced: true},
		func(o *corev1.ResourceQuota) *metav1.ObjectMeta { return &o.ObjectMeta }, func(l *corev1.ResourceQuotaList) []corev1.ResourceQuota { return l.Items })
	LimitRange = define(Type{Version: "v1", Kind: "LimitRange", Resource: "limitranges", Namespaced: true},
		func(o *corev1.LimitRange) *metav1.ObjectMeta { return &o.ObjectMeta }, func(l *corev1.LimitRangeList) []corev1.LimitRange { return l.Items })

	Deployment = define(Type{Group: "apps", Version: "v1", Kind: "Deployment", Resource: "deployments", Namespaced: true, PodBearing: true, Controller: true, Aliases: []string{"extensions"}},
		func(o *appsv1.Deployment) *metav1.ObjectMeta { return &o.ObjectMeta }, func(l *appsv1.DeploymentList) []appsv1.Deployment { return l.Items })
	ReplicaSet = define(Type{Group: "apps", Version: "v1", Kind: "ReplicaSet", Resource: "replicasets", Namespaced: true, PodBearing: true, Controller: true, Aliases: []string{"extensions"}},
		func(o *appsv1.ReplicaSet) *metav1.ObjectMeta { return &o.ObjectMeta }, func(l *appsv1.ReplicaSetList) []appsv1.ReplicaSet { return l.Items })
	StatefulSet = define(Type{Group: "apps", Version: "v1", Kind: "StatefulSet", Resource: "statefulsets", Namespaced: true, PodBearing: true, Controller: true},
		func(o *appsv1.StatefulSet) *metav1.ObjectMeta { return &o.ObjectMeta }, func(l *appsv1.StatefulSetList) []appsv1.StatefulSet { return l.Items })
	DaemonSet = define(Type{Group: "apps", Version: "v1", Kind: "DaemonSet", Resource: "daemonsets", Namespaced: true, PodBearing: true, Controller: true, Aliases: []string{"extensions"}},
		func(o *appsv1.DaemonSet) *metav1.ObjectMeta { return &o.ObjectMeta }, func(l *appsv1.DaemonSetList) []appsv1.DaemonSet { return l.Items })
	Job = define(Type{Group: "batch", Version: "v1", Kind: "Job", Resource: "jobs", Namespaced: true, PodBearing: true, Controller: true},
		func(o *batchv1.Job) *metav1.ObjectMeta { return &o.ObjectMeta }, func(l *batchv1.JobList) []batchv1.Job { return l.Items })
	CronJob = define(Type{Group: "batch", Version: "v1", Kind: "CronJob", Resource: "cronjobs", Namespaced: true, PodBearing: true, Controller: true},
		func(o *batchv1.CronJob) *metav1.ObjectMeta { return &o.ObjectMeta }, func(l *batchv1.CronJobList) []batchv1.CronJob { return l.Items })

	Role = define(Type{Group: rbacGroup, Version: "v1", Kind: "Role", Resource: "roles", Namespaced: true},
		func(o *rbacv1.Role) *metav1.ObjectMeta { return &o.ObjectMeta }, func(l *rbacv1.RoleList) []rbacv1.Role { return l.Items })
	RoleBinding = define(Type{Group: rbacGroup, Version: "v1", Kind: "RoleBinding", Resource: "rolebindings", Namespaced: true},
		func(o *rbacv1.RoleBinding) *metav1.ObjectMeta { return &o.ObjectMeta }, func(l *rbacv1.RoleBindingList) []rbacv1.RoleBinding { return l.Items })
	ClusterRole = define(Type{Group: rbacGroup, Version: "v1", Kind: "ClusterRole", Resource: "clusterroles"},
		func(o *rbacv1.ClusterRole) *metav1.ObjectMeta { return &o.ObjectMeta }, func(l *rbacv1.ClusterRoleList) []rbacv1.ClusterRole { return l.Items })
	ClusterRoleBinding = define(Type{Group: rbacGroup, Version: "v1", Kind: "ClusterRoleBinding", Resource: "clusterrolebindings"},
		func(o *rbacv1.ClusterRoleBinding) *metav1.ObjectMeta { return &o.ObjectMeta }, func(l *rbacv1.ClusterRoleBindingList) []rbacv1.ClusterRoleBinding { return l.Items })

	NetworkPolicy = define(Type{Group: netGroup, Version: "v1", Kind: "NetworkPolicy", Resource: "networkpolicies", Namespaced: true, Aliases: []string{"extensions"}},
		func(o *networkingv1.NetworkPolicy) *metav1.ObjectMeta { return &o.ObjectMeta }, func(l *networkingv1.NetworkPolicyList) []networkingv1.NetworkPolicy { return l.Items })
	Ingress = define(Type{Group: netGroup, Version: "v1", Kind: "Ingress", Resource: "ingresses", Namespaced: true, Aliases: []string{"extensions"}},
		func(o *networkingv1.Ingress) *metav1.ObjectMeta { return &o.ObjectMeta }, func(l *networkingv1.IngressList) []networkingv1.Ingress { return l.Items })

	// APIServer is the synthetic object a cluster source makes of the API
	// server's /version (see inventory.APIServer).
	APIServer = define[inventory.APIServer, struct{}](Type{Group: inventory.APIServerGroup, Version: "v1", Kind: inventory.APIServerKind, Synthetic: true},
		func(o *inventory.APIServer) *metav1.ObjectMeta { return &o.ObjectMeta }, nil)
)

// NodeComponent is the synthetic object the node source makes of each
// control-plane or node component it finds (see nodeconf.Component).
var NodeComponent = define[nodeconf.Component, struct{}](Type{Group: nodeconf.Group, Version: "v1", Kind: nodeconf.Kind, Synthetic: true},
	func(o *nodeconf.Component) *metav1.ObjectMeta { return &o.ObjectMeta }, nil)

// AuditPolicy is the kube-apiserver's audit policy (--audit-policy-file):
// a configuration file, not an object the API server serves, so it is
// synthetic (read from files only, never listed from a cluster).
var AuditPolicy = define[auditpolicy.Policy, struct{}](Type{Group: auditpolicy.Group, Version: auditpolicy.Version, Kind: auditpolicy.Kind, Synthetic: true},
	func(o *auditpolicy.Policy) *metav1.ObjectMeta { return &o.ObjectMeta }, nil)

// Workload stands for every kind kubeharden has no Go type for whose
// spec.template is a pod template: OpenShift's DeploymentConfig, Argo
// Rollouts, Knative and other operators' workloads. Their pod templates
// are checked like a Deployment's (see inventory.TemplateWorkload).
var Workload = define[inventory.TemplateWorkload, struct{}](Type{Kind: WorkloadName, Synthetic: true, PodBearing: true},
	func(o *inventory.TemplateWorkload) *metav1.ObjectMeta { return &o.ObjectMeta }, nil)

// WorkloadName is how Workload is named in lists of kinds.
const WorkloadName = "custom kinds with a pod template at spec.template"

// all is every kind, in listing order.
var all = []*Type{
	Namespace, Node, Pod, ReplicationController, PodTemplate, Service, ConfigMap, Secret, ServiceAccount,
	ResourceQuota, LimitRange, Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob,
	Role, RoleBinding, ClusterRole, ClusterRoleBinding, NetworkPolicy, Ingress, APIServer, NodeComponent, AuditPolicy, Workload,
}

// Pods are the pod-bearing kinds, custom workloads included.
var Pods = filter(func(t *Type) bool { return t.PodBearing })

var byGroupKind = func() map[GroupKind]*Type {
	m := map[GroupKind]*Type{}
	for _, t := range all {
		if t == Workload {
			continue // matched by shape, not by name
		}
		m[t.GroupKind()] = t
		for _, a := range t.Aliases {
			m[GroupKind{a, t.Kind}] = t
		}
	}
	return m
}()

// All returns every kind, in the order a cluster scan lists them.
func All() []*Type { return append([]*Type(nil), all...) }

// Listed returns the kinds a cluster source lists (all but the synthetic ones).
func Listed() []*Type { return filter(func(t *Type) bool { return !t.Synthetic }) }

func filter(keep func(*Type) bool) []*Type {
	var out []*Type
	for _, t := range all {
		if keep(t) {
			out = append(out, t)
		}
	}
	return out
}

// Lookup returns the kind of the given group (or alias group) and kind
// name, or nil when kubeharden does not read it.
func Lookup(group, kind string) *Type { return byGroupKind[GroupKind{group, kind}] }

// Of returns the kind of an object reference, or nil.
func Of(ref inventory.Ref) *Type { return Lookup(ref.Group(), ref.Kind) }

// Known reports whether t is one of the registry's kinds.
func Known(t *Type) bool {
	return t != nil && (t == Workload || byGroupKind[t.GroupKind()] == t)
}

// Names returns the kind names of types, sorted, for display; Workload
// comes last.
func Names(ts []*Type) []string {
	var out []string
	workload := false
	for _, t := range ts {
		if t == Workload {
			workload = true
			continue
		}
		out = append(out, t.Kind)
	}
	sort.Strings(out)
	if workload {
		out = append(out, WorkloadName)
	}
	return out
}

// Join returns a new slice holding the given kinds in order, without
// duplicates: kinds.Join(kinds.Pods, []*kinds.Type{kinds.NetworkPolicy}).
func Join(lists ...[]*Type) []*Type {
	var out []*Type
	seen := map[*Type]bool{}
	for _, l := range lists {
		for _, t := range l {
			if !seen[t] {
				seen[t] = true
				out = append(out, t)
			}
		}
	}
	return out
}

// List returns its arguments as a slice: kinds.List(kinds.Service).
func List(ts ...*Type) []*Type { return ts }

// ParseGroupKind parses "Kind" or "Kind.group".
func ParseGroupKind(s string) GroupKind {
	if i := strings.IndexByte(s, '.'); i >= 0 {
		return GroupKind{Kind: s[:i], Group: s[i+1:]}
	}
	return GroupKind{Kind: s}
}
