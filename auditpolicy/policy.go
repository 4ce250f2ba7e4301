// Package auditpolicy is kubeharden's model of the kube-apiserver's audit
// policy (audit.k8s.io/v1 Policy, the file --audit-policy-file names): its
// typed form, its validation, the API server's first-match evaluation of
// one request, and the symbolic evaluation of whole sets of requests that
// the audit-policy checks need (which level every Secret read can get,
// which rules no request reaches).
//
// It also holds the table of kubeharden's audit detections (Detections):
// what each needs from the policy (which requests, at which level, with
// which stages), shared by the policy lint and the events engine.
//
// The package is pure: no I/O, no cluster client. The matching rules are
// those of k8s.io/apiserver/pkg/audit/policy (checker.go), restated here so
// that kubeharden does not link the API server.
package auditpolicy

import (
	"fmt"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Group, Version and Kind of the audit policy.
const (
	Group   = "audit.k8s.io"
	Version = "v1"
	Kind    = "Policy"
)

// Level is how much of a request an audit event records.
type Level string

// The audit levels, from nothing to everything.
const (
	// LevelNone records no event.
	LevelNone Level = "None"
	// LevelMetadata records who did what to which object, and the answer,
	// without request or response bodies.
	LevelMetadata Level = "Metadata"
	// LevelRequest adds the request body (the object written).
	LevelRequest Level = "Request"
	// LevelRequestResponse adds the response body (the object read).
	LevelRequestResponse Level = "RequestResponse"
)

// Rank orders levels: None 0, Metadata 1, Request 2, RequestResponse 3;
// -1 for an unknown level.
func (l Level) Rank() int {
	switch l {
	case LevelNone:
		return 0
	case LevelMetadata:
		return 1
	case LevelRequest:
		return 2
	case LevelRequestResponse:
		return 3
	}
	return -1
}

// AtLeast reports whether l records at least as much as m.
func (l Level) AtLeast(m Level) bool { return l.Rank() >= m.Rank() && l.Rank() >= 0 }

// Stage is a stage of a request's handling at which an event is emitted.
type Stage string

// The audit stages.
const (
	// StageRequestReceived is emitted as soon as the request is received,
	// before it is handled: a second event for every request.
	StageRequestReceived Stage = "RequestReceived"
	// StageResponseStarted is emitted for long-running requests (watch,
	// exec, attach, port-forward) once the response headers are sent.
	StageResponseStarted Stage = "ResponseStarted"
	// StageResponseComplete is emitted when the response is complete.
	StageResponseComplete Stage = "ResponseComplete"
	// StagePanic is emitted when the handler panicked.
	StagePanic Stage = "Panic"
)

// Stages are the valid stages, in request order.
var Stages = []Stage{StageRequestReceived, StageResponseStarted, StageResponseComplete, StagePanic}

// Policy is an audit.k8s.io/v1 Policy.
type Policy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	// Rules are tried in order; the first that matches a request decides
	// its level. A request no rule matches is not audited.
	Rules []Rule `json:"rules"`
	// OmitStages are omitted for every request, in addition to each rule's.
	OmitStages []Stage `json:"omitStages,omitempty"`
	// OmitManagedFields drops managedFields from logged bodies unless a
	// rule says otherwise.
	OmitManagedFields bool `json:"omitManagedFields,omitempty"`
}

// Rule is one rule of a policy: a request matches when every field that
// is set matches.
type Rule struct {
	Level Level `json:"level"`
	// Users are user names (exact); empty matches every user.
	Users []string `json:"users,omitempty"`
	// UserGroups match a request whose user is in any of them.
	UserGroups []string `json:"userGroups,omitempty"`
	// Verbs are request verbs (exact: "*" is not a wildcard).
	Verbs []string `json:"verbs,omitempty"`
	// Resources match resource requests; empty matches every resource.
	Resources []GroupResources `json:"resources,omitempty"`
	// Namespaces match resource requests; "" is a cluster-scoped request
	// (or a list across namespaces). Empty matches every namespace.
	Namespaces []string `json:"namespaces,omitempty"`
	// NonResourceURLs match non-resource requests: exact paths, "*", or
	// a prefix ending in "*".
	NonResourceURLs []string `json:"nonResourceURLs,omitempty"`
	// OmitStages are added to the policy's.
	OmitStages []Stage `json:"omitStages,omitempty"`
	// OmitManagedFields overrides the policy's when set.
	OmitManagedFields *bool `json:"omitManagedFields,omitempty"`
}

// GroupResources selects resources of an API group.
type GroupResources struct {
	// Group is the API group: "" is the core group, "*" every group.
	Group string `json:"group,omitempty"`
	// Resources are resource patterns: "pods" (not its subresources),
	// "pods/log", "pods/*" (pods and every subresource of it), "*/status"
	// (that subresource of every resource), "*" (everything). Empty
	// matches every resource of the group.
	Resources []string `json:"resources,omitempty"`
	// ResourceNames restrict the resources to these object names.
	ResourceNames []string `json:"resourceNames,omitempty"`
}

// FieldError is a problem with a field of a policy, by field path
// (rules[2].level).
type FieldError struct {
	Path, Message string
}

func (e FieldError) Error() string { return e.Path + ": " + e.Message }

// Validate returns what the API server's validation refuses in the policy
// (the server does not start with such a policy), and rule-level problems
// it accepts but which never do what was meant.
func (p *Policy) Validate() []FieldError {
	var errs []FieldError
	bad := func(path, format string, args ...any) {
		errs = append(errs, FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	if len(p.Rules) == 0 {
		bad("rules", "the policy has no rules: the API server refuses to load it")
	}
	validStages := func(path string, stages []Stage) {
		for i, s := range stages {
			if !slices.Contains(Stages, s) {
				bad(fmt.Sprintf("%s[%d]", path, i), "unknown stage %q (allowed: RequestReceived, ResponseStarted, ResponseComplete, Panic)", s)
			}
		}
	}
	validStages("omitStages", p.OmitStages)
	for i, r := range p.Rules {
		at := fmt.Sprintf("rules[%d]", i)
		switch {
		case r.Level == "":
			bad(at, "rule has no level")
		case r.Level.Rank() < 0:
			bad(at+".level", "unknown level %q (allowed: None, Metadata, Request, RequestResponse)", r.Level)
		}
		validStages(at+".omitStages", r.OmitStages)
		if len(r.NonResourceURLs) > 0 && (len(r.Resources) > 0 || len(r.Namespaces) > 0) {
			bad(at+".nonResourceURLs", "a rule cannot apply to both resources (resources, namespaces) and non-resource URLs")
		}
		for j, u := range r.NonResourceURLs {
			if u == "*" {
				continue
			}
			if !strings.HasPrefix(u, "/") {
				bad(fmt.Sprintf("%s.nonResourceURLs[%d]", at, j), "non-resource URL %q must begin with '/'", u)
			}
			if u != "" && strings.ContainsRune(u[:len(u)-1], '*') {
				bad(fmt.Sprintf("%s.nonResourceURLs[%d]", at, j), "non-resource URL %q: a '*' wildcard must be the last character", u)
			}
		}
		for j, gr := range r.Resources {
			gat := fmt.Sprintf("%s.resources[%d]", at, j)
			if gr.Group != "" && gr.Group != "*" && !validGroup(gr.Group) {
				bad(gat+".group", "%q is not an API group name (a lower-case DNS subdomain, without a version)", gr.Group)
			}
			if len(gr.ResourceNames) > 0 && len(gr.Resources) == 0 {
				bad(gat+".resourceNames", "resourceNames need at least one resource")
			}
		}
	}
	return errs
}

// validGroup reports whether g is a DNS subdomain (RFC 1123), as API
// group names are.
func validGroup(g string) bool {
	if len(g) > 253 {
		return false
	}
	for _, label := range strings.Split(g, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
			if !alnum && (c != '-' || i == 0 || i == len(label)-1) {
				return false
			}
		}
	}
	return true
}

// EffectiveOmitStages returns the stages omitted for requests that rule i
// decides (the policy's and the rule's), or the policy's for i < 0.
func (p *Policy) EffectiveOmitStages(i int) []Stage {
	out := slices.Clone(p.OmitStages)
	if i >= 0 && i < len(p.Rules) {
		for _, s := range p.Rules[i].OmitStages {
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return out
}

// Omits reports whether requests decided by rule i (or by no rule, i < 0)
// omit stage s.
func (p *Policy) Omits(i int, s Stage) bool {
	return slices.Contains(p.OmitStages, s) || (i >= 0 && i < len(p.Rules) && slices.Contains(p.Rules[i].OmitStages, s))
}
