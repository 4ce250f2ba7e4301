package rbac

import (
	"fmt"
	"strings"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
)

// RBACDefaultSABinding is check rbac-default-sa-binding. No RoleBinding or ClusterRoleBinding may have a namespace's "default"
// service account as subject, either as a ServiceAccount subject named
// default or as the User system:serviceaccount:<namespace>:default. One
// finding per such subject. Groups covering every service account
// (system:serviceaccounts[:<namespace>]) are not reported here: they are
// usually meant for all workloads and grant something harmless. Exempt: the
// API server's built-in defaults (labelled
// kubernetes.io/bootstrapping=rbac-defaults), which never bind a default
// service account anyway.
var RBACDefaultSABinding = registry.Add(&check.Check{
	ID:       "rbac-default-sa-binding",
	Title:    "Binding grants permissions to a default service account",
	Severity: check.Medium,
	Refs: []check.Ref{
		{Framework: check.CIS, ID: "5.1.5", Title: "Ensure that default service accounts are not actively used"},
		{Framework: check.NSA, ID: "Authentication and authorization", Title: "Role-based access control"},
	},
	Description: "Reports RoleBindings and ClusterRoleBindings whose subjects include a namespace's default service account, as a " +
		"ServiceAccount named default or as the User system:serviceaccount:<namespace>:default. Every pod that names no " +
		"service account runs as the default one, so the permissions go silently to every such pod, including ones added " +
		"later by people who never asked for them, and cannot be traced to the workload that needs them. Medium: the risk " +
		"depends on what the role grants, which the other RBAC checks report.",
	Remediation: "Create a dedicated service account for the workload that needs the permissions, bind the role to it, and " +
		"set serviceAccountName in that workload's pod template. Leave default service accounts without bindings and with " +
		"automountServiceAccountToken: false.",
	Kinds: bindingKinds,
	Object: func(_ *check.Env, o *inventory.Object) []check.Result {
		b, ok := bindingOf(o)
		if !ok || builtinDefault(o) {
			return nil
		}
		var out []check.Result
		for i, s := range b.subjects {
			ns, isDefault := "", false
			switch s.Kind {
			case "ServiceAccount":
				ns, isDefault = s.Namespace, s.Name == "default"
				if ns == "" {
					ns = b.namespace
				}
			case "User":
				if rest, ok := strings.CutPrefix(s.Name, "system:serviceaccount:"); ok {
					ns, isDefault = strings.CutSuffix(rest, ":default")
					isDefault = isDefault && !strings.Contains(ns, ":")
				}
			}
			if !isDefault {
				continue
			}
			who := "the default service account"
			if ns != "" {
				who = fmt.Sprintf("the default service account of namespace %q", ns)
			}
			out = append(out, check.Result{
				Path:    inventory.Join(inventory.Index("subjects", i), "name"),
				Message: fmt.Sprintf("%s %q grants %s %q to %s (subjects[%d])", o.Kind, o.Name, b.roleRef.Kind, b.roleRef.Name, who, i),
			})
		}
		return out
	},
})
