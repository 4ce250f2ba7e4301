// Package audit holds the audit-policy checks: lints of the kube-apiserver's
// audit policy (audit.k8s.io/v1 Policy, the file --audit-policy-file names)
// computed with the API server's first-match semantics (package
// auditpolicy), never guessed from the order of rules. One file per check;
// fixtures in testdata/<check-id>/{pass,fail}.
//
// Findings point at the rule that decides the requests in question, or at
// the policy's rules list when no rule matches them.
package audit

import (
	"fmt"
	"sort"
	"strings"

	"github.com/kubeharden/kubeharden/auditpolicy"
	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
)

var registry check.Registry

// Checks returns the domain's checks sorted by ID.
func Checks() []*check.Check { return registry.Checks() }

var policyKinds = kinds.List(kinds.AuditPolicy)

var (
	cisMinimal  = check.Ref{Framework: check.CIS, ID: "3.2.1", Title: "Ensure that a minimal audit policy is created"}
	cisCovers   = check.Ref{Framework: check.CIS, ID: "3.2.2", Title: "Ensure that the audit policy covers key security concerns"}
	nsaLogging  = check.Ref{Framework: check.NSA, ID: "Audit logging and threat detection", Title: "Logging"}
	nsaDetect   = check.Ref{Framework: check.NSA, ID: "Audit logging and threat detection", Title: "Threat detection"}
	nsaSecrets  = check.Ref{Framework: check.NSA, ID: "Network separation and hardening", Title: "Secrets"}
	writeVerbs  = []string{"create", "update", "patch"}
	changeVerbs = []string{"create", "update", "patch", "delete", "deletecollection"}
)

// policyOf returns the policy of an object, or nil.
func policyOf(o *inventory.Object) *auditpolicy.Policy {
	p, _ := o.Typed.(*auditpolicy.Policy)
	return p
}

// policyStages stands for the policy's own omitStages where a rule
// index is expected.
const policyStages = -2

// rulePath is the field path of rule i, of the rules list for i = -1 (the
// requests no rule matches), or of the policy's omitStages for
// policyStages.
func rulePath(i int) string {
	switch {
	case i == policyStages:
		return "omitStages"
	case i < 0:
		return "rules"
	}
	return fmt.Sprintf("rules[%d]", i)
}

// ruleName names rule i for people: "rule 3 (level None)", counting from 1.
func ruleName(p *auditpolicy.Policy, i int) string {
	return fmt.Sprintf("rule %d (level %s)", i+1, p.Rules[i].Level)
}

// ruleList names rules by their 1-based numbers: "rules 1 and 3".
func ruleList(rules []int) string {
	sort.Ints(rules)
	names := make([]string, len(rules))
	for i, r := range rules {
		names[i] = fmt.Sprint(r + 1)
	}
	if len(names) == 1 {
		return "rule " + names[0]
	}
	return "rules " + strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// joinAnd joins phrases with commas and a final "and".
func joinAnd(xs []string) string {
	switch len(xs) {
	case 0:
		return ""
	case 1:
		return xs[0]
	}
	return strings.Join(xs[:len(xs)-1], ", ") + " and " + xs[len(xs)-1]
}

// byRule groups phrases by the rule they are about (-1: no rule), keeping
// the order in which rules first appear, and returns one result per rule.
type byRule struct {
	order   []int
	phrase  map[int][]string
	example map[int]string
}

// add records a phrase about a rule, and an example request of the first
// phrase added for it.
func (b *byRule) add(rule int, phrase string, example fmt.Stringer) {
	if b.phrase == nil {
		b.phrase, b.example = map[int][]string{}, map[int]string{}
	}
	if _, ok := b.phrase[rule]; !ok {
		b.order = append(b.order, rule)
		b.example[rule] = example.String()
	}
	for _, p := range b.phrase[rule] {
		if p == phrase {
			return
		}
	}
	b.phrase[rule] = append(b.phrase[rule], phrase)
}

func (b *byRule) results(msg func(rule int, phrases []string, example string) string) []check.Result {
	sort.SliceStable(b.order, func(i, j int) bool {
		x, y := b.order[i], b.order[j]
		if (x < 0) != (y < 0) {
			return y < 0
		}
		return x < y
	})
	var out []check.Result
	for _, r := range b.order {
		out = append(out, check.Result{Path: rulePath(r), Message: msg(r, b.phrase[r], b.example[r])})
	}
	return out
}
