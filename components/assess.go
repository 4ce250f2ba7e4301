package components

import (
	"github.com/kubeharden/kubeharden/vulndb"
)

// CVE is one vulnerability of a found component version.
type CVE struct {
	ID       string   `json:"id"`
	Severity string   `json:"severity"`
	FixedIn  []string `json:"fixedIn"`
}

// Assessment is what the databases say about a found component version.
type Assessment struct {
	// CVEs affect the version, most severe first.
	CVEs []CVE `json:"cves,omitempty"`
	// UpgradeTo is the lowest release fixing every CVE, when one does.
	UpgradeTo string `json:"upgradeTo,omitempty"`
	// EndOfLife is the end-of-life date of the version's release line (or
	// of the whole project, Retired), when the database has one.
	EndOfLife string `json:"endOfLife,omitempty"`
	// EOL is set when that date has passed as of the database's date.
	EOL     bool `json:"eol,omitempty"`
	Retired bool `json:"retired,omitempty"`
	// Covered is false when the database holds nothing about the component
	// (an unknown runtime, the operating system).
	Covered bool `json:"covered"`
}

// Assess judges a found component against db: the Kubernetes CVE
// database for core components, the component database for the rest.
// A component whose version is unknown gets an empty assessment. A
// vendor build (Found.Vendor) is judged by the upstream version in its tag
// for CVEs, but not for end of life (see vendor.go).
func Assess(db *vulndb.DB, f *Found) Assessment {
	var a Assessment
	v, ok := f.Parsed()
	if f.Core {
		a.Covered = true
		if !ok {
			return a
		}
		cves := db.Vulnerable(f.Name, v)
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
			a.CVEs = append(a.CVEs, CVE{ID: c.ID, Severity: c.Severity, FixedIn: fixed})
			fix, same, ok := c.Fix(v)
			if !ok || !same {
				all = false
				continue
			}
			if upgrade == nil || fix.Compare(*upgrade) > 0 {
				fx := fix
				upgrade = &fx
			}
		}
		if all && upgrade != nil {
			a.UpgradeTo = upgrade.String()
		}
		if f.Vendor != "" {
			return a // a vendor build follows the vendor's calendar
		}
		if eol, date, known := db.EOL(v); known {
			a.EOL, a.EndOfLife = eol, date.Format("2006-01-02")
		}
		return a
	}
	c := db.Components().Component(f.Name)
	if c == nil {
		return a
	}
	a.Covered = true
	if !ok {
		return a
	}
	for _, adv := range c.Vulnerable(v) {
		a.CVEs = append(a.CVEs, CVE{ID: adv.ID, Severity: adv.Severity, FixedIn: adv.FixedIn()})
	}
	if len(a.CVEs) > 0 {
		if u, ok := c.UpgradeTarget(v); ok {
			a.UpgradeTo = u.String()
		}
	}
	// Upstream end-of-life dates are not applied to a vendor build: the
	// vendor supports it with its platform version (vendor.go).
	if f.Vendor != "" {
		return a
	}
	if eol, date, retired, known := c.EOLAt(v, db.Date()); known {
		a.EOL, a.Retired, a.EndOfLife = eol, retired, date.Format("2006-01-02")
	}
	return a
}
