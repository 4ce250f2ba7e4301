package auditpolicy

import (
	"slices"
	"strings"
)

// Analysis answers questions about sets of requests under one policy.
// Build it once per policy with Analyze; it is not safe for concurrent use.
type Analysis struct {
	budget      int // work left; see Budget
	p           *Policy
	rules       [][]cube // the cubes of each rule
	flat        []cube   // every rule's cubes, in order
	before      []int    // before[i]: the number of cubes of the rules before rule i
	systemUsers []string // the "system:" users the policy names
}

// Analyze prepares the analysis of p.
func Analyze(p *Policy) *Analysis {
	a := &Analysis{p: p, budget: Budget}
	for i := range p.Rules {
		for _, u := range p.Rules[i].Users {
			if strings.HasPrefix(u, "system:") {
				a.systemUsers = append(a.systemUsers, u)
			}
		}
	}
	for i := range p.Rules {
		rc := p.Rules[i].selector().cubes(a.systemUsers)
		a.before = append(a.before, len(a.flat))
		a.rules = append(a.rules, rc)
		a.flat = append(a.flat, rc...)
	}
	return a
}

// Policy returns the analysed policy.
func (a *Analysis) Policy() *Policy { return a.p }

// Outcome is a rule that decides some of the requests of a selection.
type Outcome struct {
	// Rule is the index of the rule, or -1 for the requests no rule
	// matches (they are not audited).
	Rule  int
	Level Level
	// Example is one request of the selection the rule decides.
	Example Request
	// Exact is false when the analysis ran out of budget before it could
	// prove that the rule decides a request of the selection: it may not.
	Exact bool
}

// Outcomes returns, in rule order, every rule that decides at least one
// request of sel (first match wins), and a final Outcome with Rule -1 when
// some request of sel matches no rule.
func (a *Analysis) Outcomes(sel Selector) []Outcome {
	var out []Outcome
	add := func(o Outcome) {
		if i := slices.IndexFunc(out, func(x Outcome) bool { return x.Rule == o.Rule }); i >= 0 {
			out[i].Exact = out[i].Exact || o.Exact
			return
		}
		out = append(out, o)
	}
	for _, q := range sel.cubes(a.systemUsers) {
		for i, rc := range a.rules {
			prior := a.flat[:a.before[i]]
			for _, r := range rc {
				if !q.meets(r) {
					continue
				}
				x, _ := q.intersect(r)
				s := coverage{left: &a.budget}
				if cov, w, exact := s.covered(x, prior); !cov {
					add(Outcome{Rule: i, Level: a.p.Rules[i].Level, Example: w.example(), Exact: exact})
					break
				}
			}
		}
		s := coverage{left: &a.budget}
		if cov, w, exact := s.covered(q, a.flat); !cov {
			add(Outcome{Rule: -1, Level: LevelNone, Example: w.example(), Exact: exact})
		}
	}
	slices.SortStableFunc(out, func(x, y Outcome) int {
		switch {
		case x.Rule == y.Rule:
			return 0
		case x.Rule < 0:
			return 1
		case y.Rule < 0:
			return -1
		}
		return x.Rule - y.Rule
	})
	return out
}

// Unreachable says why rule i is never used: never is set when the rule
// matches no request at all (a pattern such as "pods/" or "a/b/c"), and
// otherwise by lists earlier rules that together take every request it
// matches (one rule when one suffices, and none the others make
// redundant). ok is false when some request reaches the rule, or when that
// could not be decided within the analysis budget (a rule is reported
// unreachable only when it is proven so).
func (a *Analysis) Unreachable(i int) (by []int, never bool, ok bool) {
	if i < 0 || i >= len(a.rules) {
		return nil, false, false
	}
	own := a.rules[i]
	if len(own) == 0 {
		return nil, true, true
	}
	prior := a.flat[:a.before[i]]
	for _, c := range own {
		s := coverage{left: &a.budget}
		if cov, _, _ := s.covered(c, prior); !cov {
			return nil, false, false
		}
	}
	// Name one earlier rule that alone takes everything, if there is one;
	// otherwise every earlier rule that takes some of it.
	for j := 0; j < i; j++ {
		all := true
		for _, c := range own {
			s := coverage{left: &a.budget}
			if cov, _, _ := s.covered(c, a.rules[j]); !cov {
				all = false
				break
			}
		}
		if all {
			return []int{j}, false, true
		}
	}
	for j := 0; j < i; j++ {
		meets := false
		for _, c := range own {
			for _, d := range a.rules[j] {
				meets = meets || c.meets(d)
			}
		}
		if meets {
			by = append(by, j)
		}
	}
	// Keep only rules the cover needs: drop each one the others make
	// redundant, so the message names the rules that matter.
	for k := 0; k < len(by); {
		rest := slices.Delete(slices.Clone(by), k, k+1)
		var cover []cube
		for _, j := range rest {
			cover = append(cover, a.rules[j]...)
		}
		all := true
		for _, c := range own {
			s := coverage{left: &a.budget}
			if cov, _, _ := s.covered(c, cover); !cov {
				all = false
				break
			}
		}
		if all {
			by = rest
		} else {
			k++
		}
	}
	return by, false, true
}

// Everything selects every request.
var Everything = Selector{}

// example returns a request of the cube, with names no rule uses where the
// cube allows any value but some.
func (c cube) example() Request {
	pick := func(s vset, fresh ...string) string {
		if !s.neg {
			if len(s.vals) > 0 {
				return s.vals[0]
			}
			return ""
		}
		for _, f := range fresh {
			if s.has(f) {
				return f
			}
		}
		for n := 0; ; n++ {
			v := fresh[0] + "-" + strings.Repeat("x", n+1)
			if s.has(v) {
				return v
			}
		}
	}
	r := Request{
		User: pick(c.v[dUser], "jane", "user"),
		Verb: pick(c.v[dVerb], "get", "list", "create", "update", "patch", "delete", "watch", "deletecollection"),
	}
	if g := pick(c.v[dGroup], "", "team"); g != "" {
		r.Groups = []string{g}
	}
	if c.nonResource {
		r.Path = c.path.s
		switch {
		case c.path.any:
			r.Path = "/x"
		case c.path.prefix:
			r.Path = c.path.s + "x"
		}
		return r
	}
	r.ResourceRequest = true
	r.Namespace = pick(c.v[dNamespace], "default", "team")
	r.APIGroup = pick(c.v[dAPIGroup], "example.com", "")
	r.Resource = pick(c.v[dResource], "widgets", "things")
	r.Subresource = pick(c.v[dSubresource], "", "status")
	r.Name = pick(c.v[dName], "", "x")
	return r
}

// String describes a request briefly: `get secrets "x" in namespace "team"
// by user "jane"`.
func (r Request) String() string {
	var b strings.Builder
	b.WriteString(r.Verb)
	b.WriteByte(' ')
	if !r.ResourceRequest {
		b.WriteString(r.Path)
	} else {
		b.WriteString(r.Resource)
		if r.APIGroup != "" {
			b.WriteString("." + r.APIGroup)
		}
		if r.Subresource != "" {
			b.WriteString("/" + r.Subresource)
		}
		if r.Name != "" {
			b.WriteString(` "` + r.Name + `"`)
		}
		if r.Namespace != "" {
			b.WriteString(` in namespace "` + r.Namespace + `"`)
		} else {
			b.WriteString(" (cluster-wide)")
		}
	}
	b.WriteString(` by user "` + r.User + `"`)
	if len(r.Groups) > 0 {
		b.WriteString(` in group "` + strings.Join(r.Groups, `", "`) + `"`)
	}
	return b.String()
}
