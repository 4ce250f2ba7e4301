package rbac

import (
	"fmt"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
)

// ClusterAdminBinding is check cluster-admin-binding. A binding whose roleRef is the cluster-admin ClusterRole gives its
// subjects unrestricted control of the cluster (or, in a RoleBinding, of
// the namespace). The built-in system bindings are not in manifests users
// write, so every such binding found is reported.
var ClusterAdminBinding = registry.Add(&check.Check{
	ID:       "cluster-admin-binding",
	Title:    "Binding grants cluster-admin",
	Severity: check.Critical,
	Refs: []check.Ref{
		{Framework: check.CIS, ID: "5.1.1", Title: "Ensure that the cluster-admin role is only used where required"},
		{Framework: check.NSA, ID: "Authentication and authorization", Title: "Role-based access control"},
	},
	Description: "cluster-admin allows every verb on every resource. A workload or person bound to it can read " +
		"every Secret, run code on every node and rewrite RBAC itself, so a single compromise becomes a cluster compromise.",
	Remediation: "Bind a Role (or ClusterRole through a namespaced RoleBinding) that lists only the resources and " +
		"verbs the subject needs. Keep cluster-admin for break-glass human access through a group, never for service accounts.",
	Kinds: kinds.List(kinds.ClusterRoleBinding, kinds.RoleBinding),
	Object: func(_ *check.Env, o *inventory.Object) []check.Result {
		var ref rbacv1.RoleRef
		switch b := o.Typed.(type) {
		case *rbacv1.ClusterRoleBinding:
			ref = b.RoleRef
		case *rbacv1.RoleBinding:
			ref = b.RoleRef
		default:
			return nil
		}
		if ref.Kind != "ClusterRole" || ref.Name != "cluster-admin" {
			return nil
		}
		return []check.Result{{Path: "roleRef.name", Message: fmt.Sprintf("%s %q grants the cluster-admin ClusterRole", o.Kind, o.Name)}}
	},
})
