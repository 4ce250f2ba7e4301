package rbac

import (
	"github.com/kubeharden/kubeharden/check"
)

// RBACPVCreate is check rbac-pv-create. No ClusterRole rule may grant create
// on persistentvolumes in the core group ("*" verbs, resources and API
// groups count). PersistentVolumes are cluster-scoped, so a Role cannot
// grant this and Roles are not reported; a rule restricted by
// resourceNames cannot grant create either. update and patch are not
// reported: the volume source of an existing PersistentVolume cannot be
// changed. Exempt: the API server's built-in defaults (labelled
// kubernetes.io/bootstrapping=rbac-defaults), such as the
// persistent-volume-binder controller's role, whose findings nobody can act
// on; aggregated ClusterRoles are judged on the rules they carry.
var RBACPVCreate = registry.Add(&check.Check{
	ID:       "rbac-pv-create",
	Title:    "Role can create persistent volumes",
	Severity: check.High,
	Refs: []check.Ref{
		{Framework: check.CIS, ID: "5.1.9", Title: "Minimize access to create persistent volumes"},
		{Framework: check.NSA, ID: "Authentication and authorization", Title: "Role-based access control"},
	},
	Description: "Reports ClusterRole rules that allow create on persistentvolumes, also through \"*\". A PersistentVolume " +
		"can be a hostPath volume: whoever creates one, and can then claim it from a pod, mounts any directory of the " +
		"node, such as the root filesystem, the container runtime socket or /var/lib/kubelet. Pod Security admission " +
		"does not look at PersistentVolumes, so this gets host access even in namespaces that enforce the baseline or " +
		"restricted level. Roles cannot grant this (persistent volumes are cluster-scoped) and the API server's " +
		"built-in roles are not reported.",
	Remediation: "Remove persistentvolumes (and \"*\" resources covering it) from the rule's create verbs. Let users " +
		"request storage through PersistentVolumeClaims and a StorageClass with dynamic provisioning; keep creating " +
		"PersistentVolumes to cluster administrators and storage provisioners.",
	Kinds: roleKinds,
	Object: ruleGrants("can create persistent volumes",
		request{group: "", resource: "persistentvolumes", verbs: []string{"create"}, cluster: true, atVerb: true},
	),
})
