package namespace

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	psapi "k8s.io/pod-security-admission/api"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
)

// NamespaceWithoutPSSEnforce is check namespace-without-pss-enforce. Every Namespace must enforce a Pod Security Standard through the label
// pod-security.kubernetes.io/enforce set to baseline or restricted. A missing
// label falls back to the admission configuration's default, privileged
// unless the cluster administrator changed it, which the manifests do not
// show. warn and audit labels only report and do not count. A value that is
// not a level is treated by Pod Security Admission as restricted and does not
// fire.
//
// kube-system is exempt: it runs the cluster's own privileged pods (CNI,
// kube-proxy, CSI node plugins) and cannot enforce baseline; it is protected
// by restricting who can create workloads there, not by admission. Every
// other namespace is checked, kube-public and kube-node-lease included.
var NamespaceWithoutPSSEnforce = registry.Add(&check.Check{
	ID:       "namespace-without-pss-enforce",
	Title:    "Namespace does not enforce a Pod Security Standard",
	Severity: check.Medium,
	Refs: []check.Ref{
		{Framework: check.CIS, ID: "5.2.1", Title: "Ensure that the cluster has at least one active policy control mechanism in place"},
		{Framework: check.NSA, ID: "Kubernetes Pod security", Title: "Pod security enforcement"},
	},
	Description: "Pod Security Admission enforces the level named by the pod-security.kubernetes.io/enforce label of " +
		"a namespace. Without it (or with privileged) the namespace accepts privileged containers, host namespaces, " +
		"hostPath volumes and every other escape route to the node, so a single compromised deployment pipeline or " +
		"account can take over a node. warn and audit labels do not block anything. kube-system is not reported: it " +
		"legitimately runs privileged system pods and must be protected by tight RBAC instead.",
	Remediation: "Label the namespace pod-security.kubernetes.io/enforce: restricted (or baseline where a workload " +
		"cannot meet restricted), pinning pod-security.kubernetes.io/enforce-version if you want upgrades to be " +
		"reviewed; use the warn and audit labels to preview the effect before enforcing.",
	Kinds: kinds.List(kinds.Namespace),
	Object: func(_ *check.Env, o *inventory.Object) []check.Result {
		ns, ok := o.Typed.(*corev1.Namespace)
		if !ok || ns.Name == metav1.NamespaceSystem {
			return nil
		}
		level, set := ns.Labels[psapi.EnforceLevelLabel]
		switch {
		case !set:
			return []check.Result{{
				Path:    "metadata.labels",
				Message: fmt.Sprintf("namespace %q has no %s label: pods are admitted at the cluster default, privileged unless configured otherwise", ns.Name, psapi.EnforceLevelLabel),
			}}
		case level == string(psapi.LevelPrivileged):
			return []check.Result{{
				Path:    inventory.Join("metadata", inventory.Key("labels", psapi.EnforceLevelLabel)),
				Message: fmt.Sprintf("namespace %q enforces the privileged level: no pod security restriction applies", ns.Name),
			}}
		}
		return nil
	},
})
