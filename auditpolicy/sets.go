package auditpolicy

import (
	"slices"
	"strings"
)

// Sets of requests.
//
// The set of requests a rule matches is a union of cubes: products of one
// set per request attribute (user, group, verb; for resource requests the
// namespace, API group, resource, subresource and name; for non-resource
// requests the path). Rules compare every attribute but the path with
// exact values, so each of those sets is either finite (Set) or all values
// but finitely many (Not). The path set is one path, every path with a
// prefix, or every path.
//
// A user's groups are a set, and a rule with userGroups matches when they
// meet. It is enough to reason about requests with at most one group: if
// a request with groups S is matched by a rule and not by the rules before
// it, so is the request with the one group of S the rule names (or with
// none, for a rule that names no group), since earlier rules can only
// match fewer requests when groups are taken away. So the group is treated
// as one more attribute, "" standing for no group.
//
// Cover decides whether a cube is included in a union of cubes exactly:
// it splits the cube along an attribute into classes on which every other
// cube either contains or misses it, and recurses. Non-resource paths are
// decided last and conservatively (a prefix is covered only by a shorter
// prefix or "*"). The search has a budget; when it runs out the answer is
// "not covered, unknown", which every caller treats as the safe answer.

// dim is an attribute of a request.
type dim int

const (
	dUser dim = iota
	dGroup
	dVerb
	dNamespace
	dAPIGroup
	dResource
	dSubresource
	dName
	nDims
)

// vset is a set of strings: the listed values (neg false), or every value
// but the listed ones (neg true). vals are sorted and unique.
type vset struct {
	neg  bool
	vals []string
}

var anyValue = vset{neg: true}

func valueSet(vs ...string) vset {
	out := slices.Clone(vs)
	slices.Sort(out)
	return vset{vals: slices.Compact(out)}
}

func listOrAny(vs []string) vset {
	if len(vs) == 0 {
		return anyValue
	}
	return valueSet(vs...)
}

func (s vset) has(v string) bool {
	_, found := slices.BinarySearch(s.vals, v)
	return found != s.neg
}

func (s vset) isAny() bool { return s.neg && len(s.vals) == 0 }

// contains reports whether s includes t.
func (s vset) contains(t vset) bool {
	switch {
	case !s.neg && !t.neg:
		return subset(t.vals, s.vals)
	case !s.neg && t.neg:
		return false // t is infinite
	case s.neg && !t.neg:
		return disjoint(s.vals, t.vals)
	default:
		return subset(s.vals, t.vals)
	}
}

func (s vset) intersect(t vset) (vset, bool) {
	switch {
	case !s.neg && !t.neg:
		var out []string
		for _, v := range s.vals {
			if t.has(v) {
				out = append(out, v)
			}
		}
		return vset{vals: out}, len(out) > 0
	case !s.neg:
		return s.filter(t)
	case !t.neg:
		return t.filter(s)
	default:
		return vset{neg: true, vals: union(s.vals, t.vals)}, true
	}
}

// meets reports whether s and t have a value in common, without building
// their intersection.
func (s vset) meets(t vset) bool {
	switch {
	case s.neg && t.neg:
		return true
	case !s.neg:
		for _, v := range s.vals {
			if t.has(v) {
				return true
			}
		}
		return false
	default:
		return t.meets(s)
	}
}

// filter returns the values of the finite s that t has.
func (s vset) filter(t vset) (vset, bool) {
	var out []string
	for _, v := range s.vals {
		if t.has(v) {
			out = append(out, v)
		}
	}
	return vset{vals: out}, len(out) > 0
}

func subset(a, b []string) bool {
	for _, v := range a {
		if _, ok := slices.BinarySearch(b, v); !ok {
			return false
		}
	}
	return true
}

func disjoint(a, b []string) bool {
	for _, v := range a {
		if _, ok := slices.BinarySearch(b, v); ok {
			return false
		}
	}
	return true
}

func union(a, b []string) []string {
	out := append(slices.Clone(a), b...)
	slices.Sort(out)
	return slices.Compact(out)
}

// pathSet is a set of non-resource paths.
type pathSet struct {
	any    bool
	prefix bool   // every path starting with s
	s      string // the path, or the prefix
}

func (p pathSet) contains(q pathSet) bool {
	switch {
	case p.any:
		return true
	case q.any:
		return false
	case p.prefix:
		return strings.HasPrefix(q.s, p.s)
	default:
		return !q.prefix && q.s == p.s
	}
}

func (p pathSet) intersect(q pathSet) (pathSet, bool) {
	switch {
	case p.any:
		return q, true
	case q.any:
		return p, true
	case p.prefix && q.prefix:
		if strings.HasPrefix(q.s, p.s) {
			return q, true
		}
		return p, strings.HasPrefix(p.s, q.s)
	case p.prefix:
		return q, strings.HasPrefix(q.s, p.s)
	case q.prefix:
		return p, strings.HasPrefix(p.s, q.s)
	default:
		return p, p.s == q.s
	}
}

func pathSpec(spec string) pathSet {
	if spec == "*" {
		return pathSet{any: true}
	}
	if strings.HasSuffix(spec, "*") {
		return pathSet{prefix: true, s: strings.TrimRight(spec, "*")}
	}
	return pathSet{s: spec}
}

// cube is a product of attribute sets, for resource or non-resource
// requests. The resource attributes of a non-resource cube are anyValue.
type cube struct {
	nonResource bool
	v           [nDims]vset
	path        pathSet
}

func (c cube) contains(d cube) bool {
	if c.nonResource != d.nonResource {
		return false
	}
	for i := range c.v {
		if !c.v[i].contains(d.v[i]) {
			return false
		}
	}
	return !c.nonResource || c.path.contains(d.path)
}

// meets reports whether c and d have a request in common.
func (c cube) meets(d cube) bool {
	if c.nonResource != d.nonResource {
		return false
	}
	for i := range c.v {
		if !c.v[i].meets(d.v[i]) {
			return false
		}
	}
	if c.nonResource {
		_, ok := c.path.intersect(d.path)
		return ok
	}
	return true
}

func (c cube) intersect(d cube) (cube, bool) {
	if c.nonResource != d.nonResource {
		return cube{}, false
	}
	out := cube{nonResource: c.nonResource}
	for i := range c.v {
		s, ok := c.v[i].intersect(d.v[i])
		if !ok {
			return cube{}, false
		}
		out.v[i] = s
	}
	if c.nonResource {
		p, ok := c.path.intersect(d.path)
		if !ok {
			return cube{}, false
		}
		out.path = p
	}
	return out, true
}

// patternSets returns the (resource, subresource) sets a resource pattern
// matches (see ResourceMatches; resource and subresource names never hold
// a '/', and "" is no subresource).
func patternSets(p string) [][2]vset {
	if p == "*" {
		return [][2]vset{{anyValue, anyValue}}
	}
	i := strings.IndexByte(p, '/')
	if i < 0 {
		return [][2]vset{{valueSet(p), valueSet("")}}
	}
	res, sub := p[:i], p[i+1:]
	var out [][2]vset
	if sub != "" && !strings.Contains(sub, "/") {
		out = append(out, [2]vset{valueSet(res), valueSet(sub)})
		if res == "*" {
			out = append(out, [2]vset{anyValue, valueSet(sub)})
		}
	}
	if strings.HasSuffix(p, "/*") {
		if r := strings.TrimSuffix(p, "/*"); !strings.Contains(r, "/") {
			out = append(out, [2]vset{valueSet(r), anyValue})
		}
	}
	return out
}

// Selector describes a set of requests the way a rule does (without a
// level), for questions such as "which levels can a Secret read get?".
type Selector struct {
	Users, UserGroups, Verbs []string
	Resources                []GroupResources
	Namespaces               []string
	NonResourceURLs          []string
	// NonSystemUsers restricts the users to those whose name does not
	// start with "system:" (people and external identities; service
	// accounts are "system:serviceaccount:..." and so excluded).
	NonSystemUsers bool
}

func (r *Rule) selector() Selector {
	return Selector{Users: r.Users, UserGroups: r.UserGroups, Verbs: r.Verbs, Resources: r.Resources, Namespaces: r.Namespaces, NonResourceURLs: r.NonResourceURLs}
}

// cubes returns the requests s selects as a union of cubes. systemUsers
// are the "system:" users the policy names, which NonSystemUsers excludes
// (any other "system:" user is treated by every rule as any unnamed user,
// so excluding the named ones is exact).
func (s Selector) cubes(systemUsers []string) []cube {
	var base cube
	base.v[dUser] = listOrAny(s.Users)
	if s.NonSystemUsers {
		if len(s.Users) > 0 {
			var keep []string
			for _, u := range s.Users {
				if !strings.HasPrefix(u, "system:") {
					keep = append(keep, u)
				}
			}
			if len(keep) == 0 {
				return nil
			}
			base.v[dUser] = valueSet(keep...)
		} else {
			base.v[dUser] = vset{neg: true, vals: valueSet(systemUsers...).vals}
		}
	}
	base.v[dGroup] = listOrAny(s.UserGroups)
	base.v[dVerb] = listOrAny(s.Verbs)
	for d := dNamespace; d < nDims; d++ {
		base.v[d] = anyValue
	}
	resource := func() []cube {
		c := base
		c.v[dNamespace] = listOrAny(s.Namespaces)
		if len(s.Resources) == 0 {
			return []cube{c}
		}
		var out []cube
		for _, gr := range s.Resources {
			g := c
			if gr.Group != "*" {
				g.v[dAPIGroup] = valueSet(gr.Group)
			}
			if len(gr.Resources) == 0 {
				out = append(out, g)
				continue
			}
			if len(gr.ResourceNames) > 0 {
				g.v[dName] = valueSet(gr.ResourceNames...)
			}
			for _, p := range gr.Resources {
				for _, rs := range patternSets(p) {
					x := g
					x.v[dResource], x.v[dSubresource] = rs[0], rs[1]
					out = append(out, x)
				}
			}
		}
		return out
	}
	switch {
	case len(s.Namespaces) > 0 || len(s.Resources) > 0:
		return resource()
	case len(s.NonResourceURLs) > 0:
		var out []cube
		for _, u := range s.NonResourceURLs {
			c := base
			c.nonResource = true
			c.path = pathSpec(u)
			out = append(out, c)
		}
		return out
	default:
		nr := base
		nr.nonResource = true
		nr.path = pathSet{any: true}
		return append(resource(), nr)
	}
}

// Budget is the work (cubes compared) one Analysis may spend on all its
// questions together: far more than real policies need (the recommended
// policy's whole lint takes 0.2% of it), small enough that a
// pathological policy cannot stall a scan. Once it is spent, every answer
// is "not covered, unknown".
const Budget = 5_000_000

// coverage is an inclusion question, drawing on its analysis' budget.
type coverage struct {
	left *int
}

// covered reports whether c is included in the union of cover. When it is
// not, witness is a part of c that no cube of cover meets or that the
// search could not split further; exact is false when the budget ran out
// (then ok is false too).
func (s *coverage) covered(c cube, cover []cube) (ok bool, witness cube, exact bool) {
	*s.left -= 1 + len(cover)
	if *s.left < 0 {
		return false, c, false
	}
	var meet []cube
	for _, d := range cover {
		if d.meets(c) {
			if d.contains(c) {
				return true, cube{}, true
			}
			meet = append(meet, d)
		}
	}
	if len(meet) == 0 {
		return false, c, true
	}
	// A value of some attribute that no cube has: not covered (the
	// classes of that attribute the cubes miss are the witness).
	for d := dUser; d < nDims; d++ {
		if rest, ok := uncovered(c.v[d], meet, d); ok {
			w := c
			w.v[d] = rest
			return false, w, true
		}
	}
	// Split along the attribute with the fewest classes.
	best, bestClasses := dim(-1), []vset(nil)
	for d := dUser; d < nDims; d++ {
		classes := split(c.v[d], meet, d)
		if len(classes) > 1 && (best < 0 || len(classes) < len(bestClasses)) {
			best, bestClasses = d, classes
		}
	}
	if best < 0 {
		// Every cube that meets c contains it on every attribute but the
		// path: c is covered if one path set contains c's. A union of
		// paths and prefixes that covers a prefix no single one covers is
		// not recognised (the answer is then "not covered", the safe one).
		for _, d := range meet {
			if d.path.contains(c.path) {
				return true, cube{}, true
			}
		}
		return false, c, true
	}
	for _, cls := range bestClasses {
		part := c
		part.v[best] = cls
		if ok, w, exact := s.covered(part, meet); !ok {
			return false, w, exact
		}
	}
	return true, cube{}, true
}

// uncovered returns the part of s that no cube of cover has on attribute
// d, if it is not empty.
func uncovered(s vset, cover []cube, d dim) (vset, bool) {
	rest := s
	for _, c := range cover {
		cd := c.v[d]
		if cd.isAny() {
			return vset{}, false
		}
		// rest minus cd
		if cd.neg {
			// rest ∩ cd.vals
			var keep []string
			for _, v := range cd.vals {
				if rest.has(v) {
					keep = append(keep, v)
				}
			}
			rest = vset{vals: keep}
		} else if rest.neg {
			rest = vset{neg: true, vals: union(rest.vals, cd.vals)}
		} else {
			var keep []string
			for _, v := range rest.vals {
				if !cd.has(v) {
					keep = append(keep, v)
				}
			}
			rest = vset{vals: keep}
		}
		if !rest.neg && len(rest.vals) == 0 {
			return vset{}, false
		}
	}
	return rest, true
}

// split divides s into classes on which the attribute sets of every cube
// of cover are constant (each class inside or outside each of them).
// Values with the same membership go together.
func split(s vset, cover []cube, d dim) []vset {
	var mentioned []string
	for _, c := range cover {
		mentioned = append(mentioned, c.v[d].vals...)
	}
	var candidates []string
	if s.neg {
		for _, v := range mentioned {
			if s.has(v) {
				candidates = append(candidates, v)
			}
		}
		slices.Sort(candidates)
		candidates = slices.Compact(candidates)
	} else {
		candidates = s.vals
	}
	type class struct {
		sig  string
		vals []string
	}
	var classes []class
	signature := func(v string) string {
		var b strings.Builder
		for _, c := range cover {
			if c.v[d].has(v) {
				b.WriteByte('1')
			} else {
				b.WriteByte('0')
			}
		}
		return b.String()
	}
	for _, v := range candidates {
		sig := signature(v)
		i := slices.IndexFunc(classes, func(c class) bool { return c.sig == sig })
		if i < 0 {
			classes = append(classes, class{sig: sig})
			i = len(classes) - 1
		}
		classes[i].vals = append(classes[i].vals, v)
	}
	var out []vset
	for _, c := range classes {
		out = append(out, vset{vals: c.vals})
	}
	if s.neg {
		// The values no cube names: every cube has all or none of them.
		out = append(out, vset{neg: true, vals: union(s.vals, candidates)})
	}
	return out
}
