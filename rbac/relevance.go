package rbac

import (
	"slices"

	rbacv1 "k8s.io/api/rbac/v1"
)

// relevance is what escalation primitives a rule, or the rules of a role,
// may allow: a cheap over-approximation (verbs, API groups and resources,
// whatever the resource names) that lets the escalation graph skip, in
// O(1), every subject whose bindings can allow no primitive at all.
type relevance uint8

const (
	// relPrimitive: a request of some primitive other than reading
	// Secrets, or any impersonation.
	relPrimitive relevance = 1 << iota
	// relSecrets: reading Secrets (get, list, watch), which leads
	// somewhere only where legacy token Secrets are.
	relSecrets
)

// secretReads are the requests that read token Secrets.
var secretReads = []Request{{Verb: "get", Resource: "secrets"}, {Verb: "list", Resource: "secrets"}, {Verb: "watch", Resource: "secrets"}}

// primitiveRequests are every request an escalation primitive makes but
// reading Secrets, without names: Edges asks nothing else (impersonation
// of users and groups is covered by any rule with the impersonate verb).
var primitiveRequests = func() []Request {
	var all []Request
	for _, p := range clusterPrimitives {
		for _, alt := range p.alts {
			all = append(all, alt...)
		}
	}
	all = slices.Concat(all, csrRequests, namespacedRequests, podEscapeRequests, []Request{
		{Verb: "patch", Resource: "namespaces"}, {Verb: "update", Resource: "namespaces"},
		{Verb: "bind", Group: rbacGroup, Resource: "clusterroles"},
		{Verb: "update", Group: rbacGroup, Resource: "roles"},
		{Verb: "impersonate", Resource: "users"}, {Verb: "impersonate", Resource: "groups"},
	})
	var out []Request
	for _, r := range all {
		r.Name, r.Namespace = "", ""
		if !slices.Contains(out, r) && !slices.Contains(secretReads, r) {
			out = append(out, r)
		}
	}
	return out
}()

// primitiveVerbs are the verbs of primitiveRequests and secretReads: a
// rule without one of them (or "*") allows none.
var primitiveVerbs = func() map[string]bool {
	m := map[string]bool{rbacv1.VerbAll: true, "impersonate": true}
	for _, r := range slices.Concat(primitiveRequests, secretReads) {
		m[r.Verb] = true
	}
	return m
}()

// ruleRelevance is what escalation primitives rule may allow.
func ruleRelevance(rule *rbacv1.PolicyRule) relevance {
	verb := false
	for _, v := range rule.Verbs {
		if primitiveVerbs[v] {
			verb = true
			break
		}
	}
	if !verb || len(rule.Resources) == 0 && !slices.Contains(rule.Verbs, "impersonate") && !slices.Contains(rule.Verbs, rbacv1.VerbAll) {
		return 0
	}
	var rel relevance
	if VerbMatches(rule, "impersonate") {
		rel |= relPrimitive
	}
	matches := func(q Request) bool {
		combined := q.Resource
		if q.Subresource != "" {
			combined += "/" + q.Subresource
		}
		return VerbMatches(rule, q.Verb) && APIGroupMatches(rule, q.Group) && ResourceMatches(rule, combined, q.Subresource)
	}
	if rel&relPrimitive == 0 && slices.ContainsFunc(primitiveRequests, matches) {
		rel |= relPrimitive
	}
	if slices.ContainsFunc(secretReads, matches) {
		rel |= relSecrets
	}
	return rel
}

// rulesRelevance is the union of the relevance of rules, cached by role
// (the rules of a role are shared by the bindings to it).
func (s *Set) rulesRelevance(rules []rbacv1.PolicyRule) relevance {
	if len(rules) == 0 {
		return 0
	}
	key := relKey{&rules[0], len(rules)}
	if r, ok := s.relCache[key]; ok {
		return r
	}
	var r relevance
	for i := range rules {
		r |= ruleRelevance(&rules[i])
	}
	if s.relCache == nil {
		s.relCache = map[relKey]relevance{}
	}
	s.relCache[key] = r
	return r
}

type relKey struct {
	first *rbacv1.PolicyRule
	n     int
}

// EscalationRules returns rules with every rule that can allow no request
// of an escalation primitive blanked (a zero rule, which allows nothing,
// so that the others keep their index), and whether any rule is left.
// Reading Secrets counts only when secrets is set: when a legacy token
// Secret is where the rules apply (in the Role's namespace, or anywhere
// for a ClusterRole). A set holding only the rules left, and no binding
// to a role with none, has the same escalation paths (Graph.Paths) as
// the whole set: the rbac-escalation-path check keeps nothing else of
// large inputs.
func EscalationRules(rules []rbacv1.PolicyRule, secrets bool) ([]rbacv1.PolicyRule, bool) {
	var out []rbacv1.PolicyRule
	for i := range rules {
		rel := ruleRelevance(&rules[i])
		if rel&relPrimitive != 0 || secrets && rel&relSecrets != 0 {
			if out == nil {
				out = make([]rbacv1.PolicyRule, len(rules))
			}
			out[i] = rules[i]
		}
	}
	return out, out != nil
}

// MayEscalate reports whether sub may take any escalation step at all:
// a node, a member of system:masters, or an identity named by a binding
// (a Group one included) whose role may allow a primitive (reading
// Secrets only where a legacy token Secret is). Edges of any other
// subject are none, and it is on no path.
func (g *Graph) MayEscalate(sub Subject) bool { return g.mayHaveEdges(sub) }
