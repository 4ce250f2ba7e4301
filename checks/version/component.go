package version

import (
	"fmt"
	"strings"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/components"
	"github.com/kubeharden/kubeharden/kinds"
	"github.com/kubeharden/kubeharden/vulndb"
)

// componentKinds are the objects whose containers may run a recognised
// component: every pod-bearing kind.
var componentKinds = kinds.Pods

// hit is one vulnerability of a component version, whichever database
// it came from: the Kubernetes CVE database for core components (a
// kube-proxy DaemonSet, a kube-apiserver static pod), the component
// database for the rest (see components.Assess).
type hit struct {
	ID, Severity string
	FixedIn      []string
}

// componentHits returns the vulnerabilities of a found component, most
// severe first, and the lowest version that fixes all of them ("" when
// no single release does). The judgement is package components', which
// the inventory command shares.
func componentHits(db *vulndb.DB, f *components.Found) (hits []hit, upgrade string) {
	a := components.Assess(db, f)
	for _, c := range a.CVEs {
		hits = append(hits, hit{c.ID, c.Severity, c.FixedIn})
	}
	return hits, a.UpgradeTo
}

// hitDetails is the structured form of a component version finding.
func hitDetails(f *components.Found, hits []hit, upgrade string) *check.Details {
	d := &check.Details{Component: &check.ComponentRef{Name: f.Name, Version: f.Version, UpgradeTo: upgrade}}
	for _, h := range hits {
		d.CVEs = append(d.CVEs, check.CVERef{ID: h.ID, Severity: h.Severity, FixedIn: h.FixedIn})
	}
	return d
}

// listHits names up to maxListed CVEs with their severity and fixed
// releases: "CVE-2025-1974 (critical, fixed in 1.11.5, 1.12.1)".
func listHits(hits []hit) string {
	var parts []string
	for i, h := range hits {
		if i == maxListed {
			break
		}
		p := h.ID + " (" + h.Severity
		if len(h.FixedIn) > 0 {
			p += ", fixed in " + strings.Join(h.FixedIn, ", ")
		} else {
			p += ", no fixed release"
		}
		parts = append(parts, p+")")
	}
	s := strings.Join(parts, "; ")
	if n := len(hits) - maxListed; n > 0 {
		s += fmt.Sprintf(" and %d more", n)
	}
	return s
}

// upgradeSentence says how to get out of every listed CVE at once.
func upgradeSentence(f *components.Found, upgrade string) string {
	if upgrade == "" {
		return fmt.Sprintf(" No single %s release fixes all of them: upgrade to a supported release line and check each CVE's fixed releases.", f.Title)
	}
	v, _ := f.Parsed()
	u, err := vulndb.ParseComponentVersion(upgrade)
	if err == nil && u.SameMinor(v) {
		return fmt.Sprintf(" Upgrade to %s %s or later, the lowest release that fixes all of them.", f.Title, upgrade)
	}
	return fmt.Sprintf(" Upgrade to %s %s or later, the lowest release that fixes all of them (no %s release does: the upgrade path leaves the %s line).", f.Title, upgrade, v.MinorString(), v.MinorString())
}

// versionNoun says what a found component is and where its version was
// read: `ingress-nginx controller 1.11.3 (image tag "v1.11.3")`.
func versionNoun(f *components.Found) string {
	return fmt.Sprintf("%s %s (%s %q)", f.Title, f.Version, f.VersionFrom, f.Raw)
}

// where names what runs a found component in a message.
func where(f *components.Found) string {
	if f.Container != "" {
		return fmt.Sprintf("container %q runs ", f.Container)
	}
	return "the node runs "
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
