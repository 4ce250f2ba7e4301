package version

import (
	"fmt"
	"strings"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/vulndb"
)

// maxListed caps the CVE IDs named in one finding.
const maxListed = 6

// KubernetesVersionVulnerable is check kubernetes-version-vulnerable. The API server's version (and with it the control plane's) and every
// kubelet's version must not be affected by a known, fixed Kubernetes
// CVE according to the active vulnerability database.
var KubernetesVersionVulnerable = registry.Add(&check.Check{
	ID:       "kubernetes-version-vulnerable",
	Title:    "Kubernetes version has known vulnerabilities",
	Severity: check.High,
	Refs: []check.Ref{
		{Framework: check.NSA, ID: "Upgrading and application security practices", Title: "Upgrading and application security practices"},
	},
	Description: "The API server's /version (kubeharden's APIServer object) and each node's status.nodeInfo.kubeletVersion are " +
		"compared with kubeharden's offline database of Kubernetes CVEs, which records for every advisory the affected and first " +
		"fixed patch of each minor release. A control plane or kubelet behind on patches is exposed to published, often " +
		"well-understood attacks: request smuggling through the API server, privilege escalation from a pod to its node, denial " +
		"of service. The API server's version also stands for kube-controller-manager, which is upgraded with it. Vendor builds " +
		"(EKS, GKE, AKS, k3s, RKE2) are compared by the upstream version they are based on; vendors sometimes backport fixes " +
		"without changing it, which the finding says so the vendor's bulletins can be checked. The database is embedded in " +
		"kubeharden; `kubeharden db update` refreshes it from the official Kubernetes CVE feed, and every finding names the " +
		"date of the database it was judged against.",
	Remediation: "Upgrade the control plane, then the nodes, to at least the fixed patch the finding names for the minor release " +
		"in use (the latest patch of the minor is best). When a CVE has no fix on that minor, upgrade to a supported minor " +
		"release, one minor at a time. On a managed or vendor distribution, use the vendor's upgrade path and check its " +
		"security bulletins for backported fixes.",
	Kinds: versionKinds,
	Object: func(env *check.Env, o *inventory.Object) []check.Result {
		t := targetOf(o)
		if t == nil {
			return nil
		}
		db := env.DB()
		cves := vulnerable(db, t)
		if len(cves) == 0 {
			return nil
		}
		return []check.Result{{Path: t.Path, Message: vulnerableMessage(db, t, cves), Details: coreDetails(t, cves)}}
	},
})

// vulnerable returns the CVEs affecting any of the target's components,
// most severe first, without duplicates.
func vulnerable(db *vulndb.DB, t *target) []vulndb.CVE {
	var out []vulndb.CVE
	seen := map[string]bool{}
	for _, comp := range t.Components {
		for _, c := range db.Vulnerable(comp, t.Version) {
			if !seen[c.ID] {
				seen[c.ID] = true
				out = append(out, c)
			}
		}
	}
	vulndb.SortBySeverity(out)
	return out
}

func vulnerableMessage(db *vulndb.DB, t *target, cves []vulndb.CVE) string {
	var b strings.Builder
	noun := "CVEs"
	if len(cves) == 1 {
		noun = "CVE"
	}
	fmt.Fprintf(&b, "%s %s is affected by %d known Kubernetes %s: ", t.Noun, t.Version.Raw, len(cves), noun)
	var listed []string
	for i, c := range cves {
		if i == maxListed {
			break
		}
		listed = append(listed, fmt.Sprintf("%s (%s)", c.ID, c.Severity))
	}
	b.WriteString(strings.Join(listed, ", "))
	if n := len(cves) - maxListed; n > 0 {
		fmt.Fprintf(&b, " and %d more", n)
	}
	b.WriteString(".")

	// The lowest patch of this minor that fixes everything fixable on it,
	// and the CVEs no release of this minor fixes.
	var target *vulndb.Version
	var noFix []string
	for i := range cves {
		fix, same, ok := cves[i].Fix(t.Version)
		if !ok || !same {
			noFix = append(noFix, cves[i].ID)
			continue
		}
		if target == nil || fix.Compare(*target) > 0 {
			f := fix
			target = &f
		}
	}
	minor := t.Version.MinorString()
	switch {
	case len(noFix) == 0:
		fmt.Fprintf(&b, " Upgrade to %s or later (the fix on %s).", target, minor)
	default:
		var what string
		switch {
		case len(noFix) == len(cves) && len(cves) == 1:
			what = "it"
		case len(noFix) == len(cves):
			what = "them"
		case len(noFix) > maxListed:
			what = strings.Join(noFix[:maxListed], ", ") + fmt.Sprintf(" and %d more", len(noFix)-maxListed)
		default:
			what = strings.Join(noFix, ", ")
		}
		fmt.Fprintf(&b, " No %s release fixes %s: upgrade to a supported minor release.", minor, what)
		if target != nil {
			fmt.Fprintf(&b, " Within %s, %s fixes the rest.", minor, target)
		}
	}
	b.WriteString(backportNote(t.Version))
	fmt.Fprintf(&b, " (CVE database of %s)", db.DateString())
	return b.String()
}

// coreDetails lists every CVE of a Kubernetes version finding, with the
// fixed patch of each minor its advisory names, and the lowest patch of
// the version's own minor that fixes all of those it can.
func coreDetails(t *target, cves []vulndb.CVE) *check.Details {
	d := &check.Details{Component: &check.ComponentRef{Name: t.Components[0], Version: t.Version.String()}}
	var upgrade *vulndb.Version
	all := true
	for i := range cves {
		c := &cves[i]
		fixed := []string{}
		for _, r := range c.Affected {
			if r.Fixed != "" {
				fixed = append(fixed, r.Fixed)
			}
		}
		d.CVEs = append(d.CVEs, check.CVERef{ID: c.ID, Severity: c.Severity, FixedIn: fixed})
		fix, same, ok := c.Fix(t.Version)
		if !ok || !same {
			all = false
			continue
		}
		if upgrade == nil || fix.Compare(*upgrade) > 0 {
			f := fix
			upgrade = &f
		}
	}
	if all && upgrade != nil {
		d.Component.UpgradeTo = upgrade.String()
	}
	return d
}
