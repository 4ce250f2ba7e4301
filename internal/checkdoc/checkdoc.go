// Package checkdoc generates the check reference in docs/checks from the
// checks' own metadata, so the documentation cannot drift from the code.
package checkdoc

import (
	"fmt"
	"sort"
	"strings"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/checks"
)

const header = "<!-- Generated from the check metadata by `make docs`; do not edit. -->\n\n"

// Generate returns the documentation files, by file name relative to docs/checks.
func Generate(domains []checks.Domain) map[string][]byte {
	files := map[string][]byte{}
	var idx strings.Builder
	idx.WriteString(header)
	idx.WriteString("# Check catalogue\n\n")
	n := 0
	for _, d := range domains {
		n += len(d.Checks)
	}
	fmt.Fprintf(&idx, "kubeharden has %d checks. Each page says what the check looks for, why it matters, how to fix a finding and which framework controls it maps to.\n\n", n)
	idx.WriteString("Frameworks: **CIS** = CIS Kubernetes Benchmark; **NSA-CISA** = NSA/CISA Kubernetes Hardening Guide; **PSS** = Kubernetes Pod Security Standards (the ID is the pod-security-admission check, the title its level).\n")
	for _, d := range domains {
		fmt.Fprintf(&idx, "\n## %s\n\n| Check | Severity | Title | Frameworks |\n|---|---|---|---|\n", d.Name)
		for _, c := range d.Checks {
			fmt.Fprintf(&idx, "| [%s](%s.md) | %s | %s | %s |\n", c.ID, c.ID, c.Severity, c.Title, refsShort(c))
			files[c.ID+".md"] = page(d.Name, c)
		}
	}
	files["README.md"] = []byte(idx.String())
	return files
}

func refsShort(c *check.Check) string {
	var parts []string
	for _, r := range c.Refs {
		parts = append(parts, string(r.Framework)+" "+r.ID)
	}
	return strings.Join(parts, "; ")
}

func page(domain string, c *check.Check) []byte {
	kinds := c.KindNames()
	sort.Strings(kinds)
	var b strings.Builder
	b.WriteString(header)
	fmt.Fprintf(&b, "# %s\n\n**%s**\n\n", c.ID, c.Title)
	fmt.Fprintf(&b, "- Severity: %s\n- Domain: %s\n- Applies to: %s\n", c.Severity, domain, strings.Join(kinds, ", "))
	if c.Set != nil {
		b.WriteString("- Scope: evaluated across all scanned objects\n")
	}
	fmt.Fprintf(&b, "\n## What it checks\n\n%s\n\n## Remediation\n\n%s\n\n## References\n\n", c.Description, c.Remediation)
	for _, r := range c.Refs {
		fmt.Fprintf(&b, "- %s\n", r)
	}
	fmt.Fprintf(&b, "\n## Suppressing\n\nOn one object:\n\n```yaml\nmetadata:\n  annotations:\n    kubeharden.io/ignore: %s\n    kubeharden.io/ignore-reason: \"<why this is acceptable>\"\n```\n\n", c.ID)
	fmt.Fprintf(&b, "Or in `.kubeharden.yaml`:\n\n```yaml\nexceptions:\n- check: %s\n  kind: Deployment\n  namespace: legacy-*\n  name: \"*\"\n  reason: \"<why>\"\n  expires: 2027-06-30\n```\n\n", c.ID)
	fmt.Fprintf(&b, "## Examples\n\nFixtures that must fire: [`checks/%s/testdata/%s/fail`](../../checks/%s/testdata/%s/fail); that must not: [`checks/%s/testdata/%s/pass`](../../checks/%s/testdata/%s/pass).\n",
		domain, c.ID, domain, c.ID, domain, c.ID, domain, c.ID)
	return []byte(b.String())
}
