package rbac

import (
	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/kinds"
)

// RBACPodCreate is check rbac-pod-create. No rule of a Role or ClusterRole may grant create on pods, or on the
// workload controllers that create pods from a template the subject writes:
// deployments, replicasets, statefulsets, daemonsets (apps), jobs,
// cronjobs (batch) and replicationcontrollers (core). Controllers are
// included because the pods they create carry whatever service account,
// volumes and security context the template asks for, so creating one is
// creating pods. update and patch, which rewrite the template of an
// existing controller (or the image of a running pod), are reported by
// rbac-workload-update, so that each can be weighed on its own. A rule restricted by resourceNames cannot grant create, so it
// passes. Exempt: the API server's built-in defaults (labelled
// kubernetes.io/bootstrapping=rbac-defaults), whose findings nobody can act
// on; aggregated ClusterRoles are judged on the rules they carry.
var RBACPodCreate = registry.Add(&check.Check{
	ID:       "rbac-pod-create",
	Title:    "Role can create pods",
	Severity: check.Medium,
	Refs: []check.Ref{
		{Framework: check.CIS, ID: "5.1.4", Title: "Minimize access to create pods"},
		{Framework: check.NSA, ID: "Authentication and authorization", Title: "Role-based access control"},
	},
	Description: "Reports Role and ClusterRole rules that allow create on pods or on the controllers that create pods from a template: " +
		"deployments, replicasets, statefulsets, daemonsets, jobs, cronjobs and replicationcontrollers. Whoever creates a pod, " +
		"directly or through a controller, picks its service account, the Secrets and ConfigMaps it mounts and, unless " +
		"admission control forbids it, host paths and privilege, so it can act as any service account and read any Secret " +
		"of the namespace. Medium, because deploying workloads is the normal job of CI and operators and Pod Security " +
		"admission bounds the damage; it is still a privilege to grant deliberately. update and patch on existing " +
		"workloads are reported by rbac-workload-update. The API server's built-in roles are not reported.",
	Remediation: "Grant create on pods and workload controllers only to the deployment pipeline or operator that needs it, " +
		"in the namespaces it manages, and enforce the Pod Security \"restricted\" or \"baseline\" level there. Give people " +
		"read-only access to workloads.",
	Kinds:  roleKinds,
	Object: ruleGrants("can create pods or workloads that run them", podCreation()...),
})

// podCreation is create on pods and on every workload controller of the
// kind registry: each of them starts pods.
func podCreation() []request {
	var out []request
	for _, t := range kinds.Pods {
		if t.Synthetic || t == kinds.PodTemplate {
			continue // a PodTemplate runs nothing; custom workloads have no fixed resource
		}
		out = append(out, request{group: t.Group, resource: t.Resource, verbs: []string{"create"}, atVerb: true})
	}
	return out
}
