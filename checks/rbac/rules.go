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

// This file holds what the role and binding checks share: reading rules
// and subjects off the typed objects, skipping the API server's built-in
// defaults, and deciding whether a rule grants a request the way the RBAC
// authorizer does:
//
//   - a verb matches itself or "*";
//   - an API group matches itself or "*";
//   - a resource matches itself, "*" (every resource and subresource), or,
//     for a subresource, "*/<subresource>" ("pods" does not match
//     "pods/exec", and "pods/*" matches nothing);
//   - a rule with resourceNames matches only requests that name one of the
//     objects. create and deletecollection on a resource itself never carry
//     a name, so such a rule cannot grant them; every other request
//     (including list and watch, which must then select metadata.name) can
//     be granted for the listed objects.

// bootstrapLabel marks the roles and bindings the API server creates and
// reconciles itself.
const bootstrapLabel = "kubernetes.io/bootstrapping"

// builtinDefault reports whether o is one of the API server's built-in
// RBAC defaults: labelled kubernetes.io/bootstrapping=rbac-defaults and
// named like one (cluster-admin, admin, edit, view or system:*). The name
// is required as well as the label so that putting the label on an
// arbitrary role is not a way to hide it from the checks.
func builtinDefault(o *inventory.Object) bool {
	if o.Labels()[bootstrapLabel] != "rbac-defaults" {
		return false
	}
	switch o.Name {
	case "cluster-admin", "admin", "edit", "view":
		return true
	}
	return strings.HasPrefix(o.Name, "system:")
}

// roleKinds are the kinds the role checks look at.
var roleKinds = kinds.List(kinds.ClusterRole, kinds.Role)

// bindingKinds are the kinds the binding checks look at.
var bindingKinds = kinds.List(kinds.ClusterRoleBinding, kinds.RoleBinding)

// roleRules returns the rules of a Role or ClusterRole, and false for any
// other object and for the built-in defaults. An aggregated ClusterRole is
// evaluated on whatever rules it carries.
func roleRules(o *inventory.Object) ([]rbacv1.PolicyRule, bool) {
	var rules []rbacv1.PolicyRule
	switch r := o.Typed.(type) {
	case *rbacv1.ClusterRole:
		rules = r.Rules
	case *rbacv1.Role:
		rules = r.Rules
	default:
		return nil, false
	}
	if builtinDefault(o) {
		return nil, false
	}
	return rules, true
}

// binding is the part of a RoleBinding or ClusterRoleBinding the binding
// checks read.
type binding struct {
	subjects []rbacv1.Subject
	roleRef  rbacv1.RoleRef
	// namespace is the RoleBinding's namespace, the default for its
	// ServiceAccount subjects ("" for a ClusterRoleBinding).
	namespace string
}

// bindingOf returns the binding o is, and false for any other object.
func bindingOf(o *inventory.Object) (binding, bool) {
	switch b := o.Typed.(type) {
	case *rbacv1.ClusterRoleBinding:
		return binding{subjects: b.Subjects, roleRef: b.RoleRef}, true
	case *rbacv1.RoleBinding:
		return binding{subjects: b.Subjects, roleRef: b.RoleRef, namespace: b.Namespace}, true
	}
	return binding{}, false
}

// request describes the API requests a check looks for: any of verbs on
// resource in group.
type request struct {
	group string
	// resource is a resource ("pods") or resource/subresource
	// ("pods/exec"); "userextras/*" stands for every subresource.
	resource string
	verbs    []string
	// cluster marks cluster-scoped requests (nodes, webhook
	// configurations, impersonating users...). A Role only ever grants
	// access inside its namespace, so it cannot grant them.
	cluster bool
	// atVerb makes a finding point at the rule's verb rather than at its
	// resource: for checks where the verb, not the resource, is the
	// dangerous part (escalate on roles, create on pods).
	atVerb bool
	// accept, when set, excuses a rule whose resourceNames it approves of
	// (Secrets listed by name, custom certificate signers).
	accept func(resourceNames []string) bool
}

// wildcard reports whether an entry of verbs, apiGroups or resources is a
// wildcard: "*", or "*/<subresource>" for resources.
func wildcard(s string) bool {
	return s == "*" || strings.HasPrefix(s, "*/")
}

// groupMatches reports whether a rule's apiGroups include group.
func groupMatches(groups []string, group string) bool {
	return slices.Contains(groups, group) || slices.Contains(groups, rbacv1.APIGroupAll)
}

// resourceMatches reports whether a rule's resource entry covers the
// requested resource.
func resourceMatches(entry, want string) bool {
	if entry == rbacv1.ResourceAll || entry == want {
		return true
	}
	res, sub, isSub := strings.Cut(want, "/")
	if !isSub {
		return false
	}
	if sub == "*" {
		// Any subresource of res: "res/x" or "*/x" grants one.
		return strings.HasPrefix(entry, res+"/") || strings.HasPrefix(entry, "*/")
	}
	return entry == "*/"+sub
}

// unnamed reports whether a request for verb on resource carries no object
// name, so that a rule restricted by resourceNames cannot grant it.
func unnamed(verb, resource string) bool {
	return (verb == "create" || verb == "deletecollection") && !strings.Contains(resource, "/")
}

// hit is where a rule grants a request.
type hit struct {
	req request
	// verbs are the indexes of the rule's verbs that grant the request.
	verbs []int
	// resources are the indexes of the rule's resources that cover it.
	resources []int
}

// grants reports whether rule r of an object of the given kind grants
// request q, and where.
func grants(kind string, r rbacv1.PolicyRule, q request) (hit, bool) {
	h := hit{req: q}
	if q.cluster && kind == "Role" {
		return h, false
	}
	if q.accept != nil && q.accept(r.ResourceNames) {
		return h, false
	}
	if !groupMatches(r.APIGroups, q.group) {
		return h, false
	}
	for j, res := range r.Resources {
		if resourceMatches(res, q.resource) {
			h.resources = append(h.resources, j)
		}
	}
	for k, v := range r.Verbs {
		for _, want := range q.verbs {
			if v != rbacv1.VerbAll && v != want {
				continue
			}
			if len(r.ResourceNames) > 0 && unnamed(want, q.resource) {
				continue
			}
			h.verbs = append(h.verbs, k)
			break
		}
	}
	return h, len(h.resources) > 0 && len(h.verbs) > 0
}

// ruleGrants builds the Object function of a check that reports every rule
// of a Role or ClusterRole granting any of reqs, once per rule. The
// finding points at the rule's earliest matching resource, or its earliest
// matching verb when the first request that matched is atVerb; the message
// reads `<Kind> "<name>" rules[i] <what> (<verbs> on <resources>)`.
func ruleGrants(what string, reqs ...request) func(*check.Env, *inventory.Object) []check.Result {
	return ruleGrantsBy(func([]hit) string { return what }, reqs...)
}

// ruleGrantsBy is ruleGrants with the <what> of each message chosen from
// the requests the rule grants.
func ruleGrantsBy(what func(hits []hit) string, reqs ...request) func(*check.Env, *inventory.Object) []check.Result {
	return func(_ *check.Env, o *inventory.Object) []check.Result {
		rules, ok := roleRules(o)
		if !ok {
			return nil
		}
		var out []check.Result
		for i, r := range rules {
			var hits []hit
			for _, q := range reqs {
				if h, ok := grants(o.Kind, r, q); ok {
					hits = append(hits, h)
				}
			}
			if len(hits) == 0 {
				continue
			}
			// The finding points where the first request that matched
			// says, at the earliest entry among the requests that point
			// the same way.
			atVerb := hits[0].req.atVerb
			first := -1
			var verbs, resources []int
			for _, h := range hits {
				verbs = append(verbs, h.verbs...)
				resources = append(resources, h.resources...)
				if h.req.atVerb != atVerb {
					continue
				}
				if atVerb {
					first = minIndex(first, h.verbs[0])
				} else {
					first = minIndex(first, h.resources[0])
				}
			}
			slices.Sort(verbs)
			slices.Sort(resources)
			verbs, resources = slices.Compact(verbs), slices.Compact(resources)
			field := "resources"
			if atVerb {
				field = "verbs"
			}
			out = append(out, check.Result{
				Path: inventory.Join(inventory.Index("rules", i), inventory.Index(field, first)),
				Message: fmt.Sprintf("%s %q rules[%d] %s (%s on %s)", o.Kind, o.Name, i, what(hits),
					quoted(r.Verbs, verbs), quoted(r.Resources, resources)),
			})
		}
		return out
	}
}

// minIndex returns the smaller of two indexes, where -1 means none yet.
func minIndex(a, b int) int {
	if a < 0 || b < a {
		return b
	}
	return a
}

// quoted renders the entries of list at the given indexes as "a", "b".
func quoted(list []string, at []int) string {
	parts := make([]string, len(at))
	for n, i := range at {
		parts[n] = fmt.Sprintf("%q", list[i])
	}
	return strings.Join(parts, ", ")
}
