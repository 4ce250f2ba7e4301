package version

import (
	"fmt"
	"strings"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/vulndb"
)

// KubernetesVersionEOL is check kubernetes-version-eol. The API server and every kubelet must run a minor release that still
// receives patches. End of life is judged as of the vulnerability
// database's date, never the wall clock, so a scan is reproducible.
var KubernetesVersionEOL = registry.Add(&check.Check{
	ID:       "kubernetes-version-eol",
	Title:    "Kubernetes minor release is past end of life",
	Severity: check.Medium,
	Refs: []check.Ref{
		{Framework: check.NSA, ID: "Upgrading and application security practices", Title: "Upgrading and application security practices"},
	},
	Description: "The minor release of the API server's /version (kubeharden's APIServer object) and of each node's " +
		"status.nodeInfo.kubeletVersion is looked up in kubeharden's release lifecycle data. Upstream Kubernetes patches " +
		"each minor release for about fourteen months; after its end-of-life date no security fix is published for it, so " +
		"every later CVE stays open. End of life is judged as of the date of the vulnerability database in use (the embedded " +
		"one, or a newer one fetched with `kubeharden db update`), not the day the scan runs: results are reproducible, and " +
		"refreshing the database moves the date forward. Managed and vendor distributions (EKS, GKE, AKS, k3s, RKE2) may " +
		"support a minor for longer under their own policy, which the finding points out.",
	Remediation: "Plan an upgrade to a supported minor release, one minor at a time (the control plane first, then the nodes, " +
		"keeping within the version skew policy), and keep it on the latest patch. On a managed or vendor distribution, check " +
		"the vendor's support calendar: extended support, where offered, is the vendor's, not upstream's.",
	Kinds: versionKinds,
	Object: func(env *check.Env, o *inventory.Object) []check.Result {
		t := targetOf(o)
		if t == nil {
			return nil
		}
		db := env.DB()
		eol, date, known := db.EOL(t.Version)
		if !known || !eol {
			return nil
		}
		m, _ := db.Minor(t.Version)
		var b strings.Builder
		fmt.Fprintf(&b, "Kubernetes %s (%s %s) reached end of life on %s", m.Minor, t.Noun, t.Version.Raw, date.Format("2006-01-02"))
		if m.FinalPatch != "" {
			fmt.Fprintf(&b, " (final patch %s)", m.FinalPatch)
		}
		b.WriteString(" and receives no security fixes")
		if s := db.Supported(); len(s) > 0 {
			fmt.Fprintf(&b, "; supported minors: %s", strings.Join(s, ", "))
		}
		b.WriteString(".")
		if t.Version.Distribution != "" {
			fmt.Fprintf(&b, " %s may support it longer under its own policy: check its support calendar.", vulndb.DistributionName(t.Version.Distribution))
		}
		fmt.Fprintf(&b, " (as of the CVE database of %s)", db.DateString())
		return []check.Result{{Path: t.Path, Message: b.String(), Details: &check.Details{
			Component: &check.ComponentRef{Name: t.Components[0], Version: t.Version.String()},
			EndOfLife: date.Format("2006-01-02"),
		}}}
	},
})
