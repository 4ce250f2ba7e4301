package auditpolicy

import (
	"slices"
	"strings"
)

// Request is what the policy sees of an API request: the attributes the
// API server's authorizer computed for it.
type Request struct {
	User   string
	Groups []string
	Verb   string
	// ResourceRequest is set for requests on resources (/api, /apis
	// paths with a resource); the other requests are non-resource
	// requests on Path (/healthz, /metrics, /version, discovery).
	ResourceRequest bool
	APIGroup        string
	Resource        string
	Subresource     string
	// Namespace is "" for cluster-scoped objects and for lists and
	// watches across all namespaces.
	Namespace string
	// Name is "" for lists, watches of a collection and creates that do
	// not name the object in the URL.
	Name string
	Path string
}

// Decision is the policy's answer for one request.
type Decision struct {
	// Rule is the index of the rule that matched, or -1 when none did.
	Rule       int
	Level      Level
	OmitStages []Stage
	// OmitManagedFields is set when managedFields are dropped from bodies.
	OmitManagedFields bool
}

// Evaluate returns the decision for r: the first rule that matches it, as
// the API server's policy rule evaluator decides. A request no rule
// matches gets level None.
func (p *Policy) Evaluate(r Request) Decision {
	for i := range p.Rules {
		rule := &p.Rules[i]
		if rule.Matches(r) {
			omf := p.OmitManagedFields
			if rule.OmitManagedFields != nil {
				omf = *rule.OmitManagedFields
			}
			return Decision{Rule: i, Level: rule.Level, OmitStages: p.EffectiveOmitStages(i), OmitManagedFields: omf}
		}
	}
	return Decision{Rule: -1, Level: LevelNone, OmitStages: p.EffectiveOmitStages(-1), OmitManagedFields: p.OmitManagedFields}
}

// Matches reports whether the rule matches r. Users, groups and verbs are
// compared exactly. A rule that names resources or namespaces matches only
// resource requests; one that names non-resource URLs only non-resource
// requests; one that names neither, every request.
func (rule *Rule) Matches(r Request) bool {
	if len(rule.Users) > 0 && !slices.Contains(rule.Users, r.User) {
		return false
	}
	if len(rule.UserGroups) > 0 && !slices.ContainsFunc(r.Groups, func(g string) bool { return slices.Contains(rule.UserGroups, g) }) {
		return false
	}
	if len(rule.Verbs) > 0 && !slices.Contains(rule.Verbs, r.Verb) {
		return false
	}
	if len(rule.Namespaces) > 0 || len(rule.Resources) > 0 {
		return rule.matchesResource(r)
	}
	if len(rule.NonResourceURLs) > 0 {
		if r.ResourceRequest {
			return false
		}
		for _, spec := range rule.NonResourceURLs {
			if PathMatches(r.Path, spec) {
				return true
			}
		}
		return false
	}
	return true
}

// PathMatches reports whether a non-resource URL spec matches path: "*"
// matches every path, "/x*" every path starting with "/x", anything else
// only itself.
func PathMatches(path, spec string) bool {
	if spec == "*" || spec == path {
		return true
	}
	return strings.HasSuffix(spec, "*") && strings.HasPrefix(path, strings.TrimRight(spec, "*"))
}

func (rule *Rule) matchesResource(r Request) bool {
	if !r.ResourceRequest {
		return false
	}
	if len(rule.Namespaces) > 0 && !slices.Contains(rule.Namespaces, r.Namespace) {
		return false
	}
	if len(rule.Resources) == 0 {
		return true
	}
	for _, gr := range rule.Resources {
		if gr.Group != r.APIGroup && gr.Group != "*" {
			continue
		}
		if len(gr.Resources) == 0 {
			return true
		}
		if len(gr.ResourceNames) > 0 && !slices.Contains(gr.ResourceNames, r.Name) {
			continue
		}
		for _, pattern := range gr.Resources {
			if ResourceMatches(pattern, r.Resource, r.Subresource) {
				return true
			}
		}
	}
	return false
}

// ResourceMatches reports whether a resource pattern of a policy rule
// matches a resource and subresource: "*" everything; "pods" the pods
// resource but none of its subresources; "pods/exec" that subresource;
// "*/status" that subresource of every resource; "pods/*" pods and every
// subresource of it.
func ResourceMatches(pattern, resource, subresource string) bool {
	combined := resource
	if subresource != "" {
		combined = resource + "/" + subresource
	}
	if pattern == "*" || pattern == combined {
		return true
	}
	if subresource != "" && strings.HasPrefix(pattern, "*/") && subresource == strings.TrimPrefix(pattern, "*/") {
		return true
	}
	return strings.HasSuffix(pattern, "/*") && resource == strings.TrimSuffix(pattern, "/*")
}
