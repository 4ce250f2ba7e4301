package rbac

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
)

// ParseSubject reads User:NAME, Group:NAME, ServiceAccount:NS:NAME or a
// service account user name (system:serviceaccount:NS:NAME).
func ParseSubject(arg string) (Subject, error) {
	if ns, name, ok := SplitServiceAccount(arg); ok {
		return Subject{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: name}, nil
	}
	kind, rest, ok := strings.Cut(arg, ":")
	if ok && rest != "" {
		switch strings.ToLower(kind) {
		case "user":
			return Subject{Kind: rbacv1.UserKind, Name: rest}, nil
		case "group":
			return Subject{Kind: rbacv1.GroupKind, Name: rest}, nil
		case "serviceaccount", "sa":
			if ns, name, ok := strings.Cut(rest, ":"); ok && ns != "" && name != "" && !strings.Contains(name, ":") {
				return Subject{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: name}, nil
			}
		}
	}
	return Subject{}, fmt.Errorf("subject %q: want User:NAME, Group:NAME, ServiceAccount:NAMESPACE:NAME or system:serviceaccount:NAMESPACE:NAME", arg)
}

// String is Kind:name or ServiceAccount:namespace:name (cluster-admin for ClusterAdmin).
func (s Subject) String() string {
	if s.Kind == ClusterAdmin.Kind {
		return s.Name
	}
	if s.Namespace != "" {
		return s.Kind + ":" + s.Namespace + ":" + s.Name
	}
	return s.Kind + ":" + s.Name
}

// Identity is the identity the subject has once authenticated, with the
// groups the API server implies: system:authenticated for every User and
// every member of a Group (but system:unauthenticated), and the service
// account groups for a ServiceAccount. (User, used by WhoCan, is the
// subject alone.)
func (s Subject) Identity() User {
	switch s.Kind {
	case rbacv1.ServiceAccountKind:
		return ServiceAccountUser(s.Namespace, s.Name)
	case rbacv1.GroupKind:
		if s.Name == AuthenticatedGroup || s.Name == "system:unauthenticated" {
			return User{Groups: []string{s.Name}}
		}
		return User{Groups: []string{s.Name, AuthenticatedGroup}}
	}
	if s.Name == "system:anonymous" {
		return User{Name: s.Name, Groups: []string{"system:unauthenticated"}}
	}
	return User{Name: s.Name, Groups: []string{AuthenticatedGroup}}
}

// Principal is a set narrowed to the bindings that apply to one identity:
// its Authorize decides exactly as the set's does, faster.
type Principal struct {
	set     *Set
	user    User
	masters bool
	cluster []*roleBinding
	ns      map[string][]*roleBinding
}

// For returns u's principal.
func (s *Set) For(u User) *Principal {
	s.index()
	p := &Principal{set: s, user: u, masters: slices.Contains(u.Groups, MastersGroup), ns: map[string][]*roleBinding{}}
	// The bindings naming u or one of its groups, in the order of the
	// set's lists (the authorizer's order).
	seen := map[*roleBinding]bool{}
	visit := func(key string) {
		for _, b := range s.bySubject[key] {
			if seen[b] || !appliesTo(u, b.subjects, b.namespace) {
				continue
			}
			seen[b] = true
			if b.namespace == "" {
				p.cluster = append(p.cluster, b)
			} else {
				p.ns[b.namespace] = append(p.ns[b.namespace], b)
			}
		}
	}
	visit(userKey(u.Name))
	for _, g := range u.Groups {
		visit(groupKey(g))
	}
	byPos := func(a, b *roleBinding) int { return cmp.Compare(a.pos, b.pos) }
	slices.SortFunc(p.cluster, byPos)
	for _, bs := range p.ns {
		slices.SortFunc(bs, byPos)
	}
	return p
}

// Authorize decides r for the principal's identity, as Set.Authorize.
func (p *Principal) Authorize(r Request) Decision {
	return authorizeIn(p.set, p.user, r, false, p.cluster, p.ns)
}

// first is Authorize's first grant, when r is allowed: the same
// decision, without the reason of a denial and without allocating.
func (p *Principal) first(r Request) (Grant, bool) {
	if p.masters {
		return Grant{Rule: -1}, true
	}
	combined := r.Resource
	if r.Subresource != "" {
		combined += "/" + r.Subresource
	}
	if g, ok := firstIn(p.cluster, r, combined); ok || r.Namespace == "" || r.NonResource() {
		return g, ok
	}
	return firstIn(p.ns[r.Namespace], r, combined)
}

// firstIn is the first grant of r among bindings that apply (a binding
// whose role is missing has no rules).
func firstIn(bs []*roleBinding, r Request, combined string) (Grant, bool) {
	for _, b := range bs {
		for i := range b.rules {
			if ruleAllows(&b.rules[i], r, combined) {
				return Grant{Binding: b.ref, Role: b.role, Rule: i}, true
			}
		}
	}
	return Grant{}, false
}

// Namespaces are the namespaces where RoleBindings apply to the principal, sorted.
func (p *Principal) Namespaces() []string {
	out := make([]string, 0, len(p.ns))
	for ns := range p.ns {
		out = append(out, ns)
	}
	slices.Sort(out)
	return out
}

// ClusterWide reports whether any ClusterRoleBinding applies to the principal.
func (p *Principal) ClusterWide() bool { return len(p.cluster) > 0 }

// clusterMayAllow reports whether a rule of a ClusterRoleBinding that
// applies to the principal matches a request of reqs in verb, API group
// and resource (whatever its resource names): a cheap test before asking
// the authorizer in every namespace.
func (p *Principal) clusterMayAllow(reqs []Request) bool { return p.mayAllow(p.cluster, "", reqs) }

// mayAllowIn is clusterMayAllow for namespace ns: the ClusterRoleBindings
// and the RoleBindings of ns; always true for system:masters.
func (p *Principal) mayAllowIn(ns string, reqs []Request) bool {
	return slices.Contains(p.user.Groups, MastersGroup) || p.mayAllow(p.cluster, "", reqs) || p.mayAllow(p.ns[ns], ns, reqs)
}

func (p *Principal) mayAllow(bs []*roleBinding, ns string, reqs []Request) bool {
	for _, b := range bs {
		rules := b.rules
		for i := range rules {
			r := &rules[i]
			for _, q := range reqs {
				combined := q.Resource
				if q.Subresource != "" {
					combined += "/" + q.Subresource
				}
				if VerbMatches(r, q.Verb) && APIGroupMatches(r, q.Group) && ResourceMatches(r, combined, q.Subresource) {
					return true
				}
			}
		}
	}
	return false
}

// hasVerb reports whether a rule of a binding that applies lists verb or "*".
func (p *Principal) hasVerb(verb string) bool {
	check := func(bs []*roleBinding, ns string) bool {
		for _, b := range bs {
			rules := b.rules
			for i := range rules {
				if VerbMatches(&rules[i], verb) {
					return true
				}
			}
		}
		return false
	}
	if check(p.cluster, "") {
		return true
	}
	for ns, bs := range p.ns {
		if check(bs, ns) {
			return true
		}
	}
	return false
}

// AccessRule is a compacted rule: the verbs allowed on some resources of
// some API groups (with resource names when limited), or on some
// non-resource URLs, and the bindings that grant them.
type AccessRule struct {
	Verbs           []string `json:"verbs"`
	APIGroups       []string `json:"apiGroups,omitempty"`
	Resources       []string `json:"resources,omitempty"`
	ResourceNames   []string `json:"resourceNames,omitempty"`
	NonResourceURLs []string `json:"nonResourceURLs,omitempty"`
	Via             []string `json:"via"`
}

// Scope is what an identity may do cluster-wide (Namespace "") or in one
// namespace (in addition to its cluster-wide rules).
type Scope struct {
	Namespace string       `json:"namespace,omitempty"`
	Rules     []AccessRule `json:"rules"`
}

// AccessOf is everything u may do: the rules of the ClusterRoleBindings
// that apply to it, then, per namespace, those of the RoleBindings of that
// namespace, compacted (verbs of one resource merged, resources with the
// same verbs merged). Missing lists the roles applicable bindings refer to
// that do not exist. Members of system:masters get one rule allowing
// everything.
func (s *Set) AccessOf(u User) (scopes []Scope, missing []string) {
	p := s.For(u)
	cluster := Scope{}
	if slices.Contains(u.Groups, MastersGroup) {
		cluster.Rules = append(cluster.Rules, AccessRule{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}, Via: []string{"(system:masters)"}},
			AccessRule{Verbs: []string{"*"}, NonResourceURLs: []string{"*"}, Via: []string{"(system:masters)"}})
	}
	rules, miss := s.compact(p.cluster, "")
	cluster.Rules = append(cluster.Rules, rules...)
	missing = append(missing, miss...)
	if len(cluster.Rules) > 0 {
		scopes = append(scopes, cluster)
	}
	for _, ns := range p.Namespaces() {
		rules, miss := s.compact(p.ns[ns], ns)
		missing = append(missing, miss...)
		if len(rules) > 0 {
			scopes = append(scopes, Scope{Namespace: ns, Rules: rules})
		}
	}
	slices.Sort(missing)
	return scopes, slices.Compact(missing)
}

func (s *Set) compact(bs []*roleBinding, ns string) ([]AccessRule, []string) {
	type resKey struct{ group, resource, names string }
	type entry struct {
		verbs map[string]bool
		via   map[string]bool
	}
	res := map[resKey]*entry{}
	urls := map[string]*entry{}
	var missing []string
	add := func(m *entry, verbs []string, via string) {
		for _, v := range verbs {
			m.verbs[v] = true
		}
		m.via[via] = true
	}
	newEntry := func() *entry { return &entry{verbs: map[string]bool{}, via: map[string]bool{}} }
	for _, b := range bs {
		role, rules, err := s.roleRules(b.roleRef, ns)
		if err != nil {
			missing = append(missing, b.ref.String()+": "+err.Error())
			continue
		}
		via := b.ref.String() + " → " + role.String()
		for _, r := range rules {
			names := strings.Join(sortedCopy(r.ResourceNames), ",")
			for _, g := range r.APIGroups {
				for _, rs := range r.Resources {
					k := resKey{g, rs, names}
					if res[k] == nil {
						res[k] = newEntry()
					}
					add(res[k], r.Verbs, via)
				}
			}
			for _, u := range r.NonResourceURLs {
				if urls[u] == nil {
					urls[u] = newEntry()
				}
				add(urls[u], r.Verbs, via)
			}
		}
	}
	keys := func(m map[string]bool) []string {
		out := make([]string, 0, len(m))
		for k := range m {
			out = append(out, k)
		}
		slices.Sort(out)
		if slices.Contains(out, "*") {
			return []string{"*"}
		}
		return out
	}
	// Merge resources of one group and names with the same verbs.
	type groupKey struct{ group, names, verbs string }
	merged := map[groupKey]*AccessRule{}
	var order []groupKey
	for k, e := range res {
		verbs := keys(e.verbs)
		gk := groupKey{k.group, k.names, strings.Join(verbs, ",")}
		r := merged[gk]
		if r == nil {
			r = &AccessRule{Verbs: verbs, APIGroups: []string{k.group}}
			if k.names != "" {
				r.ResourceNames = strings.Split(k.names, ",")
			}
			merged[gk] = r
			order = append(order, gk)
		}
		r.Resources = append(r.Resources, k.resource)
		r.Via = append(r.Via, keysOf(e.via)...)
	}
	urlMerged := map[string]*AccessRule{}
	for u, e := range urls {
		verbs := keys(e.verbs)
		k := strings.Join(verbs, ",")
		r := urlMerged[k]
		if r == nil {
			r = &AccessRule{Verbs: verbs}
			urlMerged[k] = r
		}
		r.NonResourceURLs = append(r.NonResourceURLs, u)
		r.Via = append(r.Via, keysOf(e.via)...)
	}
	var out []AccessRule
	for _, gk := range order {
		out = append(out, *merged[gk])
	}
	for _, r := range urlMerged {
		out = append(out, *r)
	}
	for i := range out {
		r := &out[i]
		slices.Sort(r.Resources)
		slices.Sort(r.NonResourceURLs)
		slices.Sort(r.Via)
		r.Via = slices.Compact(r.Via)
	}
	slices.SortFunc(out, func(a, b AccessRule) int {
		// Resource rules first, by group then resources; then URLs.
		return cmp.Or(
			cmp.Compare(min(len(a.NonResourceURLs), 1), min(len(b.NonResourceURLs), 1)),
			slices.Compare(a.APIGroups, b.APIGroups),
			slices.Compare(a.Resources, b.Resources),
			slices.Compare(a.ResourceNames, b.ResourceNames),
			slices.Compare(a.NonResourceURLs, b.NonResourceURLs),
			slices.Compare(a.Verbs, b.Verbs))
	})
	return out, missing
}

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

func keysOf(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
