package rbac

import (
	"slices"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// BuiltinClusterRoles returns rules of the API server's built-in
// cluster-admin, admin and edit ClusterRoles, for a set of manifests that
// binds them without defining them: all of cluster-admin's, and of admin's
// and edit's (aggregated from system:aggregate-to-admin and
// system:aggregate-to-edit, bootstrap policy of Kubernetes v1.37) the
// rules escalation primitives use — reading Secrets, exec and attach,
// impersonating service accounts, creating pods, workloads and
// serviceaccounts/token, and for admin writing Roles and RoleBindings.
// Every rule is granted by the live role of the same name (a test holds
// them to a real API server); the live roles grant more.
func BuiltinClusterRoles() map[string][]rbacv1.PolicyRule {
	read := []string{"get", "list", "watch"}
	write := []string{"create", "delete", "deletecollection", "patch", "update"}
	core := []string{""}
	edit := []rbacv1.PolicyRule{
		{Verbs: read, APIGroups: core, Resources: []string{"pods/attach", "pods/proxy", "pods/exec", "pods/portforward", "secrets", "services/proxy"}},
		{Verbs: []string{"impersonate"}, APIGroups: core, Resources: []string{"serviceaccounts"}},
		{Verbs: write, APIGroups: core, Resources: []string{"pods", "pods/attach", "pods/proxy", "pods/exec", "pods/portforward"}},
		{Verbs: write, APIGroups: core, Resources: []string{"replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts", "services", "services/proxy", "persistentvolumeclaims", "configmaps", "secrets"}},
		{Verbs: []string{"create"}, APIGroups: core, Resources: []string{"serviceaccounts/token"}},
		{Verbs: write, APIGroups: []string{"apps"}, Resources: []string{"statefulsets", "statefulsets/scale", "daemonsets", "deployments", "deployments/scale", "deployments/rollback", "replicasets", "replicasets/scale"}},
		{Verbs: write, APIGroups: []string{"batch"}, Resources: []string{"jobs", "cronjobs"}},
	}
	admin := append(slices.Clone(edit),
		rbacv1.PolicyRule{Verbs: slices.Concat(read, write), APIGroups: []string{rbacv1.GroupName}, Resources: []string{"roles", "rolebindings"}})
	return map[string][]rbacv1.PolicyRule{
		"cluster-admin": {
			{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}},
			{Verbs: []string{"*"}, NonResourceURLs: []string{"*"}},
		},
		"admin": admin,
		"edit":  edit,
	}
}

// AddMissingBuiltins adds, for a set read from manifests, the
// BuiltinClusterRoles the set does not hold, and returns their names
// (sorted). A ClusterRole of the same name read later replaces one added.
func (s *Set) AddMissingBuiltins() []string {
	var added []string
	for name, rules := range BuiltinClusterRoles() {
		s.mu.Lock()
		_, ok := s.clusterRoles[name]
		s.mu.Unlock()
		if !ok {
			s.Add(&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules})
			added = append(added, name)
		}
	}
	slices.Sort(added)
	return added
}

// AddBoundServiceAccounts records every ServiceAccount a binding of s
// names, for manifests, which rarely carry the ServiceAccounts they bind
// (on a live cluster the ServiceAccounts listed are the ones that exist:
// a pod cannot run as a missing one).
func (x *Objects) AddBoundServiceAccounts(s *Set) {
	for _, sub := range s.Subjects() {
		if sub.Kind == rbacv1.ServiceAccountKind {
			x.AddServiceAccount(sub.Namespace, sub.Name)
		}
	}
}
