package namespace

import (
	"fmt"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
)

// WorkloadInDefaultNamespace is check workload-in-default-namespace. A workload must not be placed in the default namespace: the check fires
// on a pod-bearing object whose metadata.namespace is explicitly "default".
// An object without a namespace does not fire: its namespace is chosen when
// it is applied (kubectl -n, the Helm release, the Kustomize namespace), and
// the manifest does not say it will be default.
var WorkloadInDefaultNamespace = registry.Add(&check.Check{
	ID:       "workload-in-default-namespace",
	Title:    "Workload in the default namespace",
	Severity: check.Low,
	Refs: []check.Ref{
		{Framework: check.CIS, ID: "5.6.4", Title: "The default namespace should not be used"},
		{Framework: check.NSA, ID: "Network separation and hardening", Title: "Namespaces"},
	},
	Description: "The default namespace is where everything lands that was not given a namespace, so it mixes unrelated " +
		"workloads and is rarely covered by tailored RBAC, NetworkPolicies, quotas or Pod Security labels. Workloads " +
		"there share a blast radius and are hard to isolate. The risk is indirect, hence low severity. Objects " +
		"without a namespace are not reported: the namespace is chosen when they are applied.",
	Remediation: "Move the workload to a dedicated namespace per application or team, with its own RBAC, " +
		"NetworkPolicies and pod-security.kubernetes.io/enforce label, and set metadata.namespace accordingly.",
	Kinds: kinds.Pods,
	Object: func(_ *check.Env, o *inventory.Object) []check.Result {
		if o.Meta == nil || o.Meta.Namespace != "default" || o.Pod() == nil {
			return nil
		}
		return []check.Result{{
			Path:    "metadata.namespace",
			Message: fmt.Sprintf("%s %q is placed in the default namespace", o.Kind, o.Name),
		}}
	},
})
