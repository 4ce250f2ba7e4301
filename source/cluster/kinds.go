package cluster

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
)

// page is one LIST response: its items as typed objects and the token
// for the next page.
type page struct {
	items []item
	cont  string
}

type item struct {
	obj  any
	meta *metav1.ObjectMeta
}

// kind is one resource kubeharden lists, with the typed LIST call for it.
type kind struct {
	resource   string // plural, as in RBAC rules and URLs
	group      string
	apiVersion string
	kind       string
	cluster    bool // cluster-scoped
	list       func(ctx context.Context, c *clients, ns string, o metav1.ListOptions) (page, error)
}

type clients struct {
	typed kubernetes.Interface
	meta  metadata.Interface
}

// items adapts a typed list's Items to page items, dropping managedFields,
// which no check reads and which can be most of an object's bytes.
func items[T any](list []T, meta func(*T) *metav1.ObjectMeta) []item {
	out := make([]item, len(list))
	for i := range list {
		m := meta(&list[i])
		m.ManagedFields = nil
		out[i] = item{obj: &list[i], meta: m}
	}
	return out
}

// kinds lists every kind the checks read. Secrets are listed through the
// metadata API only: kubeharden never receives a Secret's data.
var kinds = []kind{
	{resource: "namespaces", apiVersion: "v1", kind: "Namespace", cluster: true, list: func(ctx context.Context, c *clients, _ string, o metav1.ListOptions) (page, error) {
		l, err := c.typed.CoreV1().Namespaces().List(ctx, o)
		if err != nil {
			return page{}, err
		}
		return page{items(l.Items, func(x *corev1.Namespace) *metav1.ObjectMeta { return &x.ObjectMeta }), l.Continue}, nil
	}},
	{resource: "nodes", apiVersion: "v1", kind: "Node", cluster: true, list: func(ctx context.Context, c *clients, _ string, o metav1.ListOptions) (page, error) {
		l, err := c.typed.CoreV1().Nodes().List(ctx, o)
		if err != nil {
			return page{}, err
		}
		return page{items(l.Items, func(x *corev1.Node) *metav1.ObjectMeta { return &x.ObjectMeta }), l.Continue}, nil
	}},
	{resource: "pods", apiVersion: "v1", kind: "Pod", list: func(ctx context.Context, c *clients, ns string, o metav1.ListOptions) (page, error) {
		l, err := c.typed.CoreV1().Pods(ns).List(ctx, o)
		if err != nil {
			return page{}, err
		}
		return page{items(l.Items, func(x *corev1.Pod) *metav1.ObjectMeta { return &x.ObjectMeta }), l.Continue}, nil
	}},
	{resource: "replicationcontrollers", apiVersion: "v1", kind: "ReplicationController", list: func(ctx context.Context, c *clients, ns string, o metav1.ListOptions) (page, error) {
		l, err := c.typed.CoreV1().ReplicationControllers(ns).List(ctx, o)
		if err != nil {
			return page{}, err
		}
		return page{items(l.Items, func(x *corev1.ReplicationController) *metav1.ObjectMeta { return &x.ObjectMeta }), l.Continue}, nil
	}},
	{resource: "podtemplates", apiVersion: "v1", kind: "PodTemplate", list: func(ctx context.Context, c *clients, ns string, o metav1.ListOptions) (page, error) {
		l, err := c.typed.CoreV1().PodTemplates(ns).List(ctx, o)
		if err != nil {
			return page{}, err
		}
		return page{items(l.Items, func(x *corev1.PodTemplate) *metav1.ObjectMeta { return &x.ObjectMeta }), l.Continue}, nil
	}},
	{resource: "services", apiVersion: "v1", kind: "Service", list: func(ctx context.Context, c *clients, ns string, o metav1.ListOptions) (page, error) {
		l, err := c.typed.CoreV1().Services(ns).List(ctx, o)
		if err != nil {
			return page{}, err
		}
		return page{items(l.Items, func(x *corev1.Service) *metav1.ObjectMeta { return &x.ObjectMeta }), l.Continue}, nil
	}},
	{resource: "configmaps", apiVersion: "v1", kind: "ConfigMap", list: func(ctx context.Context, c *clients, ns string, o metav1.ListOptions) (page, error) {
		l, err := c.typed.CoreV1().ConfigMaps(ns).List(ctx, o)
		if err != nil {
			return page{}, err
		}
		return page{items(l.Items, func(x *corev1.ConfigMap) *metav1.ObjectMeta { return &x.ObjectMeta }), l.Continue}, nil
	}},
	{resource: "secrets", apiVersion: "v1", kind: "Secret", list: func(ctx context.Context, c *clients, ns string, o metav1.ListOptions) (page, error) {
		l, err := c.meta.Resource(corev1.SchemeGroupVersion.WithResource("secrets")).Namespace(ns).List(ctx, o)
		if err != nil {
			return page{}, err
		}
		out := make([]item, len(l.Items))
		for i := range l.Items {
			m := l.Items[i].ObjectMeta
			m.ManagedFields = nil
			s := &corev1.Secret{ObjectMeta: m}
			out[i] = item{obj: s, meta: &s.ObjectMeta}
		}
		return page{out, l.Continue}, nil
	}},
	{resource: "serviceaccounts", apiVersion: "v1", kind: "ServiceAccount", list: func(ctx context.Context, c *clients, ns string, o metav1.ListOptions) (page, error) {
		l, err := c.typed.CoreV1().ServiceAccounts(ns).List(ctx, o)
		if err != nil {
			return page{}, err
		}
		return page{items(l.Items, func(x *corev1.ServiceAccount) *metav1.ObjectMeta { return &x.ObjectMeta }), l.Continue}, nil
	}},
	{resource: "resourcequotas", apiVersion: "v1", kind: "ResourceQuota", list: func(ctx context.Context, c *clients, ns string, o metav1.ListOptions) (page, error) {
		l, err := c.typed.CoreV1().ResourceQuotas(ns).List(ctx, o)
		if err != nil {
			return page{}, err
		}
		return page{items(l.Items, func(x *corev1.ResourceQuota) *metav1.ObjectMeta { return &x.ObjectMeta }), l.Continue}, nil
	}},
	{resource: "limitranges", apiVersion: "v1", kind: "LimitRange", list: func(ctx context.Context, c *clients, ns string, o metav1.ListOptions) (page, error) {
		l, err := c.typed.CoreV1().LimitRanges(ns).List(ctx, o)
		if err != nil {
			return page{}, err
		}
		return page{items(l.Items, func(x *corev1.LimitRange) *metav1.ObjectMeta { return &x.ObjectMeta }), l.Continue}, nil
	}},
	{resource: "deployments", group: "apps", apiVersion: "apps/v1", kind: "Deployment", list: func(ctx context.Context, c *clients, ns string, o metav1.ListOptions) (page, error) {
		l, err := c.typed.AppsV1().Deployments(ns).List(ctx, o)
		if err != nil {
			return page{}, err
		}
		return page{items(l.Items, func(x *appsDeployment) *metav1.ObjectMeta { return &x.ObjectMeta }), l.Continue}, nil
	}},
	{resource: "replicasets", group: "apps", apiVersion: "apps/v1", kind: "ReplicaSet", list: func(ctx context.Context, c *clients, ns string, o metav1.ListOptions) (page, error) {
		l, err := c.typed.AppsV1().ReplicaSets(ns).List(ctx, o)
		if err != nil {
			return page{}, err
		}
		return page{items(l.Items, func(x *appsReplicaSet) *metav1.ObjectMeta { return &x.ObjectMeta }), l.Continue}, nil
	}},
	{resource: "statefulsets", group: "apps", apiVersion: "apps/v1", kind: "StatefulSet", list: func(ctx context.Context, c *clients, ns string, o metav1.ListOptions) (page, error) {
		l, err := c.typed.AppsV1().StatefulSets(ns).List(ctx, o)
		if err != nil {
			return page{}, err
		}
		return page{items(l.Items, func(x *appsStatefulSet) *metav1.ObjectMeta { return &x.ObjectMeta }), l.Continue}, nil
	}},
	{resource: "daemonsets", group: "apps", apiVersion: "apps/v1", kind: "DaemonSet", list: func(ctx context.Context, c *clients, ns string, o metav1.ListOptions) (page, error) {
		l, err := c.typed.AppsV1().DaemonSets(ns).List(ctx, o)
		if err != nil {
			return page{}, err
		}
		return page{items(l.Items, func(x *appsDaemonSet) *metav1.ObjectMeta { return &x.ObjectMeta }), l.Continue}, nil
	}},
	{resource: "jobs", group: "batch", apiVersion: "batch/v1", kind: "Job", list: func(ctx context.Context, c *clients, ns string, o metav1.ListOptions) (page, error) {
		l, err := c.typed.BatchV1().Jobs(ns).List(ctx, o)
		if err != nil {
			return page{}, err
		}
		return page{items(l.Items, func(x *batchJob) *metav1.ObjectMeta { return &x.ObjectMeta }), l.Continue}, nil
	}},
	{resource: "cronjobs", group: "batch", apiVersion: "batch/v1", kind: "CronJob", list: func(ctx context.Context, c *clients, ns string, o metav1.ListOptions) (page, error) {
		l, err := c.typed.BatchV1().CronJobs(ns).List(ctx, o)
		if err != nil {
			return page{}, err
		}
		return page{items(l.Items, func(x *batchCronJob) *metav1.ObjectMeta { return &x.ObjectMeta }), l.Continue}, nil
	}},
	{resource: "roles", group: "rbac.authorization.k8s.io", apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", list: func(ctx context.Context, c *clients, ns string, o metav1.ListOptions) (page, error) {
		l, err := c.typed.RbacV1().Roles(ns).List(ctx, o)
		if err != nil {
			return page{}, err
		}
		return page{items(l.Items, func(x *rbacRole) *metav1.ObjectMeta { return &x.ObjectMeta }), l.Continue}, nil
	}},
	{resource: "rolebindings", group: "rbac.authorization.k8s.io", apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", list: func(ctx context.Context, c *clients, ns string, o metav1.ListOptions) (page, error) {
		l, err := c.typed.RbacV1().RoleBindings(ns).List(ctx, o)
		if err != nil {
			return page{}, err
		}
		return page{items(l.Items, func(x *rbacRoleBinding) *metav1.ObjectMeta { return &x.ObjectMeta }), l.Continue}, nil
	}},
	{resource: "clusterroles", group: "rbac.authorization.k8s.io", apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", cluster: true, list: func(ctx context.Context, c *clients, _ string, o metav1.ListOptions) (page, error) {
		l, err := c.typed.RbacV1().ClusterRoles().List(ctx, o)
		if err != nil {
			return page{}, err
		}
		return page{items(l.Items, func(x *rbacClusterRole) *metav1.ObjectMeta { return &x.ObjectMeta }), l.Continue}, nil
	}},
	{resource: "clusterrolebindings", group: "rbac.authorization.k8s.io", apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRoleBinding", cluster: true, list: func(ctx context.Context, c *clients, _ string, o metav1.ListOptions) (page, error) {
		l, err := c.typed.RbacV1().ClusterRoleBindings().List(ctx, o)
		if err != nil {
			return page{}, err
		}
		return page{items(l.Items, func(x *rbacClusterRoleBinding) *metav1.ObjectMeta { return &x.ObjectMeta }), l.Continue}, nil
	}},
	{resource: "networkpolicies", group: "networking.k8s.io", apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", list: func(ctx context.Context, c *clients, ns string, o metav1.ListOptions) (page, error) {
		l, err := c.typed.NetworkingV1().NetworkPolicies(ns).List(ctx, o)
		if err != nil {
			return page{}, err
		}
		return page{items(l.Items, func(x *netNetworkPolicy) *metav1.ObjectMeta { return &x.ObjectMeta }), l.Continue}, nil
	}},
	{resource: "ingresses", group: "networking.k8s.io", apiVersion: "networking.k8s.io/v1", kind: "Ingress", list: func(ctx context.Context, c *clients, ns string, o metav1.ListOptions) (page, error) {
		l, err := c.typed.NetworkingV1().Ingresses(ns).List(ctx, o)
		if err != nil {
			return page{}, err
		}
		return page{items(l.Items, func(x *netIngress) *metav1.ObjectMeta { return &x.ObjectMeta }), l.Continue}, nil
	}},
}

// Kinds returns the resources a cluster scan lists, as "group/resource"
// ("" group for core), in listing order.
func Kinds() []string {
	out := make([]string, len(kinds))
	for i, k := range kinds {
		out[i] = k.group + "/" + k.resource
	}
	return out
}
