package policy

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"

	"github.com/kubeharden/kubeharden/engine"
)

// exceptionConditions returns the matchConditions that keep the policy of
// check id away from the objects the exceptions cover (each condition is
// true when its exception does not cover the request), and the
// exceptions of the check left out because they expired at now. A policy
// cannot read the clock: an exception that expires later keeps applying
// until the policies are generated again.
func exceptionConditions(id string, xs []*engine.Exception, now time.Time) (conds []admissionv1.MatchCondition, expired []*engine.Exception) {
	for _, x := range xs {
		if !slices.Contains(x.Checks, id) && !slices.Contains(x.Checks, "*") {
			continue
		}
		if x.Expired(now) {
			expired = append(expired, x)
			continue
		}
		var parts []string
		for _, g := range []struct{ pattern, field string }{
			{x.Kind, "request.kind.kind"}, {x.Namespace, "request.namespace"}, {x.Name, "request.name"},
		} {
			if g.pattern == "" || g.pattern == "*" {
				continue
			}
			parts = append(parts, g.field+".matches("+celString(globRegexp(g.pattern))+")")
		}
		expr := "false" // the exception covers every object: the policy never applies
		if len(parts) > 0 {
			expr = "!(" + strings.Join(parts, " && ") + ")"
		}
		conds = append(conds, admissionv1.MatchCondition{Name: fmt.Sprintf("kubeharden-exception-%d", len(conds)+1), Expression: expr})
	}
	return conds, expired
}

// globRegexp translates a path.Match pattern (the globs of exceptions)
// into an anchored RE2 expression: * and ? match within a path element,
// classes keep their ranges and ^ negation, \ escapes. A malformed
// pattern, which config loading refuses and path.Match never matches,
// becomes an expression that matches nothing.
func globRegexp(pattern string) string {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(pattern); i++ {
		switch c := pattern[i]; c {
		case '*':
			b.WriteString("[^/]*")
		case '?':
			b.WriteString("[^/]")
		case '\\':
			if i+1 == len(pattern) {
				return "[^\\x00-\\x{10FFFF}]"
			}
			i++
			b.WriteString(regexp.QuoteMeta(pattern[i : i+1]))
		case '[':
			end := strings.IndexByte(pattern[i+1:], ']')
			if end <= 0 {
				return "[^\\x00-\\x{10FFFF}]"
			}
			class := pattern[i+1 : i+1+end]
			neg := strings.HasPrefix(class, "^")
			class = strings.TrimPrefix(class, "^")
			b.WriteString("[")
			if neg {
				b.WriteString("^")
			}
			for j := 0; j < len(class); j++ {
				switch class[j] {
				case '\\':
					if j+1 < len(class) {
						j++
					}
					b.WriteString(regexp.QuoteMeta(class[j : j+1]))
				case '-':
					b.WriteString("-")
				default:
					b.WriteString(regexp.QuoteMeta(class[j : j+1]))
				}
			}
			b.WriteString("]")
			i += end + 1
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return b.String()
}
