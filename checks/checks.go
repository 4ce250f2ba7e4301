// Package checks is kubeharden's catalogue: every built-in check, by domain.
package checks

import (
	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/checks/audit"
	"github.com/kubeharden/kubeharden/checks/identity"
	"github.com/kubeharden/kubeharden/checks/namespace"
	"github.com/kubeharden/kubeharden/checks/network"
	"github.com/kubeharden/kubeharden/checks/node"
	"github.com/kubeharden/kubeharden/checks/pod"
	"github.com/kubeharden/kubeharden/checks/rbac"
	"github.com/kubeharden/kubeharden/checks/version"
	"github.com/kubeharden/kubeharden/checks/workload"
)

// Domain is a group of checks living in one package under checks/.
type Domain struct {
	// Name is the package directory under checks/.
	Name   string
	Checks []*check.Check
}

// Domains returns the catalogue grouped by domain, in display order.
func Domains() []Domain {
	return []Domain{
		{Name: "pod", Checks: pod.Checks()},
		{Name: "workload", Checks: workload.Checks()},
		{Name: "identity", Checks: identity.Checks()},
		{Name: "rbac", Checks: rbac.Checks()},
		{Name: "network", Checks: network.Checks()},
		{Name: "namespace", Checks: namespace.Checks()},
		{Name: "version", Checks: version.Checks()},
		{Name: "node", Checks: node.Checks()},
		{Name: "audit", Checks: audit.Checks()},
	}
}

// All returns every check in catalogue order.
func All() []*check.Check {
	var out []*check.Check
	for _, d := range Domains() {
		out = append(out, d.Checks...)
	}
	return out
}

// ByID returns the check with the given ID, or nil.
func ByID(id string) *check.Check {
	for _, c := range All() {
		if c.ID == id {
			return c
		}
	}
	return nil
}
