package rbac

import (
	"fmt"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
)

// RBACBroadGroupBinding is check rbac-broad-group-binding. No RoleBinding or ClusterRoleBinding may grant a role that
// can change anything to a group every identity of a kind belongs to:
//
//   - Group system:authenticated: every authenticated user and service
//     account;
//   - Group system:serviceaccounts: every service account of the cluster;
//   - Group system:serviceaccounts:<namespace>: every service account of
//     one namespace, so every pod there, including pods anyone allowed to
//     create pods there starts later.
//
// system:unauthenticated and system:anonymous are left to
// rbac-anonymous-binding, which reports them whatever the role grants.
//
// A role can change something when it is
//
//   - one of the built-in ClusterRoles edit, admin or cluster-admin, judged
//     by name (they are reconciled by the API server, so a manifest scan
//     without them still knows what they grant); or
//   - a Role or ClusterRole of the same scan (the same cluster, and for a
//     Role the binding's namespace) with a rule granting create, update,
//     patch, delete, deletecollection, or the privilege verbs bind,
//     escalate, impersonate, approve and sign, also through "*", on any
//     resource but the review APIs (tokenreviews, selfsubjectreviews,
//     subjectaccessreviews, localsubjectaccessreviews,
//     selfsubjectaccessreviews, selfsubjectrulesreviews: create on them
//     asks a question and stores nothing), or a non-resource rule allowing
//     post, put, patch, delete or "*". The API server's built-in roles found
//     in the scan are judged on their rules like any other: that is what
//     keeps the default system:basic-user binding (create on the self
//     reviews only), system:discovery and system:public-info-viewer (get on
//     non-resource URLs) and system:service-account-issuer-discovery quiet.
//
// A binding to a role the scan does not hold is not reported: its rules are
// unknown. Read-only roles are not reported either, even when they read
// Secrets (rbac-secrets-access reports such roles), and "use" (security
// context constraints, pod security policies) does not count as a change:
// OpenShift binds its restricted SCC to system:authenticated by design.
// Aggregated ClusterRoles are judged on the rules they carry.
//
// One finding per broad subject, at subjects[i].name. The bindings are kept
// until the end of the scan, so that roles and bindings may come in any
// order; objects are keyed by Origin.Context, so a role of one cluster
// never decides a binding of another.
var RBACBroadGroupBinding = registry.Add(&check.Check{
	ID:       "rbac-broad-group-binding",
	Title:    "Binding grants write access to every user or service account",
	Severity: check.High,
	Refs: []check.Ref{
		{Framework: check.NSA, ID: "Authentication and authorization", Title: "Role-based access control"},
	},
	Description: "Reports RoleBindings and ClusterRoleBindings that grant a role able to change objects (edit, admin, " +
		"cluster-admin, or a Role or ClusterRole of the scan with create, update, patch, delete or privilege verbs) to the " +
		"Group system:authenticated, system:serviceaccounts or system:serviceaccounts:<namespace>. Every identity of the " +
		"kind is a member, so the permissions go to every user who can log in and every service account token, including " +
		"the token of any pod an attacker compromises or creates: one leaked credential or vulnerable workload anywhere " +
		"is enough to use them. Read-only bindings such as the API server's default system:basic-user, system:discovery " +
		"and system:public-info-viewer bindings are not reported, nor are bindings to roles (other than edit, admin and " +
		"cluster-admin) the scan does not contain; " +
		"system:unauthenticated is reported by rbac-anonymous-binding.",
	Remediation: "Bind the role to the specific users, groups or service accounts that need it instead of the " +
		"system-wide group, or replace it with a read-only role (such as view) if every member really needs access. " +
		"For workloads, give each one its own service account and bind only that.",
	Kinds: kinds.List(kinds.ClusterRoleBinding, kinds.RoleBinding, kinds.ClusterRole, kinds.Role),
	Set: func(*check.Env) check.SetEval {
		return &broadEval{roles: map[roleKey]*writeRule{}}
	},
})

// privilegeVerbs are the verbs that hand out or use someone else's
// permissions; with writeVerbs, the verbs of resource rules that change
// something.
var privilegeVerbs = []string{"bind", "escalate", "impersonate", "approve", "sign"}

// nonResourceWriteVerbs are the verbs of non-resource rules that change
// something (non-resource verbs are lowercase HTTP methods).
var nonResourceWriteVerbs = []string{"post", "put", "patch", "delete"}

// reviewResources are the create-only APIs that answer a question and
// store nothing: creating one changes no object.
var reviewResources = []string{
	"tokenreviews", "selfsubjectreviews",
	"subjectaccessreviews", "localsubjectaccessreviews", "selfsubjectaccessreviews", "selfsubjectrulesreviews",
}

// writeRule is where a role first grants a change: its rule index, the
// verb and the resource or non-resource URL.
type writeRule struct {
	rule         int
	verb, target string
}

// writes returns where rules first grant a change, or nil.
func writes(rules []rbacv1.PolicyRule) *writeRule {
	for i, r := range rules {
		for _, v := range r.Verbs {
			if len(r.NonResourceURLs) > 0 && (v == rbacv1.VerbAll || slices.Contains(nonResourceWriteVerbs, v)) {
				return &writeRule{rule: i, verb: v, target: r.NonResourceURLs[0]}
			}
			if v != rbacv1.VerbAll && !slices.Contains(writeVerbs, v) && !slices.Contains(privilegeVerbs, v) {
				continue
			}
			for _, res := range r.Resources {
				if slices.Contains(reviewResources, res) {
					continue
				}
				if len(r.ResourceNames) > 0 && unnamed(v, res) {
					continue // no object name on such a request: the rule cannot grant it
				}
				return &writeRule{rule: i, verb: v, target: res}
			}
		}
	}
	return nil
}

// builtinWriter says what a built-in ClusterRole judged by name lets the
// subjects of a binding do, where: every namespace for a
// ClusterRoleBinding, the binding's own for a RoleBinding. ok is false for
// any other role.
func builtinWriter(name, namespace string) (what string, ok bool) {
	where := "every namespace"
	if namespace != "" {
		where = fmt.Sprintf("namespace %q", namespace)
	}
	switch name {
	case "cluster-admin":
		if namespace == "" {
			return "which allows every action on every resource", true
		}
		return "which allows every action on every resource of " + where, true
	case "admin":
		return "which can change every object of " + where + ", Roles and RoleBindings included", true
	case "edit":
		return "which can change most objects of " + where + ", Secrets and workloads included", true
	}
	return "", false
}

// roleKey names a Role (with its namespace) or a ClusterRole (without) of
// one scanned cluster.
type roleKey struct{ context, kind, namespace, name string }

// broadSubject is a broad group subject of a binding, waiting for the end
// of the scan to learn what its role grants.
type broadSubject struct {
	target  *check.Target
	index   int
	ns      string // the RoleBinding's namespace
	group   string
	who     string
	kind    string
	binding string
	roleRef rbacv1.RoleRef
	role    roleKey
}

type broadEval struct {
	// roles holds every Role and ClusterRole seen, with where it first
	// grants a change (nil for a read-only role).
	roles    map[roleKey]*writeRule
	subjects []broadSubject
}

// broadGroup describes the members of a subject that is a broad group,
// or returns "".
func broadGroup(s rbacv1.Subject) string {
	if s.Kind != rbacv1.GroupKind {
		return ""
	}
	switch s.Name {
	case "system:authenticated":
		return "every authenticated user and service account"
	case "system:serviceaccounts":
		return "every service account of the cluster"
	}
	if ns, ok := strings.CutPrefix(s.Name, "system:serviceaccounts:"); ok && ns != "" && !strings.Contains(ns, ":") {
		return fmt.Sprintf("every service account of namespace %q", ns)
	}
	return ""
}

func (e *broadEval) Observe(o *inventory.Object) {
	ctx := o.Origin.Context
	switch r := o.Typed.(type) {
	case *rbacv1.ClusterRole:
		e.roles[roleKey{ctx, "ClusterRole", "", o.Name}] = writes(r.Rules)
		return
	case *rbacv1.Role:
		e.roles[roleKey{ctx, "Role", o.Namespace, o.Name}] = writes(r.Rules)
		return
	}
	b, ok := bindingOf(o)
	if !ok {
		return
	}
	var at []int
	var paths []string
	for i, s := range b.subjects {
		if broadGroup(s) != "" {
			at = append(at, i)
			paths = append(paths, subjectPath(i))
		}
	}
	if len(at) == 0 {
		return
	}
	role := roleKey{ctx, b.roleRef.Kind, "", b.roleRef.Name}
	if b.roleRef.Kind == "Role" {
		role.namespace = b.namespace
	}
	t := check.Pin(o, paths...)
	for _, i := range at {
		e.subjects = append(e.subjects, broadSubject{
			target:  t,
			index:   i,
			ns:      b.namespace,
			group:   b.subjects[i].Name,
			who:     broadGroup(b.subjects[i]),
			kind:    o.Kind,
			binding: o.Name,
			roleRef: b.roleRef,
			role:    role,
		})
	}
}

func (e *broadEval) Finish(report func(t *check.Target, r check.Result)) {
	for _, s := range e.subjects {
		what, ok := "", false
		if s.roleRef.Kind == "ClusterRole" {
			what, ok = builtinWriter(s.roleRef.Name, s.ns)
		}
		if !ok {
			w := e.roles[s.role]
			if w == nil {
				continue // read-only, or not in the scan
			}
			what = fmt.Sprintf("whose rules[%d] allows %q on %q", w.rule, w.verb, w.target)
		}
		report(s.target, check.Result{
			Path: subjectPath(s.index),
			Message: fmt.Sprintf("%s %q grants %s %q, %s, to %s (subjects[%d] is Group %s)",
				s.kind, s.binding, s.roleRef.Kind, s.roleRef.Name, what, s.who, s.index, s.group),
		})
	}
}
