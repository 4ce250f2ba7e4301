package manifest

import (
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeharden/kubeharden/inventory"
)

type groupKind struct{ group, kind string }

// typed maps the kinds kubeharden's checks read to their Go types. Older
// API versions of the same kinds (extensions/v1beta1 Deployments,
// batch/v1beta1 CronJobs, networking.k8s.io/v1beta1 Ingresses...) decode
// into the current type: the fields the checks read kept their shape.
var typed = map[groupKind]func() (any, *metav1.ObjectMeta){
	{"", "Pod"}:                   newT(func(o *corev1.Pod) *metav1.ObjectMeta { return &o.ObjectMeta }),
	{"", "ReplicationController"}: newT(func(o *corev1.ReplicationController) *metav1.ObjectMeta { return &o.ObjectMeta }),
	{"", "PodTemplate"}:           newT(func(o *corev1.PodTemplate) *metav1.ObjectMeta { return &o.ObjectMeta }),
	{"", "Service"}:               newT(func(o *corev1.Service) *metav1.ObjectMeta { return &o.ObjectMeta }),
	{"", "ConfigMap"}:             newT(func(o *corev1.ConfigMap) *metav1.ObjectMeta { return &o.ObjectMeta }),
	{"", "Secret"}:                newT(func(o *corev1.Secret) *metav1.ObjectMeta { return &o.ObjectMeta }),
	{"", "ServiceAccount"}:        newT(func(o *corev1.ServiceAccount) *metav1.ObjectMeta { return &o.ObjectMeta }),
	{"", "Namespace"}:             newT(func(o *corev1.Namespace) *metav1.ObjectMeta { return &o.ObjectMeta }),
	{"", "ResourceQuota"}:         newT(func(o *corev1.ResourceQuota) *metav1.ObjectMeta { return &o.ObjectMeta }),
	{"", "LimitRange"}:            newT(func(o *corev1.LimitRange) *metav1.ObjectMeta { return &o.ObjectMeta }),
	{"", "Node"}:                  newT(func(o *corev1.Node) *metav1.ObjectMeta { return &o.ObjectMeta }),

	{"apps", "Deployment"}:       newT(func(o *appsv1.Deployment) *metav1.ObjectMeta { return &o.ObjectMeta }),
	{"extensions", "Deployment"}: newT(func(o *appsv1.Deployment) *metav1.ObjectMeta { return &o.ObjectMeta }),
	{"apps", "ReplicaSet"}:       newT(func(o *appsv1.ReplicaSet) *metav1.ObjectMeta { return &o.ObjectMeta }),
	{"extensions", "ReplicaSet"}: newT(func(o *appsv1.ReplicaSet) *metav1.ObjectMeta { return &o.ObjectMeta }),
	{"apps", "StatefulSet"}:      newT(func(o *appsv1.StatefulSet) *metav1.ObjectMeta { return &o.ObjectMeta }),
	{"apps", "DaemonSet"}:        newT(func(o *appsv1.DaemonSet) *metav1.ObjectMeta { return &o.ObjectMeta }),
	{"extensions", "DaemonSet"}:  newT(func(o *appsv1.DaemonSet) *metav1.ObjectMeta { return &o.ObjectMeta }),

	{"batch", "Job"}:     newT(func(o *batchv1.Job) *metav1.ObjectMeta { return &o.ObjectMeta }),
	{"batch", "CronJob"}: newT(func(o *batchv1.CronJob) *metav1.ObjectMeta { return &o.ObjectMeta }),

	{"rbac.authorization.k8s.io", "Role"}:               newT(func(o *rbacv1.Role) *metav1.ObjectMeta { return &o.ObjectMeta }),
	{"rbac.authorization.k8s.io", "ClusterRole"}:        newT(func(o *rbacv1.ClusterRole) *metav1.ObjectMeta { return &o.ObjectMeta }),
	{"rbac.authorization.k8s.io", "RoleBinding"}:        newT(func(o *rbacv1.RoleBinding) *metav1.ObjectMeta { return &o.ObjectMeta }),
	{"rbac.authorization.k8s.io", "ClusterRoleBinding"}: newT(func(o *rbacv1.ClusterRoleBinding) *metav1.ObjectMeta { return &o.ObjectMeta }),

	{"networking.k8s.io", "NetworkPolicy"}: newT(func(o *networkingv1.NetworkPolicy) *metav1.ObjectMeta { return &o.ObjectMeta }),
	{"extensions", "NetworkPolicy"}:        newT(func(o *networkingv1.NetworkPolicy) *metav1.ObjectMeta { return &o.ObjectMeta }),
	{"networking.k8s.io", "Ingress"}:       newT(func(o *networkingv1.Ingress) *metav1.ObjectMeta { return &o.ObjectMeta }),
	{"extensions", "Ingress"}:              newT(func(o *networkingv1.Ingress) *metav1.ObjectMeta { return &o.ObjectMeta }),

	{inventory.APIServerGroup, inventory.APIServerKind}: newT(func(o *inventory.APIServer) *metav1.ObjectMeta { return &o.ObjectMeta }),
}

func newT[T any](meta func(*T) *metav1.ObjectMeta) func() (any, *metav1.ObjectMeta) {
	return func() (any, *metav1.ObjectMeta) {
		o := new(T)
		return o, meta(o)
	}
}

// Typed reports whether kubeharden decodes the given group and kind into a Go type.
func Typed(group, kind string) bool {
	_, ok := typed[groupKind{group, kind}]
	return ok
}

// NewTyped returns a new, empty typed object for a group and kind, with a
// pointer to its metadata, or ok=false when the kind is not one kubeharden reads.
func NewTyped(group, kind string) (obj any, meta *metav1.ObjectMeta, ok bool) {
	f, ok := typed[groupKind{group, kind}]
	if !ok {
		return nil, nil, false
	}
	obj, meta = f()
	return obj, meta, true
}
