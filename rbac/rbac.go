// Package rbac answers authorization questions offline the way the
// Kubernetes RBAC authorizer does: from the Roles, ClusterRoles,
// RoleBindings and ClusterRoleBindings of a scan, whether a user with some
// groups may make a request (can-i), and which subjects named by the
// bindings may make it (who-can).
//
// The semantics follow k8s.io/kubernetes plugin/pkg/auth/authorizer/rbac
// and pkg/registry/rbac/validation: every ClusterRoleBinding applies, and
// for a namespaced request the RoleBindings of that namespace; a
// ServiceAccount subject without a namespace takes the RoleBinding's; a
// rule matches when its verbs, API groups, resources (with "*" and
// "*/<subresource>"; "<resource>/*" is literal) and resourceNames (which
// never match a request without a name) match, or for a non-resource
// request its verbs and nonResourceURLs (exact, "*", or a prefix ending in
// "*"). Members of system:masters are allowed everything, as the API
// server's privileged-group authorizer allows them before RBAC is asked.
// Aggregated ClusterRoles are evaluated on the rules they carry, which the
// controller manager fills in on a live cluster.
package rbac

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
	"github.com/kubeharden/kubeharden/report"
)

// Well-known groups and user name parts.
const (
	// MastersGroup is allowed every request by the API server.
	MastersGroup        = "system:masters"
	AuthenticatedGroup  = "system:authenticated"
	ServiceAccountGroup = "system:serviceaccounts"
	saPrefix            = "system:serviceaccount:"
)

// User is the identity a request is made as.
type User struct {
	Name   string
	Groups []string
}

// ServiceAccountUser returns the identity a service account's token
// authenticates as: its user name and the groups the API server adds
// (system:serviceaccounts, system:serviceaccounts:NAMESPACE and
// system:authenticated). SubjectAccessReview does not add these groups;
// its caller must pass them.
func ServiceAccountUser(namespace, name string) User {
	return User{Name: saPrefix + namespace + ":" + name, Groups: ServiceAccountGroups(namespace)}
}

// ServiceAccountGroups are the groups of every service account of namespace.
func ServiceAccountGroups(namespace string) []string {
	return []string{ServiceAccountGroup, ServiceAccountGroup + ":" + namespace, AuthenticatedGroup}
}

// SplitServiceAccount returns the namespace and name of a service
// account user name (system:serviceaccount:NS:NAME).
func SplitServiceAccount(user string) (namespace, name string, ok bool) {
	rest, ok := strings.CutPrefix(user, saPrefix)
	if !ok {
		return "", "", false
	}
	namespace, name, ok = strings.Cut(rest, ":")
	if !ok || namespace == "" || name == "" || strings.Contains(name, ":") {
		return "", "", false
	}
	return namespace, name, true
}

// Request is what is asked: a resource request (Resource set) or a
// non-resource request (Path set), as a SubjectAccessReview's
// resourceAttributes or nonResourceAttributes.
type Request struct {
	Verb string
	// Resource requests.
	Group       string
	Resource    string
	Subresource string
	Namespace   string
	Name        string
	// Path is the URL of a non-resource request ("/healthz").
	Path string
}

// NonResource reports whether r is a non-resource request.
func (r Request) NonResource() bool { return r.Path != "" }

// String describes the request as kubectl would name it.
func (r Request) String() string {
	if r.NonResource() {
		return r.Verb + " " + r.Path
	}
	s := r.Verb + " " + r.Resource
	if r.Group != "" {
		s += "." + r.Group
	}
	if r.Subresource != "" {
		s += "/" + r.Subresource
	}
	if r.Name != "" {
		s += " " + r.Name
	}
	if r.Namespace != "" {
		s += " in " + r.Namespace
	}
	return s
}

// Ref names a role or binding.
type Ref struct {
	Kind, Namespace, Name string
}

// String is Kind/name or Kind/namespace/name.
func (r Ref) String() string {
	if r.Namespace == "" {
		return r.Kind + "/" + r.Name
	}
	return r.Kind + "/" + r.Namespace + "/" + r.Name
}

// Grant is one binding and role that allow a request; Rule is the index
// of the first rule of the role that does. The system:masters grant has a
// zero Binding and Role.
type Grant struct {
	Binding Ref
	Role    Ref
	Rule    int
}

// Decision is the authorizer's answer.
type Decision struct {
	Allowed bool
	// Reason is the RBAC authorizer's reason for a denial: the roles that
	// applicable bindings refer to but that do not exist, as
	// "RBAC: <error>" or "RBAC: [<error>, <error>]"; empty otherwise.
	Reason string
	// Grants lists what allows the request (every grant with
	// Explain, the first one otherwise).
	Grants []Grant
}

// ServerReason is the reason the API server reports for a denial (in a
// SubjectAccessReview's status, and so in kubectl auth can-i's answer):
// the authorizer chain prefixes each authorizer's reason with its name,
// "rbac" for --authorization-mode=...,RBAC.
func (d Decision) ServerReason() string {
	if d.Reason == "" {
		return ""
	}
	return "rbac: " + d.Reason
}

type roleKey struct{ namespace, name string }

type roleBinding struct {
	ref       Ref
	namespace string // "" for a ClusterRoleBinding
	subjects  []rbacv1.Subject
	roleRef   rbacv1.RoleRef
	// pos is the binding's place in its sorted list (index).
	pos int
	// What roleRef resolves to (index): the role and its rules, or the
	// authorizer's error when there is no such role.
	role  Ref
	rules []rbacv1.PolicyRule
	err   string
	// danger is the escalation primitives the rules may allow (index).
	danger relevance
}

// Set is a set of RBAC objects. Add objects, then ask; a Set is safe for
// concurrent questions once no more objects are added.
type Set struct {
	mu           sync.Mutex
	roles        map[roleKey][]rbacv1.PolicyRule
	clusterRoles map[string][]rbacv1.PolicyRule
	bindings     map[Ref]*roleBinding
	// Sorted on first use.
	sorted          bool
	clusterBindings []*roleBinding
	nsBindings      map[string][]*roleBinding
	// bySubject finds the bindings that may apply to a user: by
	// subjectKey of its name and of each of its groups.
	bySubject map[string][]*roleBinding
	relCache  map[relKey]relevance
	// subjects is Subjects, once asked (index).
	subjects []Subject
}

// subjectKey is the key of bySubject under which a subject is found: the
// user name a User or ServiceAccount subject matches, or the group a
// Group subject matches; false for a subject that matches no one.
func subjectKey(sub rbacv1.Subject, namespace string) (string, bool) {
	switch sub.Kind {
	case rbacv1.UserKind:
		return userKey(sub.Name), true
	case rbacv1.GroupKind:
		return groupKey(sub.Name), true
	case rbacv1.ServiceAccountKind:
		ns := cmp.Or(sub.Namespace, namespace)
		if ns == "" {
			return "", false
		}
		return userKey(saPrefix + ns + ":" + sub.Name), true
	}
	return "", false
}

func userKey(name string) string   { return "u\x00" + name }
func groupKey(group string) string { return "g\x00" + group }

// NewSet returns an empty set.
func NewSet() *Set {
	return &Set{roles: map[roleKey][]rbacv1.PolicyRule{}, clusterRoles: map[string][]rbacv1.PolicyRule{}, bindings: map[Ref]*roleBinding{}}
}

// FromObjects builds a set from the RBAC objects among objs.
func FromObjects(objs []*inventory.Object) *Set {
	s := NewSet()
	for _, o := range objs {
		s.AddObject(o)
	}
	return s
}

// AddObject adds o if it is a Role, ClusterRole, RoleBinding or
// ClusterRoleBinding and reports whether it was. An object of the same
// kind and name replaces an earlier one.
func (s *Set) AddObject(o *inventory.Object) bool {
	if o == nil {
		return false
	}
	return s.Add(o.Typed)
}

// DefaultNamespace is where kubectl creates a namespaced object that names
// no namespace: a Role or RoleBinding manifest without one is taken to be
// in it (a RoleBinding never applies cluster-wide).
const DefaultNamespace = "default"

// Add adds a typed RBAC object (*rbacv1.Role and so on) and reports
// whether it was one.
func (s *Set) Add(obj any) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch o := obj.(type) {
	case *rbacv1.Role:
		s.roles[roleKey{cmp.Or(o.Namespace, DefaultNamespace), o.Name}] = o.Rules
	case *rbacv1.ClusterRole:
		s.clusterRoles[o.Name] = o.Rules
	case *rbacv1.RoleBinding:
		ns := cmp.Or(o.Namespace, DefaultNamespace)
		ref := Ref{"RoleBinding", ns, o.Name}
		s.bindings[ref] = &roleBinding{ref: ref, namespace: ns, subjects: o.Subjects, roleRef: o.RoleRef}
	case *rbacv1.ClusterRoleBinding:
		ref := Ref{"ClusterRoleBinding", "", o.Name}
		s.bindings[ref] = &roleBinding{ref: ref, subjects: o.Subjects, roleRef: o.RoleRef}
	default:
		return false
	}
	s.sorted = false
	return true
}

// Len is the number of objects in the set.
func (s *Set) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.roles) + len(s.clusterRoles) + len(s.bindings)
}

// index sorts the bindings (by name) once after additions.
func (s *Set) index() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sorted {
		return
	}
	s.clusterBindings = nil
	s.nsBindings = map[string][]*roleBinding{}
	for _, b := range s.bindings {
		if b.namespace == "" {
			s.clusterBindings = append(s.clusterBindings, b)
		} else {
			s.nsBindings[b.namespace] = append(s.nsBindings[b.namespace], b)
		}
	}
	s.relCache, s.subjects = nil, nil
	byName := func(a, b *roleBinding) int { return cmp.Compare(a.ref.Name, b.ref.Name) }
	s.bySubject = map[string][]*roleBinding{}
	indexList := func(l []*roleBinding) {
		slices.SortFunc(l, byName)
		for i, b := range l {
			b.pos = i
			b.role, b.rules, b.err = Ref{}, nil, ""
			role, rules, err := s.roleRules(b.roleRef, b.namespace)
			if err != nil {
				b.err = err.Error()
			} else {
				b.role, b.rules = role, rules
			}
			b.danger = s.rulesRelevance(rules)
			for _, sub := range b.subjects {
				if k, ok := subjectKey(sub, b.namespace); ok {
					if bs := s.bySubject[k]; len(bs) == 0 || bs[len(bs)-1] != b {
						s.bySubject[k] = append(bs, b)
					}
				}
			}
		}
	}
	indexList(s.clusterBindings)
	for _, l := range s.nsBindings {
		indexList(l)
	}
	s.sorted = true
}

// roleRules returns the rules a binding's roleRef points at, or the error
// the authorizer records when there is no such role.
func (s *Set) roleRules(ref rbacv1.RoleRef, namespace string) (Ref, []rbacv1.PolicyRule, error) {
	switch ref.Kind {
	case "Role":
		rules, ok := s.roles[roleKey{namespace, ref.Name}]
		if !ok {
			return Ref{}, nil, fmt.Errorf("role.rbac.authorization.k8s.io %q not found", ref.Name)
		}
		return Ref{"Role", namespace, ref.Name}, rules, nil
	case "ClusterRole":
		rules, ok := s.clusterRoles[ref.Name]
		if !ok {
			return Ref{}, nil, fmt.Errorf("clusterrole.rbac.authorization.k8s.io %q not found", ref.Name)
		}
		return Ref{"ClusterRole", "", ref.Name}, rules, nil
	}
	return Ref{}, nil, fmt.Errorf("unsupported role reference kind: %q", ref.Kind)
}

// Authorize decides r for u as the API server does (the privileged
// system:masters group, then RBAC), stopping at the first grant.
func (s *Set) Authorize(u User, r Request) Decision { return s.authorize(u, r, false) }

// Explain is Authorize, listing every binding and role that grant r.
func (s *Set) Explain(u User, r Request) Decision { return s.authorize(u, r, true) }

func (s *Set) authorize(u User, r Request, all bool) Decision {
	s.index()
	return authorizeIn(s, u, r, all, s.clusterBindings, s.nsBindings)
}

// authorizeIn is the authorizer over a list of ClusterRoleBindings and the
// RoleBindings of each namespace: the whole set's, or those of a Principal.
func authorizeIn(s *Set, u User, r Request, all bool, clusterBindings []*roleBinding, nsBindings map[string][]*roleBinding) Decision {
	var d Decision
	if slices.Contains(u.Groups, MastersGroup) {
		d.Allowed = true
		d.Grants = append(d.Grants, Grant{Rule: -1})
		if !all {
			return d
		}
	}
	var errs []string
	visit := func(bs []*roleBinding, namespace string) bool {
		for _, b := range bs {
			if !appliesTo(u, b.subjects, namespace) {
				continue
			}
			if b.err != "" {
				errs = append(errs, b.err)
				continue
			}
			for i := range b.rules {
				if RuleAllows(&b.rules[i], r) {
					d.Allowed = true
					d.Grants = append(d.Grants, Grant{Binding: b.ref, Role: b.role, Rule: i})
					if !all {
						return false
					}
					break
				}
			}
		}
		return true
	}
	if visit(clusterBindings, "") && r.Namespace != "" && !r.NonResource() {
		visit(nsBindings[r.Namespace], r.Namespace)
	}
	if !d.Allowed && len(errs) > 0 {
		d.Reason = "RBAC: " + aggregate(errs)
	}
	return d
}

// aggregate formats errors as k8s.io/apimachinery's aggregate error does.
func aggregate(errs []string) string {
	if len(errs) == 1 {
		return errs[0]
	}
	var seen []string
	for _, e := range errs {
		if !slices.Contains(seen, e) {
			seen = append(seen, e)
		}
	}
	if len(seen) == 1 {
		return seen[0]
	}
	return "[" + strings.Join(seen, ", ") + "]"
}

// appliesTo reports whether any subject is u; namespace is the binding's
// ("" for a ClusterRoleBinding), the default for ServiceAccount subjects.
func appliesTo(u User, subjects []rbacv1.Subject, namespace string) bool {
	for _, sub := range subjects {
		switch sub.Kind {
		case rbacv1.UserKind:
			if u.Name == sub.Name {
				return true
			}
		case rbacv1.GroupKind:
			if slices.Contains(u.Groups, sub.Name) {
				return true
			}
		case rbacv1.ServiceAccountKind:
			ns := namespace
			if sub.Namespace != "" {
				ns = sub.Namespace
			}
			if ns != "" && u.Name == saPrefix+ns+":"+sub.Name {
				return true
			}
		}
	}
	return false
}

// RuleAllows reports whether rule grants r.
func RuleAllows(rule *rbacv1.PolicyRule, r Request) bool {
	combined := r.Resource
	if r.Subresource != "" {
		combined += "/" + r.Subresource
	}
	return ruleAllows(rule, r, combined)
}

// ruleAllows is RuleAllows with r's resource and subresource joined by
// the caller (combined).
func ruleAllows(rule *rbacv1.PolicyRule, r Request, combined string) bool {
	if !VerbMatches(rule, r.Verb) {
		return false
	}
	if r.NonResource() {
		return NonResourceURLMatches(rule, r.Path)
	}
	return APIGroupMatches(rule, r.Group) && ResourceMatches(rule, combined, r.Subresource) &&
		ResourceNameMatches(rule, r.Name)
}

// VerbMatches: the rule lists the verb or "*".
func VerbMatches(rule *rbacv1.PolicyRule, verb string) bool {
	return slices.Contains(rule.Verbs, rbacv1.VerbAll) || slices.Contains(rule.Verbs, verb)
}

// APIGroupMatches: the rule lists the group or "*".
func APIGroupMatches(rule *rbacv1.PolicyRule, group string) bool {
	return slices.Contains(rule.APIGroups, rbacv1.APIGroupAll) || slices.Contains(rule.APIGroups, group)
}

// ResourceMatches: the rule lists "*", the resource (or
// "resource/subresource") itself, or "*/subresource" for a subresource.
// "resource/*" has no special meaning.
func ResourceMatches(rule *rbacv1.PolicyRule, combined, subresource string) bool {
	for _, res := range rule.Resources {
		if res == rbacv1.ResourceAll || res == combined {
			return true
		}
		if subresource != "" && res == "*/"+subresource {
			return true
		}
	}
	return false
}

// ResourceNameMatches: the rule lists no names, or the request's name. A
// request without a name (create, deletecollection, list without a
// metadata.name field selector) matches only a rule without names.
func ResourceNameMatches(rule *rbacv1.PolicyRule, name string) bool {
	return len(rule.ResourceNames) == 0 || slices.Contains(rule.ResourceNames, name)
}

// NonResourceURLMatches: the rule lists "*", the path, or a prefix of it
// followed by "*".
func NonResourceURLMatches(rule *rbacv1.PolicyRule, path string) bool {
	for _, u := range rule.NonResourceURLs {
		if u == rbacv1.NonResourceAll || u == path {
			return true
		}
		if strings.HasSuffix(u, "*") && strings.HasPrefix(path, strings.TrimRight(u, "*")) {
			return true
		}
	}
	return false
}

// Subject is a subject some binding names, with the namespace of a
// ServiceAccount resolved.
type Subject struct {
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"`
}

// User is the identity the subject authenticates as: a User by name, a
// Group as a member (with no user name), a ServiceAccount with the groups
// every service account has.
func (s Subject) User() User {
	switch s.Kind {
	case rbacv1.ServiceAccountKind:
		return ServiceAccountUser(s.Namespace, s.Name)
	case rbacv1.GroupKind:
		return User{Groups: []string{s.Name}}
	}
	return User{Name: s.Name}
}

// Access is a subject allowed a request and what grants it.
type Access struct {
	Subject
	Via []Grant
}

// Subjects returns every distinct subject the bindings name, sorted by
// kind, namespace and name. ServiceAccount subjects without a namespace
// take their RoleBinding's; in a ClusterRoleBinding they name nothing and
// are left out.
func (s *Set) Subjects() []Subject {
	s.index()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.subjects == nil {
		s.subjects = s.listSubjects()
	}
	if len(s.subjects) == 0 {
		return nil
	}
	return slices.Clone(s.subjects)
}

// listSubjects is Subjects, of an indexed set.
func (s *Set) listSubjects() []Subject {
	seen := map[Subject]bool{}
	var out []Subject
	add := func(bs []*roleBinding) {
		for _, b := range bs {
			for _, sub := range b.subjects {
				v := Subject{Kind: sub.Kind, Name: sub.Name}
				switch sub.Kind {
				case rbacv1.UserKind, rbacv1.GroupKind:
				case rbacv1.ServiceAccountKind:
					v.Namespace = cmp.Or(sub.Namespace, b.namespace)
					if v.Namespace == "" {
						continue
					}
				default:
					continue
				}
				if !seen[v] {
					seen[v] = true
					out = append(out, v)
				}
			}
		}
	}
	add(s.clusterBindings)
	for _, bs := range s.nsBindings {
		add(bs)
	}
	slices.SortFunc(out, func(a, b Subject) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	if out == nil {
		out = []Subject{}
	}
	return out
}

// WhoCan returns the subjects named by the bindings that are allowed r,
// each with every grant that allows it.
func (s *Set) WhoCan(r Request) []Access {
	var out []Access
	for _, sub := range s.Subjects() {
		if d := s.Explain(sub.User(), r); d.Allowed {
			out = append(out, Access{Subject: sub, Via: d.Grants})
		}
	}
	return out
}

// Collector is a source.Sink that keeps the RBAC objects a source reads,
// and the errors and notices it reports.
type Collector struct {
	Set *Set

	mu      sync.Mutex
	Errors  []inventory.Error
	Notices []report.Notice
	// Missing are the kinds a source could not list.
	Missing []*kinds.Type
}

// NewCollector returns a collector filling a new set.
func NewCollector() *Collector { return &Collector{Set: NewSet()} }

// Object keeps o if it is an RBAC object.
func (c *Collector) Object(o *inventory.Object) { c.Set.AddObject(o) }

// Error records e.
func (c *Collector) Error(e inventory.Error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.Errors = append(c.Errors, e)
}

// Notice records n.
func (c *Collector) Notice(n report.Notice) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.Notices = append(c.Notices, n)
}

// Unlisted records kinds that could not be listed.
func (c *Collector) Unlisted(_ string, t *kinds.Type) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.Missing = append(c.Missing, t)
}

// Impersonate returns the identity the API server gives a request made
// with kubectl --as name --as-group group...: a service account user name
// gets the service account groups when no group is given; every user but
// system:anonymous gets system:authenticated unless the groups include
// system:authenticated or system:unauthenticated; system:anonymous gets
// system:unauthenticated.
func Impersonate(name string, groups []string) User {
	u := User{Name: name, Groups: slices.Clone(groups)}
	if ns, _, ok := SplitServiceAccount(name); ok && len(groups) == 0 {
		u.Groups = []string{ServiceAccountGroup, ServiceAccountGroup + ":" + ns}
	}
	if name == "system:anonymous" {
		if !slices.Contains(u.Groups, "system:unauthenticated") {
			u.Groups = append(u.Groups, "system:unauthenticated")
		}
	} else if !slices.Contains(u.Groups, AuthenticatedGroup) && !slices.Contains(u.Groups, "system:unauthenticated") {
		u.Groups = append(u.Groups, AuthenticatedGroup)
	}
	return u
}
