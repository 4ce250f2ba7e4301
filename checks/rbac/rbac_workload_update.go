package rbac

import (
	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/kinds"
)

// RBACWorkloadUpdate is check rbac-workload-update. No rule of a Role or ClusterRole may grant update or patch on pods,
// or on the workload controllers whose pod template can be rewritten:
// deployments, replicasets, statefulsets, daemonsets (apps), cronjobs
// (batch) and replicationcontrollers (core). This is pod creation by proxy,
// the counterpart of rbac-pod-create (create only), kept apart so that
// each can be weighed, suppressed and excepted on its own: a deploy
// pipeline that creates workloads is one decision, a person who may
// "kubectl rollout restart" (a patch) another.
//
//   - A controller's template is mutable: whoever patches it chooses the
//     image, command, service account, volumes and security context of
//     every pod the controller starts from then on.
//   - A running pod's spec is mostly immutable, but the image of each
//     container is not: patching it runs any code the subject likes with
//     the pod's service account token, mounts and privileges. So pods
//     count too. Subresources do not (pods/status, deployments/scale:
//     scaling starts more pods of the same template).
//   - jobs are left out: a Job's pod template is immutable once created
//     (only scheduling directives of a suspended Job may change), so
//     update or patch cannot make it run anything new.
//   - pods/ephemeralcontainers is left out as well: adding a debug
//     container is what rbac-exec-attach recommends instead of exec.
//
// Unlike create, update and patch always name an object, so resourceNames
// narrow a rule without excusing it: patching one named Deployment still
// runs any pod as its service account (or any other of the namespace). The
// resources come from the kind registry (kinds.Pods), as for
// rbac-pod-create; custom workload kinds have no fixed resource and are
// not covered. Exempt: the API server's built-in defaults (labelled
// kubernetes.io/bootstrapping=rbac-defaults), whose findings nobody can act
// on; aggregated ClusterRoles are judged on the rules they carry.
var RBACWorkloadUpdate = registry.Add(&check.Check{
	ID:       "rbac-workload-update",
	Title:    "Role can update or patch pods or workloads",
	Severity: check.Medium,
	Refs: []check.Ref{
		{Framework: check.CIS, ID: "5.1.4", Title: "Minimize access to create pods"},
		{Framework: check.NSA, ID: "Authentication and authorization", Title: "Role-based access control"},
	},
	Description: "Reports Role and ClusterRole rules that allow update or patch on pods or on the controllers whose pod " +
		"template can be rewritten: deployments, replicasets, statefulsets, daemonsets, cronjobs and " +
		"replicationcontrollers. Rewriting a template is creating pods by proxy: the subject picks the image, command, " +
		"service account, Secrets and, unless admission control forbids it, host access and privilege of every pod the " +
		"controller starts, so it can act as any service account of the namespace. On a running pod it can swap a " +
		"container's image and run its own code with the pod's identity and mounts. resourceNames narrow the rule but " +
		"do not excuse it. Jobs are not reported (their template is immutable), nor are subresources such as " +
		"deployments/scale; create is reported by rbac-pod-create. Medium, as for creating pods: rolling out workloads " +
		"is the normal job of CI and operators, and Pod Security admission bounds the damage. The API server's built-in " +
		"roles are not reported.",
	Remediation: "Grant update and patch on workloads only to the deployment pipeline or operator that manages them, in " +
		"its namespaces, and enforce the Pod Security \"restricted\" or \"baseline\" level there. For people who only " +
		"scale or restart workloads, grant the scale subresource or a controller that performs restarts, and keep " +
		"update and patch on pods out of day-to-day roles.",
	Kinds:  roleKinds,
	Object: ruleGrantsBy(workloadUpdateWhat, workloadUpdates()...),
})

// workloadUpdates is update and patch on pods and on every workload
// controller of the kind registry whose pod template can change.
func workloadUpdates() []request {
	var out []request
	for _, t := range kinds.Pods {
		if t.Synthetic || t == kinds.PodTemplate || t == kinds.Job {
			continue // custom workloads have no fixed resource; a PodTemplate runs nothing; a Job's template is immutable
		}
		out = append(out, request{group: t.Group, resource: t.Resource, verbs: []string{"update", "patch"}, atVerb: true})
	}
	return out
}

// workloadUpdateWhat words a finding by what the rule lets the subject
// rewrite: running pods, workload templates, or both.
func workloadUpdateWhat(hits []hit) string {
	var pods, workloads bool
	for _, h := range hits {
		if h.req.group == kinds.Pod.Group && h.req.resource == kinds.Pod.Resource {
			pods = true
		} else {
			workloads = true
		}
	}
	switch {
	case pods && workloads:
		return "can update or patch pods and workloads, changing the images and pod templates they run"
	case pods:
		return "can update or patch pods, replacing a running container's image with any other"
	}
	return "can update or patch workloads, rewriting the pod template they start pods from"
}
