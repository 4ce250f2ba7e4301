// Package version holds the Kubernetes version checks: the API server's
// /version and every node's kubelet version against kubeharden's offline
// database of Kubernetes CVEs and release lifecycles (package vulndb).
// One file per check; fixtures in testdata/<check-id>/{pass,fail}.
//
// The checks read the database the run hands them (check.Env.VulnDB): the
// embedded one, or a newer one the caller loaded. They never read the
// clock: end of life is judged as of the database's date.
package version

import "github.com/kubeharden/kubeharden/check"

var registry check.Registry

// Checks returns the domain's checks sorted by ID.
func Checks() []*check.Check { return registry.Checks() }
