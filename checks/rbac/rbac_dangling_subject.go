package rbac

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
)

// RBACDanglingSubject is check rbac-dangling-subject. A RoleBinding or ClusterRoleBinding must not name a ServiceAccount
// subject that does not exist in the scanned cluster. The subject's
// namespace is its namespace field, or for a RoleBinding the binding's own
// namespace when that is empty; a ClusterRoleBinding subject without a
// namespace matches no account at all (the API server rejects it) and is
// not reported. One finding per dangling subject, at subjects[i].name.
//
// Not reported:
//   - User and Group subjects: users and groups are asserted by the
//     authenticator (certificates, OIDC, webhooks) and exist nowhere in the
//     API, so their existence cannot be verified.
//   - The API server's built-in bindings (labelled
//     kubernetes.io/bootstrapping=rbac-defaults and named like one, as for
//     the default roles; see builtinDefault). Their system:controller:*
//     bindings name kube-system service accounts that exist only when the
//     controller manager runs with --use-service-account-credentials, and
//     the API server recreates the bindings if they are removed.
//   - A context in which no ServiceAccount at all was observed: every
//     namespace of a live cluster has its "default" ServiceAccount, so an
//     empty list means the scan could not list them, not that none exist.
//
// Cluster-wide (NeedsCluster): a manifest set rarely holds every
// ServiceAccount. Objects are keyed by Origin.Context, so a ServiceAccount
// of one cluster never satisfies a binding of another.
var RBACDanglingSubject = registry.Add(&check.Check{
	ID:       "rbac-dangling-subject",
	Title:    "Binding names a ServiceAccount that does not exist",
	Severity: check.Medium,
	Refs: []check.Ref{
		{Framework: check.NSA, ID: "Authentication and authorization", Title: "Role-based access control"},
	},
	Description: "Reports RoleBindings and ClusterRoleBindings with a ServiceAccount subject that does not exist in the " +
		"scanned cluster, usually left behind when an application was uninstalled or renamed. RBAC matches subjects by " +
		"name only, so the permissions are waiting for whoever next creates a ServiceAccount with that name in that " +
		"namespace (or creates the namespace first): anyone allowed to create ServiceAccounts and pods there " +
		"inherits the role without any change to RBAC, and the grant is easily overlooked in reviews because nothing " +
		"uses it. User and Group subjects are not reported, since the API cannot tell whether they exist, nor are the " +
		"API server's built-in bootstrapping bindings. Only reported on live cluster scans, where the inventory is complete.",
	Remediation: "Remove the subject from the binding (or delete the binding if it has no other subject). If the " +
		"ServiceAccount is still needed, create it deliberately and review the role the binding grants it.",
	Kinds:        kinds.List(kinds.ClusterRoleBinding, kinds.RoleBinding, kinds.ServiceAccount, kinds.Namespace),
	NeedsCluster: true,
	Set: func(*check.Env) check.SetEval {
		return &danglingEval{
			accounts:   map[accountRef]bool{},
			namespaces: map[accountRef]bool{},
			listed:     map[string]bool{},
			nsListed:   map[string]bool{},
		}
	},
})

// accountRef names a ServiceAccount (or, with an empty name, a namespace)
// of one scanned cluster.
type accountRef struct{ context, namespace, name string }

// boundAccount is a ServiceAccount subject of a binding, waiting for the
// end of the scan to learn whether its account exists.
type boundAccount struct {
	target  *check.Target
	index   int
	account accountRef
	kind    string
	binding string
	roleRef rbacv1.RoleRef
}

type danglingEval struct {
	accounts   map[accountRef]bool
	namespaces map[accountRef]bool
	// listed and nsListed are the contexts in which at least one
	// ServiceAccount, and one Namespace, was observed.
	listed   map[string]bool
	nsListed map[string]bool
	subjects []boundAccount
}

func subjectPath(i int) string { return inventory.Join(inventory.Index("subjects", i), "name") }

func (e *danglingEval) Observe(o *inventory.Object) {
	ctx := o.Origin.Context
	switch o.Typed.(type) {
	case *corev1.ServiceAccount:
		e.accounts[accountRef{ctx, o.Namespace, o.Name}] = true
		e.listed[ctx] = true
		return
	case *corev1.Namespace:
		e.namespaces[accountRef{ctx, o.Name, ""}] = true
		e.nsListed[ctx] = true
		return
	}
	b, ok := bindingOf(o)
	if !ok || builtinDefault(o) {
		return
	}
	var at []int
	var paths []string
	for i, s := range b.subjects {
		if s.Kind != rbacv1.ServiceAccountKind || s.Name == "" {
			continue
		}
		if s.Namespace == "" && b.namespace == "" {
			continue
		}
		at = append(at, i)
		paths = append(paths, subjectPath(i))
	}
	if len(at) == 0 {
		return
	}
	t := check.Pin(o, paths...)
	for _, i := range at {
		s := b.subjects[i]
		ns := s.Namespace
		if ns == "" {
			ns = b.namespace
		}
		e.subjects = append(e.subjects, boundAccount{
			target:  t,
			index:   i,
			account: accountRef{ctx, ns, s.Name},
			kind:    o.Kind,
			binding: o.Name,
			roleRef: b.roleRef,
		})
	}
}

func (e *danglingEval) Finish(report func(t *check.Target, r check.Result)) {
	for _, s := range e.subjects {
		a := s.account
		if !e.listed[a.context] || e.accounts[a] {
			continue
		}
		missing := "which does not exist"
		if e.nsListed[a.context] && !e.namespaces[accountRef{a.context, a.namespace, ""}] {
			missing = "which does not exist, nor does its namespace"
		}
		report(s.target, check.Result{
			Path: subjectPath(s.index),
			Message: fmt.Sprintf("%s %q grants %s %q to ServiceAccount %s/%s (subjects[%d]), %s: whoever creates that account gets the permissions",
				s.kind, s.binding, s.roleRef.Kind, s.roleRef.Name, a.namespace, a.name, s.index, missing),
		})
	}
}
