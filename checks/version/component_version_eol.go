package version

import (
	"fmt"
	"strings"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/components"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
	"github.com/kubeharden/kubeharden/vulndb"
)

// ComponentVersionEOL is check component-version-eol. A workload or node
// must not run a component whose release line, or whole project, is past
// its published end of life: the ingress-nginx controller after the
// project's retirement, containerd 1.6 after its LTS ended, a core image
// of an end-of-life Kubernetes minor. Judged as of the vulnerability
// database's date, never the wall clock.
var ComponentVersionEOL = registry.Add(&check.Check{
	ID:       "component-version-eol",
	Title:    "Component release is past end of life",
	Severity: check.Medium,
	Refs: []check.Ref{
		{Framework: check.NSA, ID: "Upgrading and application security practices", Title: "Upgrading and application security practices"},
	},
	Description: "Components are recognised as for component-version-vulnerable (container images of every pod-bearing kind) and " +
		"container-runtime-vulnerable (status.nodeInfo.containerRuntimeVersion of each node), and their release line is looked " +
		"up in the lifecycle data of kubeharden's component database (containerd's RELEASES.md, the ingress-nginx retirement " +
		"announcement...) or, for core Kubernetes images, the Kubernetes release calendar. A release line past its end of life " +
		"receives no security fix: every CVE published after it stays open, and the database cannot even list them. End of life " +
		"is judged as of the date of the vulnerability database in use, not the day the scan runs; dates a project marks as " +
		"tentative are never reported.",
	Remediation: "Upgrade to a supported release line of the component (the finding lists them), or, for a retired project, " +
		"migrate to a maintained replacement (for ingress-nginx: a Gateway API implementation or another maintained ingress " +
		"controller).",
	Kinds: kinds.Join(componentKinds, kinds.List(kinds.Node)),
	Object: func(env *check.Env, o *inventory.Object) []check.Result {
		db := env.DB()
		var out []check.Result
		for _, f := range components.InObject(o) {
			if f.Kind == components.KindNode && f.Container == "" {
				continue // a node's kubelet and kube-proxy: kubernetes-version-eol
			}
			if msg, date := eolMessage(db, &f); msg != "" {
				out = append(out, check.Result{Path: f.Path, Message: msg, Details: &check.Details{
					Component: &check.ComponentRef{Name: f.Name, Version: f.Version},
					EndOfLife: date,
				}})
			}
		}
		return out
	},
})

// eolMessage describes an end-of-life component, or returns "".
func eolMessage(db *vulndb.DB, f *components.Found) (msg, date string) {
	v, ok := f.Parsed()
	if !ok {
		return "", ""
	}
	if f.Core {
		eol, d, known := db.EOL(v)
		if !known || !eol {
			return "", ""
		}
		date = d.Format("2006-01-02")
		msg = fmt.Sprintf("%s%s; Kubernetes %s reached end of life on %s and receives no security fixes", where(f), versionNoun(f), v.MinorString(), date)
		if s := db.Supported(); len(s) > 0 {
			msg += "; supported minors: " + strings.Join(s, ", ")
		}
		return msg + fmt.Sprintf(". (as of the CVE database of %s)", db.DateString()), date
	}
	c := db.Components().Component(f.Name)
	if c == nil {
		return "", ""
	}
	eol, d, retired, known := c.EOLAt(v, db.Date())
	if !known || !eol {
		return "", ""
	}
	date = d.Format("2006-01-02")
	who := where(f)
	if f.Container == "" {
		who = "the node's container runtime is "
	}
	if retired {
		msg = fmt.Sprintf("%s%s; the %s project was retired on %s: no release, bug fix or security fix follows", who, versionNoun(f), f.Title, date)
	} else {
		msg = fmt.Sprintf("%s%s; the %s %s release line reached end of life on %s and receives no security fixes", who, versionNoun(f), f.Title, v.MinorString(), date)
		if s := c.SupportedLines(db.Date()); len(s) > 0 {
			msg += "; supported lines: " + strings.Join(s, ", ")
		}
	}
	if c.Lifecycle != nil {
		msg += " (source: " + c.Lifecycle.Source + ")"
	}
	return msg + fmt.Sprintf(". (as of the CVE database of %s)", db.DateString()), date
}
