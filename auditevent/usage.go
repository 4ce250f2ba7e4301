package auditevent

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Usage gathers what one identity did, from its audit events, to derive
// the least RBAC that allows exactly that: a Role per namespace it
// worked in, and a ClusterRole for cluster-scoped requests, lists across
// namespaces and non-resource URLs. Memory follows the number of
// distinct requests, not of events.
type Usage struct {
	// Subject is the identity: a user name, or a service account's
	// system:serviceaccount:NS:NAME. The impersonated user of an event
	// wins over its authenticated user.
	Subject string
	// scopes: namespace ("" for the cluster) → permission → names, or
	// nil when some request did not name its object.
	scopes map[string]map[perm]*names
	urls   map[[2]string]bool // verb, non-resource URL
	seen   map[string]bool    // auditIDs counted
	// Requests counts the subject's authorized requests.
	Requests int
	// Groups are the groups the subject's events gave it, sorted (at
	// most 256: the RBAC bindings of a user's groups apply to it).
	Groups []string
	// Events counts every event observed, of any identity, and First and
	// Last are the earliest and latest stage timestamps among them: the
	// window the usage was observed in.
	Events      int
	First, Last time.Time
}

type perm struct{ group, resource, verb string }

type names struct {
	all bool // some request named no object (or could not be restricted)
	set map[string]bool
}

// NewUsage returns an empty usage for subject.
func NewUsage(subject string) *Usage {
	return &Usage{Subject: subject, scopes: map[string]map[perm]*names{}, urls: map[[2]string]bool{}, seen: map[string]bool{}}
}

// Observe counts the event if it is an authorized request of the
// subject (once per auditID).
func (u *Usage) Observe(e *Event) {
	u.Events++
	if t, err := time.Parse(time.RFC3339Nano, e.StageTimestamp); err == nil {
		if u.First.IsZero() || t.Before(u.First) {
			u.First = t
		}
		if t.After(u.Last) {
			u.Last = t
		}
	}
	if e.Subject().Username != u.Subject || !e.Allowed() || e.Stage == "RequestReceived" {
		return
	}
	if e.AuditID != "" {
		if u.seen[e.AuditID] {
			return
		}
		if len(u.seen) < maxDedup {
			u.seen[e.AuditID] = true
		}
	}
	u.Requests++
	for _, g := range e.Subject().Groups {
		if i, found := slices.BinarySearch(u.Groups, g); !found && len(u.Groups) < 256 {
			u.Groups = slices.Insert(u.Groups, i, g)
		}
	}
	if e.ObjectRef == nil || e.ObjectRef.Resource == "" {
		u.urls[[2]string{e.Verb, pathOf(e.RequestURI)}] = true
		return
	}
	r := e.ObjectRef
	res := r.Resource
	if r.Subresource != "" {
		res += "/" + r.Subresource
	}
	scope := u.scopes[r.Namespace]
	if scope == nil {
		scope = map[perm]*names{}
		u.scopes[r.Namespace] = scope
	}
	p := perm{r.APIGroup, res, e.Verb}
	n := scope[p]
	if n == nil {
		n = &names{set: map[string]bool{}}
		scope[p] = n
	}
	// RBAC cannot restrict create, list, watch and deletecollection by
	// name: the request names no object the authorizer sees.
	switch {
	case r.Name == "" || e.Verb == "create" || e.Verb == "list" || e.Verb == "watch" || e.Verb == "deletecollection":
		n.all = true
	default:
		n.set[r.Name] = true
	}
}

// Roles returns the least Roles and ClusterRole covering the requests
// observed, each with a binding to the subject, named name (in the
// Roles' namespaces). Rules group the verbs that share group, resource
// and names.
func (u *Usage) Roles(name string) []any {
	subject := rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: u.Subject}
	if rest, ok := strings.CutPrefix(u.Subject, "system:serviceaccount:"); ok {
		if ns, sa, ok := strings.Cut(rest, ":"); ok {
			subject = rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: sa}
		}
	}
	var out []any
	namespaces := make([]string, 0, len(u.scopes))
	for ns := range u.scopes {
		if ns != "" {
			namespaces = append(namespaces, ns)
		}
	}
	sort.Strings(namespaces)
	for _, ns := range namespaces {
		meta := metav1.ObjectMeta{Name: name, Namespace: ns}
		out = append(out,
			&rbacv1.Role{TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "Role"}, ObjectMeta: meta, Rules: rules(u.scopes[ns])},
			&rbacv1.RoleBinding{TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "RoleBinding"}, ObjectMeta: meta,
				RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name}, Subjects: []rbacv1.Subject{subject}})
	}
	cluster := rules(u.scopes[""])
	var urlVerbs = map[string][]string{}
	for k := range u.urls {
		urlVerbs[k[1]] = append(urlVerbs[k[1]], k[0])
	}
	paths := make([]string, 0, len(urlVerbs))
	for p := range urlVerbs {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		vs := urlVerbs[p]
		sort.Strings(vs)
		cluster = append(cluster, rbacv1.PolicyRule{NonResourceURLs: []string{p}, Verbs: vs})
	}
	if len(cluster) > 0 {
		meta := metav1.ObjectMeta{Name: name}
		out = append(out,
			&rbacv1.ClusterRole{TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole"}, ObjectMeta: meta, Rules: cluster},
			&rbacv1.ClusterRoleBinding{TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRoleBinding"}, ObjectMeta: meta,
				RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name}, Subjects: []rbacv1.Subject{subject}})
	}
	return out
}

// rules turns a scope's permissions into policy rules: one per group,
// resource and set of names, with the verbs sorted.
func rules(scope map[perm]*names) []rbacv1.PolicyRule {
	type key struct{ group, resource, names string }
	verbs := map[key][]string{}
	for p, n := range scope {
		k := key{p.group, p.resource, ""}
		if !n.all {
			ns := make([]string, 0, len(n.set))
			for x := range n.set {
				ns = append(ns, x)
			}
			sort.Strings(ns)
			k.names = strings.Join(ns, "\x00")
		}
		verbs[k] = append(verbs[k], p.verb)
	}
	keys := make([]key, 0, len(verbs))
	for k := range verbs {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		return fmt.Sprint(a.group, "/", a.resource, "/", a.names) < fmt.Sprint(b.group, "/", b.resource, "/", b.names)
	})
	var out []rbacv1.PolicyRule
	for _, k := range keys {
		vs := verbs[k]
		slices.Sort(vs)
		r := rbacv1.PolicyRule{APIGroups: []string{k.group}, Resources: []string{k.resource}, Verbs: vs}
		if k.names != "" {
			r.ResourceNames = strings.Split(k.names, "\x00")
		}
		out = append(out, r)
	}
	return out
}

// Used reports whether some observed request matches verb on resource
// (possibly "resource/subresource") of group, in namespace ("" for any
// namespace and cluster-scoped requests), naming one of names (empty:
// any). Verb, group and resource may be RBAC's "*", and resource
// "*/subresource".
func (u *Usage) Used(namespace, group, resource, verb string, names []string) bool {
	for ns, scope := range u.scopes {
		if namespace != "" && ns != namespace {
			continue
		}
		for p, n := range scope {
			if verb != "*" && verb != p.verb || group != "*" && group != p.group || !resourceMatches(resource, p.resource) {
				continue
			}
			if len(names) == 0 {
				return true
			}
			for _, x := range names {
				if n.set[x] {
					return true
				}
			}
		}
	}
	return false
}

// UsedURL reports whether some observed non-resource request matches
// verb on the URL pattern ("/metrics", "/logs/*", "*").
func (u *Usage) UsedURL(pattern, verb string) bool {
	for k := range u.urls {
		if (verb == "*" || verb == k[0]) && (pattern == "*" || pattern == k[1] || strings.HasSuffix(pattern, "*") && strings.HasPrefix(k[1], strings.TrimSuffix(pattern, "*"))) {
			return true
		}
	}
	return false
}

func resourceMatches(rule, used string) bool {
	if rule == "*" || rule == used {
		return true
	}
	if sub, ok := strings.CutPrefix(rule, "*/"); ok {
		_, usedSub, found := strings.Cut(used, "/")
		return found && usedSub == sub
	}
	return false
}

// Unused returns the permissions rule grants in namespace ("" for a
// rule bound cluster-wide: every namespace and cluster-scoped resources)
// that no observed request used: one per verb, resource and resource name,
// as "VERB RESOURCE[.GROUP] [NAME]", or per verb and non-resource URL, as
// "VERB URL". Wildcards stay as the rule writes them: a "*" is one
// permission, used when any request it covers was made. Non-resource URLs
// count only cluster-wide, as RBAC grants them only there.
func (u *Usage) Unused(namespace string, rule *rbacv1.PolicyRule) []string {
	var out []string
	for _, verb := range rule.Verbs {
		if namespace == "" {
			for _, url := range rule.NonResourceURLs {
				if !u.UsedURL(url, verb) {
					out = append(out, verb+" "+url)
				}
			}
		}
		for _, g := range rule.APIGroups {
			for _, res := range rule.Resources {
				what := verb + " " + qualified(res, g)
				if len(rule.ResourceNames) == 0 {
					if !u.Used(namespace, g, res, verb, nil) {
						out = append(out, what)
					}
					continue
				}
				for _, n := range rule.ResourceNames {
					if !u.Used(namespace, g, res, verb, []string{n}) {
						out = append(out, what+" "+n)
					}
				}
			}
		}
	}
	return out
}

// Covered returns the observed permissions rule allows in namespace (as
// Unused scopes it), sorted, as "VERB RESOURCE[.GROUP] [NAME]" (names
// only where the rule lists them) and "VERB URL".
func (u *Usage) Covered(namespace string, rule *rbacv1.PolicyRule) []string {
	seen := map[string]bool{}
	match := func(list []string, x string) bool { return slices.Contains(list, "*") || slices.Contains(list, x) }
	for ns, scope := range u.scopes {
		if namespace != "" && ns != namespace {
			continue
		}
		for p, n := range scope {
			if !match(rule.Verbs, p.verb) || !match(rule.APIGroups, p.group) || !slices.ContainsFunc(rule.Resources, func(r string) bool { return resourceMatches(r, p.resource) }) {
				continue
			}
			what := p.verb + " " + qualified(p.resource, p.group)
			if len(rule.ResourceNames) == 0 {
				seen[what] = true
				continue
			}
			for _, x := range rule.ResourceNames {
				if n.set[x] {
					seen[what+" "+x] = true
				}
			}
		}
	}
	if namespace == "" {
		for k := range u.urls {
			if !match(rule.Verbs, k[0]) {
				continue
			}
			for _, pattern := range rule.NonResourceURLs {
				if pattern == "*" || pattern == k[1] || strings.HasSuffix(pattern, "*") && strings.HasPrefix(k[1], strings.TrimSuffix(pattern, "*")) {
					seen[k[0]+" "+k[1]] = true
				}
			}
		}
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func qualified(resource, group string) string {
	if group == "" {
		return resource
	}
	return resource + "." + group
}
